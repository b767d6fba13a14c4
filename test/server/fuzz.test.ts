// Property tests over every route the OpenAPI document lists: whatever the body, query string, path
// parameter and content type, the server answers below 500, and every 4xx is the one error body
// `{ code, message, data }`. Plus the fixed edges: the body limit, a refused content type, an
// unknown route, broken JSON. Set FUZZ_SEED to replay a run, FUZZ_RUNS for a longer one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ADMIN_PASSWORD, BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';
import { withInlineSchemas } from '../helpers/openapi.js';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = process.env.FUZZ_SEED === undefined || process.env.FUZZ_SEED === '' ? undefined : Number(process.env.FUZZ_SEED);

// ---- the OpenAPI document, as much of it as the generators need ------------------------------------

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  pattern?: string;
  required?: string[];
}

interface OpenApiOperation {
  parameters?: { in: string; name: string; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema } | undefined> };
  security?: unknown[];
  responses?: Record<string, { content?: Record<string, unknown> } | undefined>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation | undefined>>;
  components?: { schemas?: Record<string, unknown> };
}

type Method = NonNullable<InjectOptions['method']>;

interface Route {
  method: Method;
  template: string;
  guarded: boolean;
  query: [string, JsonSchema][];
  body: [string, JsonSchema][];
  required: string[];
  /** An HTML page (the login page): its refusals are pages too, for a person to read. */
  page: boolean;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']);

function routesOf(doc: OpenApiDocument): Route[] {
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method) || op === undefined) continue;
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p): [string, JsonSchema] => [p.name, p.schema ?? {}]);
      const content = op.requestBody?.content ?? {};
      const bodySchema = content['application/json']?.schema ?? Object.values(content)[0]?.schema;
      routes.push({
        method: method.toUpperCase() as Method, // one of HTTP_METHODS, upper-cased
        template,
        guarded: op.security !== undefined && op.security.length > 0,
        query,
        body: Object.entries(bodySchema?.properties ?? {}),
        required: bodySchema?.required ?? [],
        page: op.responses?.['400']?.content?.['text/html'] !== undefined,
      });
    }
  }
  return routes;
}

// ---- generators -------------------------------------------------------------------------------------

/** Text of every kind: printable ASCII, any code point (NUL included), graphemes. */
const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));

const clampSafe = (n: number | undefined, fallback: number): number => Math.min(Math.max(n ?? fallback, Number.MIN_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);

/** Values that mostly satisfy the schema, so that runs get past validation into the services. */
function near(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.enum !== undefined && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  if (schema.anyOf !== undefined && schema.anyOf.length > 0) return fc.oneof(...schema.anyOf.map((s) => near(s, depth + 1)));
  switch (schema.type) {
    case 'string': {
      const maxLength = Math.min(schema.maxLength ?? 64, 64);
      const plain = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '@', '-', ':', '\t', 'é', '😀', 'ß', 'İ', '\u212a'), minLength: schema.minLength ?? 0, maxLength });
      if (schema.pattern === undefined) return fc.oneof({ weight: 4, arbitrary: plain }, { weight: 1, arbitrary: anyText });
      const matching = fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 64));
      return fc.oneof({ weight: 6, arbitrary: matching }, { weight: 1, arbitrary: plain });
    }
    case 'integer': {
      const min = clampSafe(schema.minimum, -1e6);
      const max = clampSafe(schema.maximum, 1e6);
      return fc.oneof({ weight: 4, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(min, max, min - 1, max + 1) });
    }
    case 'number':
      return fc.double();
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const items = near(schema.items ?? {}, depth + 1);
      const maxLength = Math.min(schema.maxItems ?? 4, 8);
      return fc.oneof(
        { weight: 6, arbitrary: schema.uniqueItems === true ? fc.uniqueArray(items, { maxLength, selector: (v) => JSON.stringify(v) }) : fc.array(items, { maxLength }) },
        { weight: 1, arbitrary: fc.array(items, { maxLength: maxLength + 2 }) },
      );
    }
    case 'object': {
      if (depth > 2) return fc.object();
      const fields = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, near(s, depth + 1)]));
      return fc.record(fields, { requiredKeys: [] });
    }
    default:
      return fc.jsonValue();
  }
}

/** Values that once gave a 500: numbers past a double, a one-element array for a scalar, deep nesting. */
const HOSTILE: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('1e309', '-1e309', 'Infinity', '9007199254740993', '1e20', ''),
  near({ type: 'string' }).map((text) => [text]),
  fc.integer({ min: 1, max: 1e6 }).map((n) => [n]),
  fc.integer({ min: 20, max: 60 }).map((depth) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) as unknown),
);

/** Values the token endpoint would take, so that runs reach the grants and not only the first check. */
const TOKEN_HINTS: Record<string, fc.Arbitrary<unknown>> = {
  grant_type: fc.constantFrom('client_credentials', 'login_info', 'refresh_token', 'password', ''),
  client_id: fc.constantFrom(BOOT_CLIENT_ID, 'nobody', ''),
  client_secret: fc.constantFrom(BOOT_CLIENT_SECRET, 'wrong-secret', 'x'.repeat(300)),
  scope: fc.constantFrom('credit', 'users', 'credit users offline.access', 'offline.access', 'root', ' '),
  login_info: fc.oneof(
    fc.record({ type: fc.integer({ min: 0, max: 6 }), card: anyText, pin: fc.stringMatching(/^[0-9]{1,8}$/), user: fc.constantFrom('admin', 'fuzz', ''), pwd: fc.constantFrom(ADMIN_PASSWORD, 'wrong') }, { requiredKeys: ['type'] }),
    fc.constantFrom(JSON.stringify({ type: 3, user: 'admin', pwd: ADMIN_PASSWORD }), '{"type":', 'null', '[]', '"3"'),
  ),
};

/** Values that collide with what is stored (taken usernames, a PIN, a card): the 409 paths. */
const FIELD_HINTS: Record<string, fc.Arbitrary<unknown>> = {
  username: fc.constantFrom('admin', 'ADMIN', 'fuzz-victim-1', 'Fuzz-Victim-2', 'ﬀ-ligature'),
  pin: fc.constantFrom('1234', '12345678'),
  cards: fc.constantFrom(['CARD-0001'], ['card-0001'], ['CARD-0001', 'CARD-0002']),
};

/** Whole token requests that could succeed: the grants are reached, not only the first check. */
const tokenRequest = fc.record(
  {
    grant_type: fc.constantFrom('client_credentials', 'login_info', 'refresh_token'),
    client_id: fc.oneof({ weight: 4, arbitrary: fc.constant(BOOT_CLIENT_ID) }, { weight: 1, arbitrary: anyText }),
    client_secret: fc.oneof({ weight: 3, arbitrary: fc.constant(BOOT_CLIENT_SECRET) }, { weight: 1, arbitrary: anyText }),
    scope: TOKEN_HINTS.scope ?? fc.string(),
    login_info: TOKEN_HINTS.login_info ?? fc.object(),
    refresh_token: anyText,
  },
  { requiredKeys: ['grant_type', 'client_id', 'client_secret'] },
);

function bodyArbitrary(route: Route): fc.Arbitrary<unknown> {
  const isToken = route.template === '/api/auth/token';
  const hints = isToken ? TOKEN_HINTS : FIELD_HINTS;
  // Near-valid: the schema's own fields with values that mostly pass, so that runs reach the services.
  const nearField = ([name, schema]: [string, JsonSchema]): [string, fc.Arbitrary<unknown>] => {
    const hint = hints[name];
    const [hintWeight, nearWeight] = isToken ? [4, 1] : [1, 3];
    return [name, hint === undefined ? near(schema) : fc.oneof({ weight: hintWeight, arbitrary: hint }, { weight: nearWeight, arbitrary: near(schema) })];
  };
  // Wild: the same field names with anything at all in them.
  const wildField = ([name, schema]: [string, JsonSchema]): [string, fc.Arbitrary<unknown>] => [name, fc.oneof(near(schema), fc.jsonValue(), anyText, HOSTILE)];
  const required = route.required.filter((name) => route.body.some(([field]) => field === name));
  const nearBody = fc.record(Object.fromEntries(route.body.map(nearField)), { requiredKeys: required });
  const wildBody = fc.record(Object.fromEntries(route.body.map(wildField)), { requiredKeys: [] });
  const mixed = fc.tuple(wildBody, fc.dictionary(anyText, fc.jsonValue(), { minKeys: 1, maxKeys: 3 })).map(([valid, random]) => ({ ...random, ...valid }));
  return fc.oneof(
    { weight: 1, arbitrary: fc.jsonValue() },
    { weight: 1, arbitrary: fc.object() },
    { weight: 6, arbitrary: isToken ? fc.oneof(tokenRequest, nearBody) : nearBody },
    { weight: 2, arbitrary: wildBody },
    { weight: 2, arbitrary: mixed },
  );
}

const CONTENT_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'text/plain', 'none'] as const;
type ContentType = (typeof CONTENT_TYPES)[number];

/** The body as the wire carries it under that content type; `raw` sends generated text as is. */
function encodeBody(body: unknown, contentType: ContentType, raw: string | null): string {
  if (raw !== null) return raw;
  if (contentType === 'application/x-www-form-urlencoded' && typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const pairs = Object.entries(body).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]);
    return new URLSearchParams(pairs).toString();
  }
  return JSON.stringify(body) ?? '';
}

function queryArbitrary(route: Route): fc.Arbitrary<string> {
  const own = fc.record(Object.fromEntries(route.query.map(([name, schema]) => [name, fc.oneof(anyText, near(schema).map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '')))])), {
    requiredKeys: [],
  });
  const random = fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(anyText, anyText, { maxKeys: 4 }) });
  const encoded = fc.tuple(own, random).map(([mine, theirs]) => {
    const pairs = Object.entries({ ...theirs, ...mine }).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, v]]));
    return new URLSearchParams(pairs).toString();
  });
  // Unencoded text, bad escapes and repeated keys, as a sloppy client writes them.
  const sloppy = fc.stringMatching(/^[A-Za-z0-9%&=[\]._~+,-]{0,40}$/);
  const repeated = fc.constantFrom(...route.query.map(([name]) => `${name}=1&${name}=2`), 'limit=1&limit=2', 'a[b]=1', '%zz=%', '=&&=', 'start=-1', 'limit=1e3');
  return fc.oneof({ weight: 4, arbitrary: encoded }, { weight: 1, arbitrary: sloppy }, { weight: 1, arbitrary: repeated });
}

/** Percent-encodes every byte of the UTF-8 form: total, unlike encodeURIComponent. */
const percentAll = (text: string): string => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

function pathParamArbitrary(knownIds: number[]): fc.Arbitrary<string> {
  const number = fc.oneof(
    fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
    fc.integer({ min: -1_000_000, max: -1 }).map(String),
    fc.double().map(String),
    fc.constantFrom('0', '-0', '9007199254740991', '9007199254740992', '2147483648', '1e3', '0x10', '1.5', 'NaN', 'Infinity', '00042'),
  );
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })).map(percentAll);
  const verbatim = fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '..', '%2F', '%2e%2e', 'a%20b', '~', ';x', '💸');
  const known = fc.constantFrom(...knownIds).map(String);
  return fc.oneof(
    { weight: 2, arbitrary: number },
    { weight: 1, arbitrary: text },
    { weight: 1, arbitrary: fc.string().map(encodeURIComponent) },
    { weight: 1, arbitrary: verbatim },
    { weight: 3, arbitrary: known },
  );
}

// ---- what every answer must look like -------------------------------------------------------------------

function assertAnswer(res: LightMyRequestResponse, what: string, page = false): void {
  assert.ok(res.statusCode < 500, `${what} → ${res.statusCode} ${res.body}`);
  if (res.statusCode < 400) return;
  if (page && String(res.headers['content-type']).startsWith('text/html')) {
    assert.match(res.body, /^<!doctype html>/, `${what} → ${res.statusCode} an HTML page`);
    return;
  }
  assert.match(String(res.headers['content-type']), /^application\/json/, `${what} → ${res.statusCode} content-type ${String(res.headers['content-type'])}`);
  let body: unknown;
  try {
    body = JSON.parse(res.body) as unknown;
  } catch {
    assert.fail(`${what} → ${res.statusCode} with a body that is not JSON: ${res.body}`);
  }
  assert.ok(typeof body === 'object' && body !== null, `${what} → ${res.statusCode} ${res.body}`);
  const { code, message, data } = body as Record<string, unknown>;
  assert.equal(typeof code, 'number', `${what} → ${res.body}: code`);
  assert.equal(typeof message, 'string', `${what} → ${res.body}: message`);
  assert.ok(Array.isArray(data), `${what} → ${res.body}: data`);
}


/** A path segment as the server will see it, or null when its percent-escapes are broken. */
function decodeOrNull(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

// ---- what a refusal must leave alone ------------------------------------------------------------------

/**
 * The business state: people, clients, providers, batches, webhooks and balances row by row, and how
 * many payments, postings, charges, holds, refunds, transfers and redeemed vouchers there are. Not
 * the audit trail, events, idempotency records or token families: a refusal may write those by
 * design (a reused refresh token revokes its family; a refused command's outcome is kept).
 */
const STATE_QUERIES = [
  'SELECT * FROM users ORDER BY id',
  'SELECT * FROM user_cards ORDER BY card_key',
  'SELECT * FROM api_clients ORDER BY id',
  'SELECT * FROM recharge_providers ORDER BY reference',
  'SELECT * FROM voucher_batches ORDER BY id',
  'SELECT * FROM webhooks ORDER BY id',
  'SELECT * FROM ledger_accounts ORDER BY id',
  `SELECT (SELECT COUNT(*) FROM ledger_transactions) AS transactions, (SELECT COUNT(*) FROM recharge_payments) AS payments,
          (SELECT COUNT(*) FROM vouchers WHERE payment_id IS NOT NULL) AS redeemed, (SELECT COUNT(*) FROM gateway_payments) AS gateway_payments,
          (SELECT COUNT(*) FROM gateway_refunds) AS gateway_refunds, (SELECT COUNT(*) FROM charges) AS charges, (SELECT COUNT(*) FROM holds) AS holds,
          (SELECT COUNT(*) FROM charge_refunds) AS charge_refunds, (SELECT COUNT(*) FROM transfers) AS transfers`,
];

async function stateOf(t: TestApp): Promise<unknown[]> {
  return t.ctx.db.read(async (q) => {
    const parts: unknown[] = [];
    for (const sql of STATE_QUERIES) parts.push(await q.all(sql));
    return parts;
  });
}

for (const engine of ENGINES) {
  describe(`fuzzing every route [${engine}]`, () => {
    let t: TestApp;
    let routes: Route[] = [];
    let adminId = 0;
    const victims: number[] = [];
    let requests = 0;

    /** A distinct address per request keeps the token endpoint's per-address limiter out of the way. */
    const nextAddress = (): string => {
      requests += 1;
      return `10.${(requests >> 16) & 255}.${(requests >> 8) & 255}.${requests & 255}`;
    };

    /** Runs may reach the administrator through a lucky id; put them back so later runs stay meaningful. */
    const keepAdmin = async (): Promise<void> => {
      const admin = await t.ctx.users.getAny(adminId);
      if (!admin.isActive || !admin.rights.includes('admin')) await t.ctx.pipeline.perform('user.update', { id: adminId,  isActive: true, rights: ['admin'] }, CLI_ACTOR);
    };

    /** Fastify coerces "1", "01", "1.0", "0x1"… to the same id: those go to a victim instead. */
    const spareAdmin = (param: string): string => {
      const decoded = decodeOrNull(param);
      return decoded !== null && decoded.trim() !== '' && Number(decoded) === adminId ? String(victims[0] ?? 2) : param;
    };

    before(async () => {
      t = await startApp(engine);
      const res = await t.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(res.statusCode, 200);
      routes = routesOf(withInlineSchemas(res.json<OpenApiDocument>()));
      adminId = (await t.ctx.users.resolve('admin')).id;
      for (const username of ['fuzz-victim-1', 'fuzz-victim-2']) victims.push((await t.ctx.pipeline.perform('user.create', { username, password: 'victim-password' }, CLI_ACTOR)).id);
    });
    after(() => t.close());

    test('the document lists the token endpoint and the users routes', () => {
      const names = routes.map((r) => `${r.method} ${r.template}`);
      for (const expected of ['POST /api/auth/token', 'GET /v3/users', 'POST /v3/users', 'PATCH /v3/users/{id}', 'GET /health']) {
        assert.ok(names.includes(expected), `${expected} missing from ${names.join(', ')}`);
      }
      assert.ok(routes.find((r) => r.template === '/v3/users' && r.method === 'POST')?.body.some(([name]) => name === 'username'));
    });

    test('random requests never give a 5xx, and every 4xx is the error body', async (s) => {
      for (const route of routes) {
        await s.test(`${route.method} ${route.template}`, async () => {
          // The token endpoint's failures block the bootstrap client for a minute; let it pass.
          t.clock.advance(61_000);
          const adminToken = await t.adminToken();
          const isToken = route.template === '/api/auth/token';
          const paramCount = route.template.match(/\{[^}]+\}/g)?.length ?? 0;
          const authorization: fc.Arbitrary<string | null> = isToken
            ? fc.oneof(
                fc.constant(null),
                fc.constant(`Bearer ${adminToken}`),
                fc.constant(`Basic ${Buffer.from(`${BOOT_CLIENT_ID}:${BOOT_CLIENT_SECRET}`).toString('base64')}`),
                fc.uint8Array({ maxLength: 40 }).map((bytes) => `Basic ${Buffer.from(bytes).toString('base64')}`),
              )
            : fc.constant(`Bearer ${adminToken}`);
          const request = fc.record({
            path: fc.array(pathParamArbitrary(victims), { minLength: paramCount, maxLength: paramCount }),
            query: fc.option(queryArbitrary(route), { nil: null }),
            contentType: fc.oneof({ weight: 5, arbitrary: fc.constant(CONTENT_TYPES[0]) }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
            body: fc.option(bodyArbitrary(route), { nil: undefined, freq: 8 }),
            raw: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: anyText }),
            authorization,
          });
          await fc.assert(
            fc.asyncProperty(request, async (r) => {
              let index = 0;
              const path = route.template.replace(/\{[^}]+\}/g, () => spareAdmin(r.path[index++] ?? '1'));
              const url = r.query === null ? path : `${path}?${r.query}`;
              const hasBody = r.body !== undefined || r.raw !== null;
              const payload = hasBody ? encodeBody(r.body, r.contentType, r.raw) : undefined;
              // At most 15 token requests a minute: the failure limiter's 429 stays the exception.
              if (isToken) t.clock.advance(4_000);
              const headers: Record<string, string> = {};
              if (r.authorization !== null) headers.authorization = r.authorization;
              if (hasBody && r.contentType !== 'none') headers['content-type'] = r.contentType;
              const options: InjectOptions = { method: route.method, url, headers, remoteAddress: nextAddress() };
              if (payload !== undefined) options.payload = payload;
              try {
                const before = await stateOf(t);
                const res = await t.inject(options);
                const what = `${route.method} ${url} [${r.contentType}] ${payload?.slice(0, 300) ?? ''}`;
                assertAnswer(res, what, route.page);
                // A refusal changes nothing. 402 is the exception by design: a declined card
                // payment is recorded as a declined payment.
                if (res.statusCode >= 400 && res.statusCode !== 402) assert.deepEqual(await stateOf(t), before, `${what} → ${res.statusCode} changed state: ${res.body}`);
              } finally {
                await keepAdmin();
              }
            }),
            { numRuns: NUM_RUNS, seed: SEED, includeErrorInReport: true },
          );
        });
      }
    });

    test('a body over the limit → 413 with the error body', async () => {
      const limit = t.ctx.config.bodyLimitBytes;
      const big = JSON.stringify({ username: 'big', notes: 'x'.repeat(Math.ceil(limit * 1.1)) });
      assert.ok(big.length > limit);
      const headers = { ...bearer(await t.adminToken()), 'content-type': 'application/json' };
      for (const [method, url] of [['POST', '/v3/users'], ['PATCH', `/v3/users/${victims[0] ?? 2}`], ['POST', '/api/auth/token']] as const) {
        const res = await t.inject({ method, url, headers, payload: big, remoteAddress: nextAddress() });
        assert.equal(res.statusCode, 413, `${method} ${url}: ${res.body}`);
        assertAnswer(res, `${method} ${url}`);
        assert.equal(res.json<{ code: number }>().code, 413);
      }
      // Just under the limit is read (and then refused for its content, not its size).
      const fits = JSON.stringify({ username: 'fits', notes: 'x'.repeat(limit - 100) });
      const res = await t.inject({ method: 'POST', url: '/v3/users', headers, payload: fits });
      assert.equal(res.statusCode, 400, res.body);
    });

    test('a text/plain POST to /v3/users → 415 with the error body', async () => {
      const res = await t.inject({
        method: 'POST',
        url: '/v3/users',
        headers: { ...bearer(await t.adminToken()), 'content-type': 'text/plain' },
        payload: JSON.stringify({ username: 'plain' }),
      });
      assert.equal(res.statusCode, 415, res.body);
      assertAnswer(res, 'text/plain');
      assert.equal(res.json<{ code: number }>().code, 415);
    });

    test('an unknown route → 404 with the error body', async () => {
      const token = await t.adminToken();
      for (const [method, url] of [['GET', '/nope'], ['POST', '/v3/nope'], ['GET', '/v3/users/1/extra'], ['DELETE', '/v3/users/1/extra'], ['GET', '/nope?token=secret']] as const) {
        const res = await t.inject({ method, url, headers: bearer(token) });
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
        assertAnswer(res, `${method} ${url}`);
        const body = res.json<{ code: number; message: string; data: unknown[] }>();
        assert.equal(body.code, 404);
        assert.deepEqual(body.data, []);
        assert.doesNotMatch(body.message, /\?/, 'the query string stays out of the message');
      }
    });

    test('invalid JSON → 400 with the error body', async () => {
      const headers = { ...bearer(await t.adminToken()), 'content-type': 'application/json' };
      for (const payload of ['{', '{"username":', 'not json', '{"a":1}}', '']) {
        for (const [method, url] of [['POST', '/v3/users'], ['PATCH', `/v3/users/${victims[0] ?? 2}`], ['POST', '/api/auth/token']] as const) {
          const res = await t.inject({ method, url, headers, payload, remoteAddress: nextAddress() });
          assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`);
          assertAnswer(res, `${method} ${url} ${JSON.stringify(payload)}`);
        }
      }
    });

    // ---- inputs that once gave a 5xx or the wrong body; kept as regressions ----------

    test('integer query values and ids that coerce to ±Infinity → 400, not 500', async () => {
      const headers = bearer(await t.adminToken());
      for (const url of ['/v3/users?limit=Infinity', '/v3/users?start=Infinity', '/v3/users?limit=-Infinity', '/v3/users?limit=1e400', '/v3/users/find?isActive=1&start=Infinity', '/v3/users/Infinity', '/v3/users/-Infinity', '/v3/users/1e400']) {
        const res = await t.inject({ method: 'GET', url, headers });
        assertAnswer(res, `GET ${url}`);
        assert.equal(res.statusCode, 400, `GET ${url}: ${res.body}`);
      }
    });

    test('a 5,000-deep JSON body with an Idempotency-Key → 400 naming the body, nothing created', async () => {
      const headers = { ...bearer(await t.adminToken()), 'content-type': 'application/json', 'idempotency-key': 'deep-json-1' };
      const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
      const before = await t.inject({ method: 'GET', url: '/v3/rechargeProviders/external/payments', headers });
      for (const payload of [`{"userId":${victims[0] ?? 2},"params":${deep}}`, `{"userId":${victims[0] ?? 2},"params":{"list":${'['.repeat(40)}${']'.repeat(40)}}}`]) {
        const res = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers, payload });
        assertAnswer(res, 'deep JSON');
        assert.equal(res.statusCode, 400, res.body);
        assert.deepEqual(res.json<{ data: unknown }>().data, [{ field: 'body', problem: 'is nested deeper than 32 levels' }]);
      }
      const after = await t.inject({ method: 'GET', url: '/v3/rechargeProviders/external/payments', headers });
      assert.equal(after.json<{ count: number }>().count, before.json<{ count: number }>().count);
    });

    test('ids that coerce to ±Infinity in a JSON body → 400 naming the field, not 500', async () => {
      const headers = { ...bearer(await t.adminToken()), 'content-type': 'application/json' };
      for (const userId of ['1e309', '-1e309', 'Infinity']) {
        const res = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers, payload: JSON.stringify({ userId, params: { amount: 1 } }) });
        assertAnswer(res, `userId ${userId}`);
        assert.equal(res.statusCode, 400, `userId ${userId}: ${res.body}`);
        assert.equal(res.json<{ data: { field: string }[] }>().data[0]?.field, 'body.userId', res.body);
      }
    });

    test('a one-element array where a string belongs → 400 naming the field', async () => {
      const cases: [string, Record<string, unknown>][] = [
        ['body.grant_type', { grant_type: ['client_credentials'], client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET }],
        ['body.client_id', { grant_type: 'client_credentials', client_id: [BOOT_CLIENT_ID], client_secret: BOOT_CLIENT_SECRET }],
        ['body.login_info.user', { grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, login_info: { type: 3, user: ['admin'], pwd: ADMIN_PASSWORD } }],
      ];
      for (const [field, payload] of cases) {
        const res = await t.inject({ method: 'POST', url: '/api/auth/token', payload, remoteAddress: nextAddress() });
        assertAnswer(res, field);
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        // The token endpoint names fields as OAuth2 does, without the `body.` prefix.
        assert.ok(res.json<{ data: { field?: string }[] }>().data.some((d) => d.field === field || `body.${d.field ?? ''}` === field), `${field}: ${res.body}`);
      }
    });

    test('U+0000 in text → an answer below 500 on every engine', async () => {
      const headers = bearer(await t.adminToken());
      const boot = { client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET };
      const cases: [Method, string, unknown][] = [
        ['POST', '/v3/users', { username: 'nul\u0000name' }],
        ['POST', '/v3/users', { username: 'nul-notes', notes: 'a\u0000b' }],
        ['PATCH', `/v3/users/${victims[1] ?? 3}`, { fullname: 'a\u0000b' }],
        ['GET', '/v3/users/find?username=a%00b', undefined],
        ['GET', '/v3/users/find?email=%00', undefined],
        ['GET', '/v3/users/find?code=%00', undefined],
        ['POST', '/api/auth/token', { grant_type: 'login_info', ...boot, login_info: { type: 3, user: 'a\u0000', pwd: 'whatever' } }],
        ['POST', '/api/auth/token', { grant_type: 'client_credentials', client_id: 'a\u0000', client_secret: 'x' }],
        // Decoded after the request-wide check: login_info as JSON text.
        ['POST', '/api/auth/token', { grant_type: 'login_info', ...boot, login_info: JSON.stringify({ type: 3, user: 'bob\u0000', pwd: 'x' }) }],
      ];
      for (const [method, url, payload] of cases) {
        const res = await t.inject({ method, url, headers, remoteAddress: nextAddress(), ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }), ...(payload === undefined ? {} : { headers: { ...headers, 'content-type': 'application/json' } }) });
        assertAnswer(res, `${method} ${url} ${JSON.stringify(payload) ?? ''}`);
      }
    });

    test('NUL in HTTP Basic client credentials → 400, counted like any other refusal', async () => {
      for (const credentials of ['client\u0000x:secret', 'client%00x:secret', `${BOOT_CLIENT_ID}:${BOOT_CLIENT_SECRET}\u0000`]) {
        const res = await t.inject({
          method: 'POST',
          url: '/api/auth/token',
          remoteAddress: nextAddress(),
          headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}`, 'content-type': 'application/json' },
          payload: JSON.stringify({ grant_type: 'client_credentials' }),
        });
        assertAnswer(res, credentials);
        assert.equal(res.statusCode, 400, `${JSON.stringify(credentials)}: ${res.body}`);
      }
    });

    test('a path with a bad percent-escape → 400 with the error body', async () => {
      const headers = bearer(await t.adminToken());
      for (const url of ['/v3/users/%', '/v3/users/%zz', '/nope/%E0%A4%A']) {
        const res = await t.inject({ method: 'GET', url, headers });
        assert.equal(res.statusCode, 400, `GET ${url}: ${res.body}`);
        assertAnswer(res, `GET ${url}`);
      }
    });
  });
}

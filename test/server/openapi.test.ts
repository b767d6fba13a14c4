// The published contract: GET /openapi.json is a valid OpenAPI 3.1 document, its OAuth2 scheme
// says where tokens come from and which scopes exist, every /v3 operation names its scope, shared
// shapes are named schemas, every operation has an operationId and a declared tag, writes document
// their Idempotency-Key, and the docs page and the operational endpoints answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Validator } from '@seriousme/openapi-schema-validator';

import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface OpenApiResponse {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: unknown } | undefined>;
}

interface OpenApiOperation {
  operationId?: string;
  tags?: string[];
  description?: string;
  security?: Record<string, string[] | undefined>[];
  parameters?: { in: string; name: string; example?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown; example?: unknown } | undefined> };
  responses?: Record<string, OpenApiResponse | undefined>;
}

interface OAuthFlow {
  tokenUrl?: string;
  scopes?: Record<string, string>;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, OpenApiOperation | undefined>>;
  components?: {
    schemas?: Record<string, unknown>;
    securitySchemes?: Record<string, { type?: string; flows?: Record<string, OAuthFlow | undefined> } | undefined>;
  };
}

/** Every `$ref` anywhere in the value. */
function refsIn(value: unknown, found: string[] = []): string[] {
  if (typeof value !== 'object' || value === null) return found;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') found.push(ref);
  for (const child of Object.values(value)) refsIn(child, found);
  return found;
}

const schemaOf = (response: OpenApiResponse | undefined): unknown => response?.content?.['application/json']?.schema;

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']);

function operations(doc: OpenApiDocument): { method: string; path: string; op: OpenApiOperation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).flatMap(([method, op]) => (HTTP_METHODS.has(method) && op !== undefined ? [{ method, path, op }] : [])),
  );
}

for (const engine of ENGINES) {
  describe(`OpenAPI document and operational endpoints [${engine}]`, () => {
    let t: TestApp;
    let doc: OpenApiDocument;

    before(async () => {
      t = await startApp(engine);
      const res = await t.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      doc = res.json<OpenApiDocument>();
    });
    after(() => t.close());

    test('GET /openapi.json is a valid OpenAPI 3.1 document', async () => {
      assert.ok(Validator.supportedVersions.has('3.1'));
      assert.equal(doc.openapi, '3.1.0');
      const validator = new Validator();
      const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
      assert.ok(result.valid, `not valid: ${JSON.stringify(result.errors, null, 2)}`);
      assert.equal(validator.version, '3.1');
      assert.equal(doc.info.title, 'Purse');
      assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
    });

    test('the oauth2 scheme: a client-credentials flow at /api/auth/token with every scope', () => {
      const scheme = doc.components?.securitySchemes?.oauth2;
      assert.ok(scheme !== undefined, 'components.securitySchemes.oauth2 is missing');
      assert.equal(scheme.type, 'oauth2');
      const flow = scheme.flows?.clientCredentials;
      assert.ok(flow !== undefined, 'no clientCredentials flow');
      assert.equal(flow.tokenUrl, '/api/auth/token');
      const scopes = Object.keys(flow.scopes ?? {});
      for (const scope of ['credit', 'users', 'offline.access']) assert.ok(scopes.includes(scope), `scope ${scope} missing from ${scopes.join(', ')}`);
      for (const [scope, description] of Object.entries(flow.scopes ?? {})) assert.ok(description.length > 0, `scope ${scope} has no description`);
      // the token URL is itself a documented operation
      assert.ok(doc.paths['/api/auth/token']?.post !== undefined, 'POST /api/auth/token is not documented');
    });

    test('every /v3 operation requires oauth2 with a declared scope, and documents 401 and 403', () => {
      const scopes = Object.keys(doc.components?.securitySchemes?.oauth2?.flows?.clientCredentials?.scopes ?? {});
      const v3 = operations(doc).filter(({ path }) => path.startsWith('/v3/'));
      assert.ok(v3.length >= 5, `only ${v3.length} /v3 operations`);
      for (const { method, path, op } of v3) {
        const what = `${method.toUpperCase()} ${path}`;
        assert.ok(op.security !== undefined && op.security.length > 0, `${what} has no security requirement`);
        const required = op.security[0]?.oauth2;
        assert.ok(required !== undefined, `${what}: security[0] is not oauth2`);
        // GET /v3/me and the password change take any valid token: oauth2 with no scope, said so.
        const anyToken = ['GET /v3/me', 'POST /v3/me/password'].includes(what);
        assert.equal(required.length === 0, anyToken, `${what}: security[0] names ${anyToken ? 'a' : 'no'} oauth2 scope`);
        for (const scope of required) assert.ok(scopes.includes(scope), `${what}: scope ${scope} is not declared`);
        assert.match(op.description ?? '', anyToken ? /Any valid token/ : new RegExp(`Scope \`${required[0] ?? ''}\``), `${what}: the description names the scope`);
        assert.ok(op.responses?.['401'] !== undefined && op.responses['403'] !== undefined, `${what}: 401 and 403 are not documented`);
      }
    });

    test('unguarded operations are the ones meant to be, each with security: []: token, revoke, the login page, health, readiness, metrics', () => {
      for (const { method, path, op } of operations(doc)) assert.ok(op.security !== undefined, `${method.toUpperCase()} ${path} has no security entry`);
      const open = operations(doc)
        .filter(({ op }) => op.security?.length === 0)
        .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
        .sort();
      assert.deepEqual(open, ['GET /health', 'GET /metrics', 'GET /oauth/authorize', 'GET /ready', 'POST /api/auth/revoke', 'POST /api/auth/token', 'POST /oauth/authorize']);
      assert.deepEqual(doc.servers, [{ url: '/', description: 'This Purse' }]);
    });

    test('every operation has a unique camelCase operationId and a tag declared at the top level', () => {
      const declared = new Set((doc.tags ?? []).map((tag) => tag.name));
      for (const tag of doc.tags ?? []) assert.ok((tag.description ?? '').length > 0, `tag ${tag.name} has no description`);
      const ids = new Map<string, string>();
      for (const { method, path, op } of operations(doc)) {
        const what = `${method.toUpperCase()} ${path}`;
        assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${what}: operationId ${op.operationId ?? '(none)'}`);
        const id = op.operationId ?? '';
        assert.equal(ids.get(id), undefined, `${what} and ${ids.get(id) ?? ''} share the operationId ${id}`);
        ids.set(id, what);
        assert.ok((op.tags ?? []).length > 0, `${what} has no tag`);
        for (const tag of op.tags ?? []) assert.ok(declared.has(tag), `${what}: tag ${tag} is not declared at the top level`);
      }
      for (const [id, what] of [['createPayment', 'POST /v3/rechargeProviders/{reference}/payments'], ['commitPayment', 'POST /v3/rechargeProviders/{reference}/payments/{id}/commit'], ['findUsers', 'GET /v3/users/find'], ['getToken', 'POST /api/auth/token']]) {
        assert.equal(ids.get(id ?? ''), what);
      }
    });

    test('shared shapes are named schemas, referred to by $ref; every $ref resolves', () => {
      const schemas = doc.components?.schemas ?? {};
      const expected = ['User', 'Payment', 'Provider', 'StatementEntry', 'VoucherBatch', 'GatewayPayment', 'Refund', 'Error', 'Charge', 'Hold', 'Transfer', 'Webhook', 'Event', 'AuditEntry', 'Card', 'MbWay'];
      for (const name of expected) assert.ok(name in schemas, `components.schemas.${name} is missing`);
      for (const ref of refsIn(doc)) {
        assert.match(ref, /^#\/components\/schemas\//, ref);
        assert.ok(ref.replace('#/components/schemas/', '') in schemas, `${ref} names no schema`);
      }
      for (const { method, path, op } of operations(doc)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          // The login page answers its refusals as pages, for the person in front of it.
          const page = path === '/oauth/authorize' && response?.content?.['text/html'] !== undefined;
          if (Number(status) >= 400 && !page) assert.deepEqual(schemaOf(response), { $ref: '#/components/schemas/Error' }, `${method.toUpperCase()} ${path} ${status}`);
          assert.ok((response?.description ?? '') !== 'Default Response', `${method.toUpperCase()} ${path} ${status} has no description`);
        }
      }
      assert.deepEqual(schemaOf(doc.paths['/v3/users/{id}']?.get?.responses?.['200']), { $ref: '#/components/schemas/User' });
      assert.deepEqual(schemaOf(doc.paths['/v3/holds/{id}']?.get?.responses?.['200']), { $ref: '#/components/schemas/Hold' });
    });

    test('every request body has an example', () => {
      for (const { method, path, op } of operations(doc)) {
        for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) assert.ok(media?.example !== undefined, `${method.toUpperCase()} ${path} ${type} has no example`);
      }
    });

    test('"Try it out": the documented example creates a payment, and it commits', async () => {
      const op = doc.paths['/v3/rechargeProviders/{reference}/payments']?.post;
      const reference = op?.parameters?.find((p) => p.in === 'path' && p.name === 'reference')?.example;
      assert.equal(reference, 'external');
      const example = op?.requestBody?.content?.['application/json']?.example;
      const headers = bearer(await t.adminToken('credit'));
      const created = await t.inject({ method: 'POST', url: `/v3/rechargeProviders/${reference}/payments`, headers, payload: example as Record<string, unknown> });
      assert.equal(created.statusCode, 200, created.body);
      const commit = await t.inject({ method: 'POST', url: `/v3/rechargeProviders/external/payments/${created.json<{ id: string }>().id}/commit`, headers });
      assert.equal(commit.statusCode, 200, commit.body);
      assert.deepEqual(commit.json(), { amount: 13 });
    });

    test('writes that take an Idempotency-Key document it and Idempotent-Replayed; those that refuse one do not', () => {
      const refusing = new Set(['getToken', 'revokeToken', 'authorizeLogin', 'generateVoucherBatch', 'createWebhook', 'rotateWebhookSecret', 'createClient', 'changeMyPassword', 'verifyLedger']);
      const writes = operations(doc).filter(({ method }) => method !== 'get');
      assert.ok(writes.length >= 25, `only ${writes.length} writes`);
      for (const { op } of writes) {
        const id = op.operationId ?? '';
        const takesKey = (op.parameters ?? []).some((p) => p.in === 'header' && p.name === 'Idempotency-Key');
        assert.equal(takesKey, !refusing.has(id), `${id}: Idempotency-Key ${takesKey ? 'documented' : 'missing'}`);
        const success = Object.entries(op.responses ?? {}).find(([status]) => status.startsWith('2'))?.[1];
        assert.equal(success?.headers?.['Idempotent-Replayed'] !== undefined, takesKey, `${id}: Idempotent-Replayed`);
      }
    });

    test('402 and 429 where they happen; 429 and 503 carry Retry-After', () => {
      const byId = new Map(operations(doc).map(({ op }) => [op.operationId ?? '', op]));
      for (const id of ['createPayment', 'createCharge', 'createHold', 'createTransfer']) assert.ok(byId.get(id)?.responses?.['402'] !== undefined, `${id}: 402`);
      for (const id of ['createPayment', 'getToken']) assert.ok(byId.get(id)?.responses?.['429'] !== undefined, `${id}: 429`);
      for (const { op } of operations(doc)) {
        for (const status of ['429', '503']) {
          const response = op.responses?.[status];
          if (response !== undefined) assert.ok(response.headers?.['Retry-After'] !== undefined, `${op.operationId ?? ''} ${status}: Retry-After`);
        }
      }
    });

    test('gateway amounts and additional_params are typed: a number or decimal text, a card or an MB WAY phone', () => {
      const body = doc.paths['/api/payments']?.post?.requestBody?.content?.['application/json']?.schema as { properties?: Record<string, { type?: unknown; oneOf?: unknown }> } | undefined;
      assert.deepEqual(body?.properties?.amount?.type, ['number', 'string']);
      assert.deepEqual(body?.properties?.additional_params?.oneOf, [{ $ref: '#/components/schemas/Card' }, { $ref: '#/components/schemas/MbWay' }]);
    });

    test('GET /docs answers with the HTML docs page', async () => {
      let res = await t.inject({ method: 'GET', url: '/docs' });
      for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 3; hops++) {
        const location = String(res.headers.location);
        assert.match(location, /docs/);
        res = await t.inject({ method: 'GET', url: new URL(location, 'http://localhost/docs').pathname });
      }
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.body, /<html/i);
      assert.match(res.body, /<title>Purse — API reference<\/title>/);
      const initializer = await t.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
      assert.equal(initializer.statusCode, 200);
      assert.match(initializer.body, /data:image\/svg\+xml;base64,/, 'the Purse logo');
      assert.match(initializer.body, /"defaultModelsExpandDepth":1/, 'the schemas section is shown');
    });

    test('GET /health → 200 {status: "ok"}', async () => {
      const res = await t.inject({ method: 'GET', url: '/health' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    });

    test('GET /ready → 200 when the database answers', async () => {
      const res = await t.inject({ method: 'GET', url: '/ready' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<{ status: string }>().status, 'ready');
    });

    test('GET /metrics → Prometheus text with request counts and process metrics', async () => {
      assert.equal((await t.inject({ method: 'GET', url: '/health' })).statusCode, 200);
      const res = await t.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.match(res.body, /purse_http_requests_total/);
      assert.match(res.body, /process_cpu/);
      assert.match(res.body, /purse_http_requests_total\{[^}]*route="\/health"[^}]*\} [1-9]/);
      assert.match(res.body, /purse_http_request_duration_seconds_bucket/);
    });

    test('metrics label routes by pattern, never by raw URL', async () => {
      const token = await t.adminToken('users');
      await t.inject({ method: 'GET', url: '/v3/users/1', headers: { authorization: `Bearer ${token}` } });
      await t.inject({ method: 'GET', url: '/no/such/route/12345' });
      const body = (await t.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(body, /route="\/v3\/users\/:id"/);
      assert.doesNotMatch(body, /route="\/v3\/users\/1"/);
      // In a label, that is: a gauge's value (bytes of memory …) may hold those digits by chance.
      assert.doesNotMatch(body, /="[^"]*12345[^"]*"/);
    });
  });
}

// The guard matrix: every guarded operation the OpenAPI document lists (found from the document,
// not from a hand-kept list), on every engine, refuses a missing or malformed header, a forged or
// expired token, a token without the route's scope and a person without the route's right — each
// with the one error body.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { SignJWT } from 'jose';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface OpenApiOperation {
  description?: string;
  security?: Record<string, string[] | undefined>[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation | undefined>>;
  components: { securitySchemes: { oauth2: { flows: { clientCredentials: { scopes: Record<string, string> } } } } };
}

interface GuardedRoute {
  method: NonNullable<InjectOptions['method']>;
  /** The path as OpenAPI writes it, `{id}` and all. */
  template: string;
  scope: string;
  /** The right the description names ("; right `X`"), when the guard checks one. */
  right: string | undefined;
}

interface ErrorBody {
  code: number;
  message: string;
  data: unknown[];
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']);
const ANY_TOKEN_ROUTES = ['GET /v3/me', 'POST /v3/me/password'];

/** Every operation with a `security` requirement (public ones have `security: []`): its method, path, scope and right. */
function guardedRoutes(doc: OpenApiDocument): GuardedRoute[] {
  const routes: GuardedRoute[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method) || operation?.security === undefined || operation.security.length === 0) continue;
      const scope = operation.security[0]?.oauth2?.[0];
      // Any valid token will do for these two (test/auth/web-api.test.ts checks them); every other
      // guarded route names its scope.
      if (scope === undefined && ANY_TOKEN_ROUTES.includes(`${method.toUpperCase()} ${template}`)) continue;
      assert.ok(scope !== undefined, `${method.toUpperCase()} ${template}: security[0].oauth2[0] names no scope`);
      const right = /; right `([^`]+)`/.exec(operation.description ?? '')?.[1];
      routes.push({ method: method.toUpperCase() as GuardedRoute['method'], template, scope, right }); // one of HTTP_METHODS
    }
  }
  return routes;
}

/** Path parameters become `id` (1 unless told otherwise). */
const urlOf = (route: GuardedRoute, id = 1): string => route.template.replace(/\{[^}]+\}/g, String(id));
const label = (route: GuardedRoute): string => `${route.method} ${route.template}`;

function assertErrorBody(res: LightMyRequestResponse, status: number, what: string): ErrorBody {
  assert.equal(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/json/, what);
  const body = res.json<ErrorBody>();
  assert.equal(typeof body.code, 'number', what);
  assert.equal(body.code, status, what);
  assert.equal(typeof body.message, 'string', what);
  assert.ok(body.message.length > 0, what);
  assert.ok(Array.isArray(body.data), what);
  return body;
}

function assertUnauthorized(res: LightMyRequestResponse, what: string): ErrorBody {
  const body = assertErrorBody(res, 401, what);
  assert.match(String(res.headers['www-authenticate']), /^Bearer /, `${what}: www-authenticate`);
  return body;
}

/** Tokens that are not ours: garbage in JWT shape, the wrong key, `alg: none`, our claims tampered. */
async function forgedTokens(realToken: string): Promise<Record<string, string>> {
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.UTC(2026, 0, 1) / 1000);
  const claims = { iss: 'purse', sub: '1', cid: BOOT_CLIENT_ID, scope: 'credit users offline.access', iat: now, exp: now + 1800 };
  const wrongKey = await new SignJWT({ cid: BOOT_CLIENT_ID, scope: claims.scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setIssuer('purse')
    .setSubject('1')
    .setIssuedAt(now)
    .setExpirationTime(now + 1800)
    .sign(crypto.randomBytes(32));
  const [header = '', , signature = ''] = realToken.split('.');
  return {
    garbage: `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'x' })}.${crypto.randomBytes(32).toString('base64url')}`,
    'random segments': `${crypto.randomBytes(12).toString('base64url')}.${crypto.randomBytes(30).toString('base64url')}.${crypto.randomBytes(32).toString('base64url')}`,
    'wrong key': wrongKey,
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
    'tampered claims': `${header}.${b64({ ...claims, sub: '2' })}.${signature}`,
    'not a JWT': 'abcdef',
  };
}

const MALFORMED_HEADERS = ['Bearer', 'Bearer ', 'Basic abc', 'Bearer not a token', 'Token abc.def.ghi', 'Bearer abc def', 'Bearer a"b', 'bearer\tabc'];

for (const engine of ENGINES) {
  describe(`request guard [${engine}]`, () => {
    let t: TestApp;
    let routes: GuardedRoute[] = [];
    let scopes: string[] = [];
    let nobodyId = 0;
    /** Admin tokens per scope ('' = every scope), and the no-rights person's per scope. */
    let adminTokens = new Map<string, string>();
    let nobodyTokens = new Map<string, string>();

    const call = (route: GuardedRoute, headers: Record<string, string>, id?: number): Promise<LightMyRequestResponse> =>
      t.inject({ method: route.method, url: urlOf(route, id), headers });

    const token = (tokens: Map<string, string>, scope: string): string => {
      const value = tokens.get(scope);
      assert.ok(value !== undefined, `no token minted for scope "${scope}"`);
      return value;
    };

    const loginToken = async (scope: string): Promise<string> => {
      const res = await t.inject({
        method: 'POST',
        url: '/api/auth/token',
        payload: { grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, scope, login_info: { type: 3, user: 'guard-nobody', pwd: 'nobody-password' } },
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ access_token: string }>().access_token;
    };

    /** Tokens expire with the clock, so every test that moves it mints them again. */
    const mintTokens = async (): Promise<void> => {
      adminTokens = new Map([['', await t.adminToken()]]);
      nobodyTokens = new Map();
      for (const scope of scopes) {
        adminTokens.set(scope, await t.adminToken(scope));
        nobodyTokens.set(scope, await loginToken(scope));
      }
    };

    /** A scope other than the route's; offline.access alone only when nothing else is left. */
    const otherScope = (scope: string): string => {
      const other = scopes.find((s) => s !== scope && s !== 'offline.access') ?? scopes.find((s) => s !== scope);
      assert.ok(other !== undefined, `no scope other than ${scope}`);
      return other;
    };

    before(async () => {
      t = await startApp(engine);
      const res = await t.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(res.statusCode, 200);
      const doc = res.json<OpenApiDocument>();
      routes = guardedRoutes(doc);
      scopes = Object.keys(doc.components.securitySchemes.oauth2.flows.clientCredentials.scopes);
      const nobody = await t.ctx.pipeline.perform('user.create', { username: 'guard-nobody', password: 'nobody-password' }, CLI_ACTOR);
      assert.deepEqual(nobody.rights, []);
      nobodyId = nobody.id;
      await mintTokens();
    });
    after(() => t.close());

    test('the document lists the guarded routes, each with a known scope', () => {
      assert.ok(routes.length >= 5, `only ${routes.length} guarded routes found`);
      const names = routes.map(label);
      for (const expected of ['GET /v3/users', 'GET /v3/users/find', 'GET /v3/users/{id}', 'POST /v3/users', 'PATCH /v3/users/{id}']) {
        assert.ok(names.includes(expected), `${expected} is missing from ${names.join(', ')}`);
      }
      for (const route of routes) assert.ok(scopes.includes(route.scope), `${label(route)}: unknown scope ${route.scope}`);
      assert.ok(!names.includes('POST /api/auth/token'), 'the token endpoint must not be guarded');
    });

    test('an admin token with every scope passes the guard on every route', async (s) => {
      for (const route of routes) {
        await s.test(label(route), async () => {
          const res = await call(route, bearer(token(adminTokens, '')));
          assert.ok(res.statusCode !== 401 && res.statusCode !== 403, `${label(route)}: ${res.statusCode} ${res.body}`);
          assert.ok(res.statusCode < 500, `${label(route)}: ${res.statusCode} ${res.body}`);
        });
      }
    });

    test('no Authorization header → 401 with a Bearer challenge', async (s) => {
      for (const route of routes) {
        await s.test(label(route), async () => {
          const body = assertUnauthorized(await call(route, {}), label(route));
          assert.match(body.message, /bearer token is required/);
        });
      }
    });

    test('an empty Authorization header → 401', async (s) => {
      for (const route of routes) {
        await s.test(label(route), async () => {
          assertUnauthorized(await call(route, { authorization: '' }), label(route));
        });
      }
    });

    test('a malformed Authorization header → 401', async (s) => {
      for (const route of routes) {
        await s.test(label(route), async () => {
          for (const authorization of MALFORMED_HEADERS) {
            assertUnauthorized(await call(route, { authorization }), `${label(route)} with "${authorization}"`);
          }
        });
      }
    });

    test('a token in JWT shape that is not ours → 401 "invalid"', async (s) => {
      const forged = await forgedTokens(token(adminTokens, ''));
      for (const route of routes) {
        await s.test(label(route), async () => {
          for (const [kind, value] of Object.entries(forged)) {
            const body = assertUnauthorized(await call(route, bearer(value)), `${label(route)} with ${kind}`);
            assert.match(body.message, /invalid|malformed/, `${label(route)} with ${kind}: ${body.message}`);
            assert.doesNotMatch(body.message, /expired/);
          }
        });
      }
    });

    test('a token without the route scope → 403 naming the scope', async (s) => {
      for (const route of routes) {
        await s.test(label(route), async () => {
          const other = otherScope(route.scope);
          const body = assertErrorBody(await call(route, bearer(token(adminTokens, other))), 403, `${label(route)} with scope ${other}`);
          assert.match(body.message, new RegExp(`scope "${route.scope.replace('.', '\\.')}"`));
          // the same holds for offline.access alone, which is never a route's scope
          if (route.scope !== 'offline.access') {
            assertErrorBody(await call(route, bearer(token(adminTokens, 'offline.access'))), 403, `${label(route)} with offline.access`);
          }
        });
      }
    });

    test('a token with the route scope but a person without the route right → 403 naming the right', async (s) => {
      const withRight = routes.filter((r) => r.right !== undefined);
      assert.ok(withRight.length > 0, 'no route declares a right');
      for (const route of withRight) {
        await s.test(label(route), async () => {
          const res = await call(route, bearer(token(nobodyTokens, route.scope)), nobodyId);
          const body = assertErrorBody(res, 403, `${label(route)} as a person without rights`);
          assert.match(body.message, new RegExp(`right "${route.right ?? ''}"`));
        });
      }
    });

    test('routes that declare no right: the guard lets a person without rights through (documents and checks agree)', async (s) => {
      for (const route of routes.filter((r) => r.right === undefined)) {
        await s.test(label(route), async () => {
          const res = await call(route, bearer(token(nobodyTokens, route.scope)), nobodyId);
          assert.notEqual(res.statusCode, 401, `${label(route)}: ${res.body}`);
          assert.ok(res.statusCode < 500, `${label(route)}: ${res.statusCode} ${res.body}`);
          if (res.statusCode === 403) assert.doesNotMatch(res.json<ErrorBody>().message, /^this needs the right/, `${label(route)}: the guard checks a right the document does not declare`);
        });
      }
    });

    test('GET /v3/users/{id} without manageUsers: another person → 403, oneself → 200', async () => {
      const route = routes.find((r) => r.method === 'GET' && r.template === '/v3/users/{id}');
      assert.ok(route !== undefined);
      assert.equal(route.right, undefined, 'reading oneself needs no right');
      const headers = bearer(token(nobodyTokens, route.scope));
      const admin = await t.ctx.users.resolve('admin');
      assert.notEqual(admin.id, nobodyId);
      assertErrorBody(await call(route, headers, admin.id), 403, 'reading the administrator');
      const own = await call(route, headers, nobodyId);
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.json<{ id: number; username: string }>().id, nobodyId);
      // …and with another scope, not even oneself
      assertErrorBody(await call(route, bearer(token(nobodyTokens, otherScope(route.scope))), nobodyId), 403, 'oneself without the scope');
    });

    test('a right granted later counts at once; taken away, it stops counting', async () => {
      const route = routes.find((r) => r.method === 'GET' && r.template === '/v3/users');
      assert.ok(route !== undefined);
      const helper = await t.ctx.pipeline.perform('user.create', { username: 'guard-helper', password: 'helper-password' }, CLI_ACTOR);
      const res = await t.inject({
        method: 'POST',
        url: '/api/auth/token',
        payload: { grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, scope: route.scope, login_info: { type: 3, user: 'guard-helper', pwd: 'helper-password' } },
      });
      const headers = bearer(res.json<{ access_token: string }>().access_token);
      assertErrorBody(await call(route, headers), 403, 'before the grant');
      await t.ctx.pipeline.perform('user.update', { id: helper.id, rights: ['manageUsers'] }, CLI_ACTOR);
      assert.equal((await call(route, headers)).statusCode, 200);
      await t.ctx.pipeline.perform('user.update', { id: helper.id,  rights: [] }, CLI_ACTOR);
      assertErrorBody(await call(route, headers), 403, 'after the right was taken away');
      await t.ctx.pipeline.perform('user.update', { id: helper.id,  isActive: false }, CLI_ACTOR);
      assertUnauthorized(await call(route, headers), 'after the person was deactivated');
    });

    // Moves the clock: every earlier token expires, so the tokens are minted again at the end.
    test('an expired token → 401 saying it expired', async (s) => {
      const expiring = await t.adminToken();
      t.clock.advance(1800_000);
      for (const route of routes) {
        await s.test(label(route), async () => {
          const reply = await call(route, bearer(expiring));
          const body = assertUnauthorized(reply, label(route));
          assert.match(body.message, /expired/);
          assert.match(String(reply.headers['www-authenticate']), /error="invalid_token"/);
        });
      }
      await mintTokens();
      const fresh = routes[0];
      assert.ok(fresh !== undefined);
      assert.notEqual((await call(fresh, bearer(token(adminTokens, '')))).statusCode, 401, 'fresh tokens work again');
    });
  });
}

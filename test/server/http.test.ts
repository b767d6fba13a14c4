// HTTP as integrators and generated clients meet it: methods (405 with Allow, OPTIONS, HEAD),
// content types (415 naming what a route takes, form bodies only for OAuth2, the bulk recharge in
// JSON or CSV), tolerance of unknown query parameters, messages in people's words, dates and
// booleans read alike everywhere, and CORS for browser apps on other origins.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { LightMyRequestResponse } from 'fastify';

import { ConfigError, loadConfig } from '../../src/config.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface ErrorBody {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } } | undefined>>;
}

const APP_ORIGIN = 'https://app.example.org';

function errorOf(res: LightMyRequestResponse, status: number): ErrorBody {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json<ErrorBody>();
  assert.equal(body.code, status);
  return body;
}

describe('PURSE_CORS_ORIGINS', () => {
  test('none by default; exact origins, comma-separated; anything else stops the start naming the variable', () => {
    assert.deepEqual(loadConfig({}).corsOrigins, []);
    assert.deepEqual(loadConfig({ corsOrigins: 'https://a.example.org, http://localhost:3000,https://a.example.org' }).corsOrigins, ['https://a.example.org', 'http://localhost:3000']);
    for (const bad of ['*', 'https://a.example.org/', 'https://a.example.org/app', 'a.example.org', 'ftp://a.example.org']) {
      assert.throws(() => loadConfig({ corsOrigins: bad }), (error: unknown) => error instanceof ConfigError && error.message.startsWith('PURSE_CORS_ORIGINS'), bad);
    }
  });
});

for (const engine of ENGINES) {
  describe(`HTTP for integrators [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let doc: OpenApiDocument;

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
      doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
    });
    after(() => t.close());

    test('a wrong method on a known path → 405 with Allow and the error body; an unknown path stays 404', async () => {
      const users = await t.inject({ method: 'DELETE', url: '/v3/users', headers: admin });
      const body = errorOf(users, 405);
      assert.equal(users.headers.allow, 'GET, HEAD, POST, OPTIONS');
      assert.match(body.message, /^DELETE is not allowed on \/v3\/users; it answers GET, HEAD, POST, OPTIONS$/);
      const one = await t.inject({ method: 'PUT', url: '/v3/users/7', headers: admin });
      errorOf(one, 405);
      assert.equal(one.headers.allow, 'GET, HEAD, PATCH, OPTIONS');
      errorOf(await t.inject({ method: 'DELETE', url: '/v3/nothing-here', headers: admin }), 404);
    });

    test('OPTIONS on a known path → 204 with Allow; HEAD answers where GET does', async () => {
      const options = await t.inject({ method: 'OPTIONS', url: '/v3/rechargeProviders/external/payments/1/commit' });
      assert.equal(options.statusCode, 204);
      assert.equal(options.headers.allow, 'POST, OPTIONS');
      assert.equal(options.headers['access-control-allow-origin'], undefined, 'no CORS unless configured');
      const head = await t.inject({ method: 'HEAD', url: '/health' });
      assert.equal(head.statusCode, 200);
    });

    test('a missing or wrong Content-Type → 415 naming what the route takes, and nothing is created', async () => {
      const missing = await t.inject({ method: 'POST', url: '/v3/users', headers: admin, payload: '{"username":"nobody"}' });
      assert.equal(errorOf(missing, 415).message, 'Content-Type must be application/json');
      const form = await t.inject({ method: 'POST', url: '/v3/users', headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=nobody' });
      assert.equal(errorOf(form, 415).message, 'Content-Type must be application/json', 'form bodies are for the token endpoint only');
      const csv = await t.inject({ method: 'POST', url: '/v3/users/1/accounts/credit/recharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: 'admin;1' });
      assert.equal(errorOf(csv, 415).message, 'Content-Type must be application/json', 'CSV is for the bulk recharge only');
      const noBodyRoute = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments/1/commit', headers: { ...admin, 'content-type': 'text/plain' }, payload: 'x' });
      assert.equal(errorOf(noBodyRoute, 415).message, 'Content-Type must be application/json');
      const bulk = await t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/plain' }, payload: 'admin;1' });
      assert.equal(errorOf(bulk, 415).message, 'Content-Type must be one of application/json, text/csv');
      const found = await t.inject({ method: 'GET', url: '/v3/users/find?username=nobody', headers: admin });
      assert.equal(found.json<{ count: number }>().count, 0);
    });

    test('the token endpoint: JSON listed first, JSON as a generated client sends it, and form bodies (OAuth2)', async () => {
      assert.deepEqual(Object.keys(doc.paths['/api/auth/token']?.post?.requestBody?.content ?? {}), ['application/json', 'application/x-www-form-urlencoded']);
      const json = await t.inject({
        method: 'POST',
        url: '/api/auth/token',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        payload: JSON.stringify({ grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, scope: 'credit' }),
      });
      assert.equal(json.statusCode, 200, json.body);
      const form = await t.inject({
        method: 'POST',
        url: '/api/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, scope: 'credit' }).toString(),
      });
      assert.equal(form.statusCode, 200, form.body);
      const csv = await t.inject({ method: 'POST', url: '/api/auth/token', headers: { 'content-type': 'text/csv' }, payload: 'x' });
      assert.equal(errorOf(csv, 415).message, 'Content-Type must be one of application/json, application/x-www-form-urlencoded');
    });

    test('the bulk recharge takes {"csv": …} as JSON (listed first) or the CSV itself, with the same limits', async () => {
      assert.deepEqual(Object.keys(doc.paths['/v3/credit/bulkRecharge']?.post?.requestBody?.content ?? {}), ['application/json', 'text/csv']);
      const json = await t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: admin, payload: { csv: 'user;amount\nadmin;2.50\n' } });
      assert.deepEqual(json.json(), { count: 1, total: 2.5 });
      const csv = await t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: 'admin,1\n' });
      assert.deepEqual(csv.json(), { count: 1, total: 1 });
      const bad = await t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: admin, payload: { csv: 'nobody-at-all;1\n' } });
      assert.match(errorOf(bad, 400).message, /nothing was recharged/);
      const misspelt = errorOf(await t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: admin, payload: { cvs: 'admin;1' } }), 400);
      assert.equal(misspelt.message, 'body.csv is required');
      const balance = await t.inject({ method: 'GET', url: '/v3/users/1/accounts/credit/balance', headers: admin });
      assert.equal(balance.json<{ amount: number }>().amount, 3.5);
    });

    test('unknown query parameters are ignored (cache busters); unknown body fields are still refused', async () => {
      const found = await t.inject({ method: 'GET', url: '/v3/users/find?username=admin&_=1700000000&foo=bar', headers: admin });
      assert.equal(found.statusCode, 200, found.body);
      assert.equal(found.json<{ count: number }>().count, 1);
      const statement = await t.inject({ method: 'GET', url: '/v3/users/1/accounts/credit/statement?nocache=1', headers: admin });
      assert.equal(statement.statusCode, 200, statement.body);
      const body = errorOf(await t.inject({ method: 'POST', url: '/v3/users', headers: admin, payload: { username: 'extra', colour: 'blue' } }), 400);
      assert.equal(body.message, 'body.colour is not a known field');
    });

    test('messages name path and query parameters in plain words', async () => {
      const path = errorOf(await t.inject({ method: 'GET', url: '/v3/users/abc', headers: admin }), 400);
      assert.equal(path.message, 'path parameter id must be a whole number');
      assert.deepEqual(path.data[0], { field: 'params.id', problem: 'must be a whole number' });
      assert.equal(errorOf(await t.inject({ method: 'GET', url: '/v3/users?limit=5000', headers: admin }), 400).message, 'query parameter limit must be at most 1000');
      assert.equal(errorOf(await t.inject({ method: 'POST', url: '/v3/users', headers: admin, payload: {} }), 400).message, 'body.username is required');
    });

    test('a person who does not exist is named so, not "has no account"', async () => {
      const missing = errorOf(await t.inject({ method: 'GET', url: '/v3/users/9999/accounts/credit/balance', headers: admin }), 404);
      assert.equal(missing.message, 'user 9999 does not exist');
      const recharge = errorOf(await t.inject({ method: 'POST', url: '/v3/users/9999/accounts/credit/recharge', headers: admin, payload: { amount: 1 } }), 404);
      assert.equal(recharge.message, 'user 9999 does not exist');
      const account = errorOf(await t.inject({ method: 'GET', url: '/v3/users/1/accounts/savings/balance', headers: admin }), 404);
      assert.equal(account.message, 'user 1 has no account "savings"');
    });

    test('dates: a date alone, a date-time with or without an offset, alike in every filter; a day that does not exist is a 400', async () => {
      const urls = ['/v3/audit', '/v3/users/1/accounts/credit/statement', '/v3/users/1/accounts/credit/charges', '/v3/rechargeProviders/external/payments'];
      for (const url of urls) {
        for (const from of ['2020-01-01', '2020-01-01T10:00:00', '2020-01-01T10:00:00%2B01:00', '2020-01-01T10:00:00Z']) {
          const res = await t.inject({ method: 'GET', url: `${url}?from=${from}&to=2999-12-31`, headers: admin });
          assert.equal(res.statusCode, 200, `${url} from=${from}: ${res.body}`);
        }
        const bad = errorOf(await t.inject({ method: 'GET', url: `${url}?from=2026-02-30`, headers: admin }), 400);
        assert.match(bad.message, /^query parameter from must be a date like 2026-01-01 or a date-time/, url);
        assert.equal(bad.data[0]?.field, 'querystring.from');
      }
      const now = await t.inject({ method: 'GET', url: `/v3/audit?from=${new Date(t.clock.nowMs() + 86_400_000).toISOString().slice(0, 10)}`, headers: admin });
      assert.equal(now.json<{ count: number }>().count, 0, 'a date is its midnight, UTC');
    });

    test('booleans in queries: 1, 0, true and false alike', async () => {
      for (const value of ['1', 'true']) {
        const all = await t.inject({ method: 'GET', url: `/v3/rechargeProviders?all=${value}`, headers: admin });
        assert.equal(all.statusCode, 200, all.body);
        assert.ok(all.json<{ providers: { enabled?: boolean }[] }>().providers.every((p) => p.enabled !== undefined), `all=${value} lists the switches`);
        assert.equal((await t.inject({ method: 'GET', url: `/v3/users/find?username=admin&isActive=${value}`, headers: admin })).json<{ count: number }>().count, 1);
      }
      for (const value of ['0', 'false']) {
        const some = await t.inject({ method: 'GET', url: `/v3/rechargeProviders?all=${value}`, headers: admin });
        assert.ok(some.json<{ providers: { enabled?: boolean }[] }>().providers.every((p) => p.enabled === undefined), `all=${value}`);
        assert.equal((await t.inject({ method: 'GET', url: `/v3/users/find?username=admin&isActive=${value}`, headers: admin })).json<{ count: number }>().count, 0);
      }
      assert.match(errorOf(await t.inject({ method: 'GET', url: '/v3/rechargeProviders?all=yes', headers: admin }), 400).message, /^query parameter all must be one of: 1, 0, true, false$/);
    });
  });

  describe(`CORS [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;

    before(async () => {
      t = await startApp(engine, { corsOrigins: [APP_ORIGIN] });
      admin = bearer(await t.adminToken());
    });
    after(() => t.close());

    test('a preflight from a listed origin is answered with the methods and headers a client needs', async () => {
      const res = await t.inject({ method: 'OPTIONS', url: '/v3/users/1', headers: { origin: APP_ORIGIN, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type, idempotency-key' } });
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers['access-control-allow-origin'], APP_ORIGIN);
      assert.match(String(res.headers['access-control-allow-methods']), /PATCH/);
      assert.equal(res.headers['access-control-allow-headers'], 'Authorization, Content-Type, Idempotency-Key, Accept');
      assert.equal(res.headers['access-control-allow-credentials'], undefined, 'bearer tokens, no cookies');
    });

    test('responses to a listed origin expose Retry-After, Idempotent-Replayed and WWW-Authenticate, errors too', async () => {
      const ok = await t.inject({ method: 'GET', url: '/v3/users/1', headers: { ...admin, origin: APP_ORIGIN } });
      assert.equal(ok.headers['access-control-allow-origin'], APP_ORIGIN);
      assert.match(String(ok.headers.vary), /Origin/);
      for (const header of ['Retry-After', 'Idempotent-Replayed', 'WWW-Authenticate']) assert.match(String(ok.headers['access-control-expose-headers']), new RegExp(header));
      const unauthorized = await t.inject({ method: 'GET', url: '/v3/users/1', headers: { origin: APP_ORIGIN } });
      assert.equal(unauthorized.statusCode, 401);
      assert.equal(unauthorized.headers['access-control-allow-origin'], APP_ORIGIN, 'a browser app can read why it was refused');
    });

    test('another origin gets no CORS headers, and its preflight is a plain OPTIONS answer', async () => {
      const other = await t.inject({ method: 'GET', url: '/v3/users/1', headers: { ...admin, origin: 'https://evil.example.org' } });
      assert.equal(other.statusCode, 200);
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const preflight = await t.inject({ method: 'OPTIONS', url: '/v3/users/1', headers: { origin: 'https://evil.example.org', 'access-control-request-method': 'PATCH' } });
      assert.equal(preflight.statusCode, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
      assert.equal(preflight.headers.allow, 'GET, HEAD, PATCH, OPTIONS');
    });
  });
}

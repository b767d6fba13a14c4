// The published contract: GET /openapi.json is a valid OpenAPI 3.1 document, its OAuth2 scheme
// says where tokens come from and which scopes exist, every /v3 operation names its scope, and
// the docs page and the operational endpoints answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Validator } from '@seriousme/openapi-schema-validator';

import { ENGINES, startApp, type TestApp } from '../helpers/harness.js';

interface OpenApiOperation {
  description?: string;
  security?: Record<string, string[] | undefined>[];
  responses?: Record<string, unknown>;
}

interface OAuthFlow {
  tokenUrl?: string;
  scopes?: Record<string, string>;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation | undefined>>;
  components?: { securitySchemes?: Record<string, { type?: string; flows?: Record<string, OAuthFlow | undefined> } | undefined> };
}

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
        assert.ok(required !== undefined && required.length > 0, `${what}: security[0] names no oauth2 scope`);
        for (const scope of required) assert.ok(scopes.includes(scope), `${what}: scope ${scope} is not declared`);
        assert.match(op.description ?? '', new RegExp(`Scope \`${required[0] ?? ''}\``), `${what}: the description names the scope`);
        assert.ok(op.responses?.['401'] !== undefined && op.responses['403'] !== undefined, `${what}: 401 and 403 are not documented`);
      }
    });

    test('unguarded operations are the ones meant to be: token, health, readiness, metrics', () => {
      const open = operations(doc)
        .filter(({ op }) => op.security === undefined)
        .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
        .sort();
      assert.deepEqual(open, ['GET /health', 'GET /metrics', 'GET /ready', 'POST /api/auth/token']);
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
      assert.doesNotMatch(body, /12345/);
    });
  });
}

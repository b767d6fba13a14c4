// Purse serving the web app: index.html at / and for the app's own routes (only GET/HEAD asking for
// HTML, never under the API's paths), hashed assets cached for good, a plain answer when the app is
// not built, and `purse openapi` giving the document the build generates the client from.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { createContext, type Context } from '../../src/context.js';
import { buildServer } from '../../src/server.js';
import { purse } from '../helpers/cli.js';
import { createTestDatabase, testConfig, type TestDatabase } from '../helpers/harness.js';

const INDEX = '<!doctype html><html lang="en"><head><meta name="purse-currency" content="" /><title>Purse</title><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>';
const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

async function serverWith(webDir: string): Promise<{ app: FastifyInstance; ctx: Context; db: TestDatabase }> {
  const db = await createTestDatabase('sqlite');
  const ctx = await createContext(testConfig(db, { currency: 'CHF' }));
  const app = await buildServer(ctx, { webDir });
  await app.ready();
  return { app, ctx, db };
}

describe('web app routes', () => {
  const webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-web-'));
  let t: Awaited<ReturnType<typeof serverWith>>;
  before(async () => {
    fs.mkdirSync(path.join(webDir, 'assets'));
    fs.writeFileSync(path.join(webDir, 'index.html'), INDEX);
    fs.writeFileSync(path.join(webDir, 'assets', 'index-abc123.js'), 'console.log("app")');
    t = await serverWith(webDir);
  });
  after(async () => {
    await t.app.close();
    await t.ctx.close();
    await t.db.drop();
    fs.rmSync(webDir, { recursive: true, force: true });
  });

  test('/ is index.html, never cached, with the currency written in', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(res.body, /<meta name="purse-currency" content="CHF" \/>/);
  });

  test("the app's own routes answer index.html to a browser asking for a page", async () => {
    for (const url of ['/statement', '/callback?code=x&state=y', '/console/users/7', '/top-up']) {
      const res = await t.app.inject({ method: 'GET', url, headers: HTML });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /<div id="app">/, url);
    }
    const head = await t.app.inject({ method: 'HEAD', url: '/statement', headers: HTML });
    assert.equal(head.statusCode, 200);
  });

  test('the API, its documents and operations are never shadowed', async () => {
    for (const url of ['/v3/nothing', '/api/nothing', '/oauth/nothing', '/docs/nothing', '/openapi.json/x', '/health/x', '/assets/missing-123.js', '/robots.txt']) {
      const res = await t.app.inject({ method: 'GET', url, headers: HTML });
      assert.equal(res.statusCode, 404, url);
      assert.match(res.headers['content-type'] as string, /application\/json/, url);
    }
    const json = await t.app.inject({ method: 'GET', url: '/statement', headers: { accept: 'application/json' } });
    assert.equal(json.statusCode, 404, 'a program asking for JSON gets the 404, not a page');
    const post = await t.app.inject({ method: 'POST', url: '/statement', headers: HTML, payload: {} });
    assert.equal(post.statusCode, 404);
    const openapi = await t.app.inject({ method: 'GET', url: '/openapi.json', headers: HTML });
    assert.equal(openapi.statusCode, 200);
    assert.match(openapi.headers['content-type'] as string, /application\/json/);
  });

  test('hashed assets are cached for a year, as immutable', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['cache-control'] as string, /max-age=31536000/);
    assert.match(res.headers['cache-control'] as string, /immutable/);
  });
});

describe('web app not built', () => {
  const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-web-empty-'));
  let t: Awaited<ReturnType<typeof serverWith>>;
  before(async () => {
    t = await serverWith(emptyDir);
  });
  after(async () => {
    await t.app.close();
    await t.ctx.close();
    await t.db.drop();
    fs.rmSync(emptyDir, { recursive: true, force: true });
  });

  test('/ says so plainly, and the API still answers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /not built.*npm run build/);
    const page = await t.app.inject({ method: 'GET', url: '/statement', headers: HTML });
    assert.equal(page.statusCode, 503);
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 200);
  });
});

test('purse openapi prints the document /openapi.json serves, with no database or data directory of its own', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-openapi-test-'));
  try {
    const out = path.join(dataDir, 'openapi.json');
    const run = purse(['openapi', '--output', out], { PURSE_DATA_DIR: path.join(dataDir, 'never-made'), LOG_LEVEL: 'silent' });
    assert.equal(run.status, 0, run.stderr);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    assert.ok('/v3/users/{id}/accounts/{reference}/balance' in doc.paths);
    assert.ok(!fs.existsSync(path.join(dataDir, 'never-made')), 'the real data directory is not touched');
    const printed = purse(['openapi'], { PURSE_DATA_DIR: path.join(dataDir, 'never-made'), LOG_LEVEL: 'silent' });
    assert.equal(printed.status, 0, printed.stderr);
    assert.deepEqual(JSON.parse(printed.stdout), doc);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

// While PostgreSQL is away every call answers 503 with Retry-After and the usual error body, never a
// 500 "connect ECONNREFUSED"; once it is back Purse recovers by itself. The outage is made by a TCP
// proxy between Purse and the server, so that other tests sharing the server are not disturbed.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

import { bootstrap } from '../../src/bootstrap.js';
import { createContext, type Context } from '../../src/context.js';
import { buildServer } from '../../src/server.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, PG_URL, bearer, createTestDatabase, testConfig, type TestDatabase } from '../helpers/harness.js';

/** A TCP proxy that can be switched off (refusing and cutting every connection) and on again. */
class SwitchableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      if (this.frozen) {
        this.sockets.add(client);
        client.pause();
        return;
      }
      const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: this.port }, resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    this.port = address.port;
    this.server = server;
  }

  /** The server stops answering without closing anything: bytes are no longer passed on. */
  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  async down(): Promise<void> {
    this.frozen = false;
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => {
      resolve();
    }));
  }
}

const describeOnPostgres = PG_URL === undefined || PG_URL === '' ? describe.skip : describe;

void describeOnPostgres('a PostgreSQL outage [postgres]', () => {
  let db: TestDatabase;
  let proxy: SwitchableProxy;
  let ctx: Context;
  let app: FastifyInstance;
  let token = '';

  const inject = (options: InjectOptions): Promise<LightMyRequestResponse> => app.inject(options);
  const listUsers = (): Promise<LightMyRequestResponse> => inject({ method: 'GET', url: '/v3/users', headers: bearer(token) });
  const createUser = (username: string): Promise<LightMyRequestResponse> =>
    inject({ method: 'POST', url: '/v3/users', headers: { ...bearer(token), 'idempotency-key': `outage-${username}` }, payload: { username } });

  before(async () => {
    db = await createTestDatabase('postgres');
    assert.equal(db.target.engine, 'postgres');
    const target = new URL(db.target.url);
    proxy = new SwitchableProxy(target.hostname, Number(target.port === '' ? 5432 : target.port));
    await proxy.up();
    target.host = `127.0.0.1:${proxy.port}`;
    ctx = await createContext(testConfig(db, { database: { engine: 'postgres', url: target.toString() }, dbPoolSize: 4, dbQueryTimeoutSeconds: 2 }));
    await bootstrap(ctx);
    app = await buildServer(ctx);
    await app.ready();
    const res = await inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET } });
    assert.equal(res.statusCode, 200, res.body);
    token = res.json<{ access_token: string }>().access_token;
  });

  after(async () => {
    await app.close();
    await ctx.close();
    await proxy.down();
    await db.drop();
  });

  test('reads, writes, the token endpoint and /ready answer 503 with Retry-After while it is down, and work again once it is back', async () => {
    assert.equal((await createUser('before-outage')).statusCode, 201);
    await proxy.down();

    const answers = [
      ['GET /v3/users', await listUsers()],
      ['POST /v3/users', await createUser('during-outage')],
      ['POST /api/auth/token', await inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, login_info: { type: 3, user: 'before-outage', pwd: 'x' } } })],
    ] as const;
    for (const [what, res] of answers) {
      assert.equal(res.statusCode, 503, `${what}: ${res.statusCode} ${res.body}`);
      assert.equal(res.headers['retry-after'], '5', what);
      assert.deepEqual(res.json(), { code: 503, message: 'the database is not reachable; try again shortly', data: [] }, what);
    }
    const ready = await inject({ method: 'GET', url: '/ready' });
    assert.equal(ready.statusCode, 503, ready.body);
    assert.equal(ready.headers['retry-after'], '5');
    assert.equal((await inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the process itself is alive');

    await proxy.up();
    const listed = await eventually(listUsers, (res) => res.statusCode === 200);
    const names = listed.json<{ users: { username: string }[] }>().users.map((u) => u.username);
    assert.ok(names.includes('before-outage'));
    assert.ok(!names.includes('during-outage'), 'a write answered 503 must not have happened');
    assert.equal((await createUser('after-outage')).statusCode, 201);
  });

  test('a frozen server (no answer, nothing closed) is a 503 after the query timeout, not a request held for ever', async () => {
    await eventually(listUsers, (res) => res.statusCode === 200);
    proxy.freeze();
    const startedMs = Date.now();
    const [read, write, ready] = await Promise.all([listUsers(), createUser('while-frozen'), inject({ method: 'GET', url: '/ready' })]);
    for (const [what, res] of [['read', read], ['write', write], ['ready', ready]] as const) {
      assert.equal(res.statusCode, 503, `${what}: ${res.statusCode} ${res.body}`);
      assert.equal(res.headers['retry-after'], '5', what);
    }
    // Generous: the timeout is 2 s; this only tells "bounded" from "held until the network returns".
    assert.ok(Date.now() - startedMs < 20_000, `answered after ${Date.now() - startedMs} ms`);
    await proxy.down();
    await proxy.up();
    await eventually(listUsers, (res) => res.statusCode === 200);
  });
});

/** Calls `fn` until `done` holds; the pool may hand out one connection that died with the outage. */
async function eventually(fn: () => Promise<LightMyRequestResponse>, done: (res: LightMyRequestResponse) => boolean): Promise<LightMyRequestResponse> {
  for (let attempt = 0; ; attempt++) {
    const res = await fn();
    if (done(res)) return res;
    assert.ok(attempt < 50, `never recovered: ${res.statusCode} ${res.body}`);
    assert.ok(res.statusCode < 500 || res.statusCode === 503, `${res.statusCode} ${res.body}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

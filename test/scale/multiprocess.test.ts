// Three real `purse serve` processes on one PostgreSQL database, clients spread over them: what
// races across processes happens exactly once, the ledger verifies, a revocation through one process
// reaches the others within 100 ms, and the failure limit counts across all three.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { createContext, type Context } from '../../src/context.js';
import { envFor, KNOWN_FIRST_START, purse, serve, type Serving } from '../helpers/cli.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, createTestDatabase, PG_URL, testConfig, type TestDatabase } from '../helpers/harness.js';

const skip = PG_URL === undefined || PG_URL === '' ? 'PURSE_TEST_DATABASE_URL is not set: several processes share PostgreSQL only, so this runs on PostgreSQL only' : false;

/**
 * How soon a change must reach every process. A notification arrives milliseconds after the commit;
 * the measure adds up to one 10 ms polling pause and one HTTP round trip on a shared, busy
 * machine, and the caches' own 1 s lifetime is ten times the bound: a process that did not hear
 * the notification fails it.
 */
const PROPAGATION_BOUND_MS = 100;
const POLL_MS = 10;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

describe('several processes on one PostgreSQL database', { skip }, () => {
  let database: TestDatabase;
  let servers: Serving[] = [];
  let admin = '';
  /** A fourth Purse process on the same database, as `purse client revoke` would be: the test itself. */
  let local: Context;

  const call = async (server: Serving | undefined, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    if (server === undefined) throw new Error('no such server');
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.url}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: the text says what happened
    }
    return { status: response.status, body, text, headers: response.headers };
  };
  /** The i-th of the three, round robin: requests spread over the processes. */
  const on = (i: number): Serving | undefined => servers[i % servers.length];
  const token = async (server: Serving | undefined, payload: Record<string, unknown>): Promise<string> => {
    const res = await call(server, 'POST', '/api/auth/token', { body: payload });
    assert.equal(res.status, 200, res.text);
    return String(res.body.access_token);
  };
  const balance = async (userId: number): Promise<number> => Number((await call(on(0), 'GET', `/v3/users/${userId}/accounts/credit/balance`, { token: admin })).body.amount);
  const newUser = async (username: string): Promise<number> => {
    const res = await call(on(0), 'POST', '/v3/users', { token: admin, body: { username, password: `${username}-password` } });
    assert.equal(res.status, 201, res.text);
    return Number(res.body.id);
  };
  const fund = async (userId: number, amount: number): Promise<void> => {
    const res = await call(on(1), 'POST', `/v3/users/${userId}/accounts/credit/recharge`, { token: admin, body: { amount } });
    assert.equal(res.status, 200, res.text);
  };
  /** The same request on every process at once, `each` times per process. */
  const everywhere = (each: number, request: (server: Serving | undefined) => Promise<Answer>): Promise<Answer[]> => Promise.all(Array.from({ length: each * servers.length }, (_, i) => request(on(i))));
  const statuses = (answers: readonly Answer[]): number[] => answers.map((a) => a.status);
  const count = (answers: readonly Answer[], status: number): number => answers.filter((a) => a.status === status).length;

  before(async () => {
    database = await createTestDatabase('postgres');
    const env = { ...envFor(database), ...KNOWN_FIRST_START, LOG_LEVEL: 'warn' };
    // The first creates the schema, the keys and the administrator; the other two join it.
    servers.push(await serve(env));
    servers.push(...(await Promise.all([serve(env), serve(env)])));
    admin = await token(on(0), { grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET });
    local = await createContext(testConfig(database));
  });

  after(async () => {
    await local.close();
    await Promise.all(servers.map((s) => s.stop()));
    servers = [];
    await database.drop();
  });

  test('the same payments committed on three processes at once, with and without one Idempotency-Key: each posts once', async () => {
    const userId = await newUser('payer');
    const base = '/v3/rechargeProviders/external/payments';
    for (let round = 0; round < 6; round++) {
      const created = await call(on(round), 'POST', base, { token: admin, body: { userId, params: { amount: 2 } } });
      assert.equal(created.status, 200, created.text);
      const id = String(created.body.id);
      const before = await balance(userId);
      const keyed = round % 2 === 0;
      const headers: Record<string, string> = keyed ? { 'idempotency-key': `commit-${id}` } : {};
      const answers = await everywhere(3, (server) => call(server, 'POST', `${base}/${id}/commit`, { token: admin, headers }));
      const firsts = answers.filter((a) => a.status === 200 && a.headers.get('idempotent-replayed') === null);
      assert.equal(firsts.length, 1, statuses(answers).join(','));
      // Without a key the others are told it is committed already; with one they replay the answer
      // (or hear 409 while the first still runs).
      if (keyed) assert.ok(answers.every((a) => a.status === 409 || (a.status === 200 && a.text === firsts[0]?.text)), statuses(answers).join(','));
      else assert.equal(count(answers, 409), answers.length - 1, statuses(answers).join(','));
      assert.equal(await balance(userId), before + 2);
    }
  });

  test('charges racing on three processes never overdraw, and one Idempotency-Key charges once', async () => {
    const userId = await newUser('spender');
    await fund(userId, 12);
    const charges = `/v3/users/${userId}/accounts/credit/charges`;
    const keyed = await everywhere(3, (server) => call(server, 'POST', charges, { token: admin, body: { amount: '1.00' }, headers: { 'idempotency-key': 'one-coffee' } }));
    const created = keyed.filter((a) => a.status === 201);
    assert.ok(created.length >= 1 && created.every((a) => a.text === created[0]?.text), statuses(keyed).join(','));
    assert.ok(keyed.every((a) => a.status === 201 || a.status === 409), statuses(keyed).join(','));
    assert.equal(await balance(userId), 11);

    const plain = await everywhere(10, (server) => call(server, 'POST', charges, { token: admin, body: { amount: '1.00' } }));
    assert.equal(count(plain, 201), 11, statuses(plain).join(','));
    assert.equal(count(plain, 402), plain.length - 11);
    assert.equal(await balance(userId), 0);
  });

  test('refunds of one charge racing on three processes never give back more than it', async () => {
    const userId = await newUser('refunded');
    await fund(userId, 5);
    const charged = await call(on(2), 'POST', `/v3/users/${userId}/accounts/credit/charges`, { token: admin, body: { amount: 5 } });
    assert.equal(charged.status, 201, charged.text);
    const answers = await everywhere(6, (server) => call(server, 'POST', `/v3/charges/${String(charged.body.id)}/refunds`, { token: admin, body: { amount: 1, reason: 'paper jam' } }));
    assert.equal(count(answers, 201), 5, statuses(answers).join(','));
    assert.equal(await balance(userId), 5);
  });

  test('one voucher redeemed on three processes at once: reserved once, credited once', async () => {
    const userId = await newUser('redeemer');
    const batch = await call(on(0), 'POST', '/v3/vouchers/batches', { token: admin, body: { quantity: 1, value: 7, validUntil: '2099-12-31' } });
    assert.equal(batch.status, 201, batch.text);
    const code = (batch.body.codes as string[])[0] ?? '';
    const base = '/v3/rechargeProviders/voucher/payments';
    const reserved = await everywhere(3, (server) => call(server, 'POST', base, { token: admin, body: { userId, params: { code } } }));
    assert.equal(count(reserved, 200), 1, statuses(reserved).join(','));
    const id = String(reserved.find((a) => a.status === 200)?.body.id);
    const committed = await everywhere(3, (server) => call(server, 'POST', `${base}/${id}/commit`, { token: admin }));
    assert.equal(count(committed, 200), 1, statuses(committed).join(','));
    assert.equal(await balance(userId), 7);
  });

  test('after the races, purse ledger verify finds every balance matching its postings', () => {
    const verified = purse(['ledger', 'verify'], envFor(database));
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^ledger verified/);
  });

  /** Polls `server` every 10 ms from `sinceMs` until `refused` says so; the milliseconds that took. */
  const untilRefused = async (server: Serving | undefined, sinceMs: number, probe: () => Promise<Answer>): Promise<number> => {
    for (;;) {
      const res = await probe();
      if (res.status === 401 || res.status === 403) return performance.now() - sinceMs;
      assert.equal(res.status, 200, `${server?.url ?? ''}: ${res.text}`);
      if (performance.now() - sinceMs > 10 * PROPAGATION_BOUND_MS) return Number.POSITIVE_INFINITY;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  test('a client revoked through one process is refused by every other within 100 ms', async () => {
    const userId = await newUser('kiosk-owner');
    const kiosk = await local.auth.createClient({ name: 'kiosk', scopes: 'credit', userId }, CLI_ACTOR);
    const kioskToken = await token(on(1), { grant_type: 'client_credentials', client_id: kiosk.id, client_secret: kiosk.secret });
    const probe = (server: Serving | undefined) => (): Promise<Answer> => call(server, 'GET', `/v3/users/${userId}/accounts/credit/balance`, { token: kioskToken });
    // Every process has just checked the client and remembers it as active.
    for (const server of servers) assert.equal((await probe(server)()).status, 200);
    await local.auth.revokeClient(kiosk.id, CLI_ACTOR);
    const revokedAtMs = performance.now();
    const delays = await Promise.all(servers.map((server) => untilRefused(server, revokedAtMs, probe(server))));
    for (const delay of delays) assert.ok(delay <= PROPAGATION_BOUND_MS, `refused after ${delays.map((d) => d.toFixed(1)).join(', ')} ms`);
  });

  test('a person deactivated through one process is refused by the other two within 100 ms', async () => {
    const userId = await newUser('leaver');
    const own = await token(on(0), { grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, login_info: { type: 3, user: 'leaver', pwd: 'leaver-password' }, scope: 'credit' });
    const probe = (server: Serving | undefined) => (): Promise<Answer> => call(server, 'GET', `/v3/users/${userId}/accounts/credit/balance`, { token: own });
    for (const server of servers) assert.equal((await probe(server)()).status, 200);
    const deactivated = await call(on(0), 'PATCH', `/v3/users/${userId}`, { token: admin, body: { isActive: false } });
    assert.equal(deactivated.status, 200, deactivated.text);
    const doneAtMs = performance.now();
    const delays = await Promise.all([on(1), on(2)].map((server) => untilRefused(server, doneAtMs, probe(server))));
    for (const delay of delays) assert.ok(delay <= PROPAGATION_BOUND_MS, `refused after ${delays.map((d) => d.toFixed(1)).join(', ')} ms`);
  });

  // Last: it blocks this address's token requests for a minute.
  test('20 wrong secrets spread over three processes: the 21st, on any of them, is a 429', async () => {
    const wrong = { grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: 'not-the-secret' };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(on(i), 'POST', '/api/auth/token', { body: wrong })));
    assert.deepEqual(statuses(answers), Array.from({ length: 20 }, () => 401));
    for (const server of servers) {
      const blocked = await call(server, 'POST', '/api/auth/token', { body: { ...wrong, client_secret: BOOT_CLIENT_SECRET } });
      assert.equal(blocked.status, 429, blocked.text);
      assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    }
  });
});

// What a write costs on PostgreSQL, where every statement the unit waits for is a round trip: the
// hot commands' statements are counted (BEGIN leaves with the first, COMMIT behind the `finish`),
// so that a change which adds one shows here rather than only in the bench.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import type { WriteUnit } from '../../src/db/index.js';
import { bearer, PG_URL, startApp, type TestApp } from '../helpers/harness.js';

/** The Tx methods that send a statement and wait for its answer; `later` only queues. */
const AWAITED = new Set(['get', 'all', 'run', 'flush', 'finish', 'notify']);

describe('round trips of the hot writes [postgres]', { skip: PG_URL === undefined || PG_URL === '' ? 'PURSE_TEST_DATABASE_URL is not set' : false }, () => {
  let t: TestApp;
  let admin: Record<string, string>;
  let userId: number;
  /** Statements waited for, per write unit run, in the order the units ran. */
  let counted: string[][] = [];

  const post = (url: string, payload: Record<string, unknown> = {}) => t.inject({ method: 'POST', url, headers: admin, payload });

  /** Runs `action` and answers the statements of each write unit it ran. */
  async function statementsOf(action: () => Promise<unknown>): Promise<string[][]> {
    counted = [];
    await action();
    return counted;
  }

  before(async () => {
    t = await startApp('postgres');
    admin = bearer(await t.adminToken());
    userId = (await t.ctx.pipeline.perform('user.create', { username: 'ann' }, CLI_ACTOR)).id;
    const db = t.ctx.db;
    const write = db.write.bind(db);
    // Every unit's Tx, seen through a proxy that notes each awaited call: the database is the real one.
    db.write = <T>(unit: WriteUnit<T>): Promise<T> =>
      write((tx) => {
        const calls: string[] = [];
        counted.push(calls);
        const seen = new Proxy(tx, {
          get(target, property, receiver) {
            const value: unknown = Reflect.get(target, property, receiver);
            if (typeof property !== 'string' || typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (AWAITED.has(property)) calls.push(property);
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
        return unit(seen);
      });
  });
  after(() => t.close());

  test("a payment's commit is one statement and its finish: state check, ceiling and posting in one", async () => {
    const created = await post('/v3/rechargeProviders/external/payments', { userId, params: { amount: 5 } });
    assert.equal(created.statusCode, 200, created.body);
    const id = created.json<{ id: string }>().id;
    const units = await statementsOf(async () => { assert.equal((await post(`/v3/rechargeProviders/external/payments/${id}/commit`)).statusCode, 200); });
    assert.deepEqual(units, [['get', 'finish']]);
    const again = await statementsOf(async () => { assert.equal((await post(`/v3/rechargeProviders/external/payments/${id}/commit`)).statusCode, 409); });
    assert.equal(again.length, 1);
    assert.equal(again[0]?.[0], 'get', 'the refusal is explained by reads after the one statement');
  });

  test("a voucher's and a card payment's commit: the same, their own marks queued with a check inside the statement", async () => {
    const batch = await post('/v3/vouchers/batches', { quantity: 1, value: 2, validUntil: '2099-12-31' });
    assert.equal(batch.statusCode, 201, batch.body);
    const card = { number: '4242424242424242', name: 'Ann Example', expiration_month: '12', expiration_year: '2030', cvv: '123' };
    for (const [provider, params] of [['voucher', { code: batch.json<{ codes: string[] }>().codes[0] }], ['card', { amount: 3, card }]] as const) {
      const created = await post(`/v3/rechargeProviders/${provider}/payments`, { userId, params });
      assert.equal(created.statusCode, 200, created.body);
      const units = await statementsOf(async () => {
        const committed = await post(`/v3/rechargeProviders/${provider}/payments/${created.json<{ id: string }>().id}/commit`);
        assert.equal(committed.statusCode, 200, committed.body);
      });
      assert.deepEqual(units, [['get', 'finish']], provider);
    }
  });

  test('creating a payment is one statement and its finish', async () => {
    const units = await statementsOf(async () => { assert.equal((await post('/v3/rechargeProviders/external/payments', { userId, params: { amount: 5 } })).statusCode, 200); });
    assert.deepEqual(units, [['get', 'finish']]);
  });

  test("a charge is one statement and its finish: the floor, the posting and the charge's row in one", async () => {
    assert.equal((await post(`/v3/users/${userId}/accounts/credit/recharge`, { amount: 10 })).statusCode, 200);
    const units = await statementsOf(async () => { assert.equal((await post(`/v3/users/${userId}/accounts/credit/charges`, { amount: 1 })).statusCode, 201); });
    assert.deepEqual(units, [['get', 'finish']]);
  });

  test("a capture is the hold's state change, then the posting with its charge, and its finish", async () => {
    const hold = await post(`/v3/users/${userId}/accounts/credit/holds`, { amount: 2 });
    assert.equal(hold.statusCode, 201, hold.body);
    const units = await statementsOf(async () => { assert.equal((await post(`/v3/holds/${hold.json<{ id: number }>().id}/capture`, { amount: 1 })).statusCode, 200); });
    assert.deepEqual(units, [['get', 'get', 'finish']]);
  });
});

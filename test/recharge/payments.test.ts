// The recharge-payment lifecycle over HTTP: the worked example of the MyQ X v3 documentation, every transition
// and its illegal twins, expiry, disabled providers, idempotency keys and the exactly-once races.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { PROVIDER_DISABLED_MESSAGE } from '../../src/recharge/commands.js';
import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface Payment {
  id: number;
  userId: number;
  amount: number;
  currency: string;
  state: string;
  created: string;
  updated: string;
  expires: string;
  paymentNo: number;
  provider: string;
  description: string;
  params?: Record<string, unknown>;
  reason?: string;
}
interface ErrorBody {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}

for (const engine of ENGINES) {
  describe(`recharge payments [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let userId: number;
    const base = '/v3/rechargeProviders/external/payments';

    const create = (body: unknown, headers: Record<string, string> = admin) => t.inject({ method: 'POST', url: base, headers, payload: body as object });
    const act = (id: number | string, verb: 'commit' | 'rollback', headers: Record<string, string> = admin, payload?: object) =>
      t.inject({ method: 'POST', url: `${base}/${id}/${verb}`, headers: { ...headers, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { payload }) });
    const get = async (id: number | string) => (await t.inject({ method: 'GET', url: `${base}/${id}`, headers: admin })).json<Payment>();
    const balance = async (uid = userId) => (await t.inject({ method: 'GET', url: `/v3/users/${uid}/accounts/credit/balance`, headers: admin })).json<{ amount: number }>().amount;
    const newPayment = async (amount: number | string = 10, uid = userId): Promise<string> => {
      const res = await create({ userId: uid, params: { amount } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ id: string }>().id;
    };
    /** Moves the clock; the admin token (1800 s) is renewed so that only payments feel the time. */
    const advance = async (ms: number) => {
      t.clock.advance(ms);
      admin = bearer(await t.adminToken());
    };
    const verifyClean = async () => {
      assert.deepEqual(await t.ctx.ledger.verify(), []);
      assert.deepEqual(await t.ctx.recharge.verify(), []);
    };

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
      userId = (await t.ctx.pipeline.perform('user.create', { username: 'jdoe', password: 'jdoe-password' }, CLI_ACTOR)).id;
    });
    after(() => t.close());
    beforeEach(verifyClean);

    test('the worked example of the MyQ X v3 documentation, verbatim: find, create 13, commit, see it in the statement', async () => {
      const found = await t.inject({ method: 'GET', url: '/v3/users/find?username=jdoe', headers: admin });
      const uid = found.json<{ users: { id: number }[] }>().users[0]?.id;
      assert.equal(uid, userId);
      const before = await balance();
      const created = await t.inject({ method: 'POST', url: base, headers: { ...admin, 'content-type': 'application/json' }, payload: `{\n"userId": ${uid},\n"params": {\n"amount": 13\n}\n}` });
      assert.equal(created.statusCode, 200);
      const body = created.json<{ id: unknown; userId: number; amount: number; params: { amount: number } }>();
      assert.equal(typeof body.id, 'string', 'id is a string, as file 000 shows');
      assert.deepEqual({ userId: body.userId, amount: body.amount, params: body.params }, { userId, amount: 13, params: { amount: 13 } });
      const committed = await t.inject({ method: 'POST', url: `${base}/${String(body.id)}/commit`, headers: admin });
      assert.equal(committed.statusCode, 200);
      assert.deepEqual(committed.json(), { amount: 13 });
      assert.equal(await balance(), before + 13);
      const statement = await t.inject({ method: 'GET', url: `/v3/users/${userId}/accounts/credit/statement?provider=external`, headers: admin });
      const entries = statement.json<{ entries: { type: string; value: number; balance: number; provider: string; paymentId: string }[] }>().entries;
      const entry = entries.find((e) => e.paymentId === body.id);
      assert.deepEqual(entry && { type: entry.type, value: entry.value, balance: entry.balance, provider: entry.provider }, { type: 'recharge', value: 13, balance: before + 13, provider: 'external' });
    });

    test('params may come as JSON text; the list shows MyQ fields', async () => {
      const res = await create({ userId, description: 'desk', params: JSON.stringify({ amount: '7.25' }) });
      assert.equal(res.statusCode, 200, res.body);
      const id = res.json<{ id: string }>().id;
      const payment = await get(id);
      assert.equal(payment.amount, 7.25);
      assert.equal(payment.currency, 'EUR');
      assert.equal(payment.state, 'created');
      assert.equal(payment.paymentNo, Number(id));
      assert.equal(Date.parse(payment.expires) - Date.parse(payment.created), 1800_000);
      const list = await t.inject({ method: 'GET', url: `${base}?userId=${userId}&state=created`, headers: admin });
      const payments = list.json<{ payments: Payment[]; count: number }>().payments;
      assert.ok(payments.some((p) => p.id === Number(id) && p.description === 'desk'));
      const keys = Object.keys(payments[0] ?? {}).sort();
      assert.deepEqual(keys, ['amount', 'created', 'currency', 'description', 'expires', 'id', 'paymentNo', 'provider', 'state', 'updated', 'userId']);
    });

    test('bad payments are 400s naming the field and leave nothing behind', async () => {
      const count = async () => (await t.inject({ method: 'GET', url: base, headers: admin })).json<{ count: number }>().count;
      const before = await count();
      const cases: [unknown, string][] = [
        [{ userId, params: {} }, 'params.amount'],
        [{ userId, params: { amount: 0 } }, 'params.amount'],
        [{ userId, params: { amount: -5 } }, 'params.amount'],
        [{ userId, params: { amount: 1.234 } }, 'params.amount'],
        [{ userId, params: { amount: '1e3' } }, 'params.amount'],
        [{ userId, params: { amount: 'NaN' } }, 'params.amount'],
        [{ userId, params: { amount: 1e15 } }, 'params.amount'],
        [{ userId, params: '{not json' }, 'params'],
        [{ userId, params: [1, 2] }, 'body.params'],
        [{ userId: 999999, params: { amount: 1 } }, 'userId'],
        [{ params: { amount: 1 } }, 'body.userId'],
        [{ userId: 'abc', params: { amount: 1 } }, 'body.userId'],
      ];
      for (const [body, field] of cases) {
        const res = await create(body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)} → ${res.body}`);
        assert.ok(res.json<ErrorBody>().data.some((d) => d.field === field), `${JSON.stringify(body)}: ${res.body}`);
      }
      assert.equal(await count(), before);
      assert.equal((await t.inject({ method: 'POST', url: '/v3/rechargeProviders/nope/payments', headers: admin, payload: { userId, params: { amount: 1 } } })).statusCode, 404);
    });

    test('update while created changes amount and description (204); commit credits the new amount', async () => {
      const id = await newPayment(5);
      const patched = await t.inject({ method: 'PATCH', url: `${base}/${id}`, headers: admin, payload: { description: 'changed', params: { amount: 6.5 } } });
      assert.equal(patched.statusCode, 204);
      assert.equal((await get(id)).amount, 6.5);
      const before = await balance();
      assert.deepEqual((await act(id, 'commit')).json(), { amount: 6.5 });
      assert.equal(await balance(), before + 6.5);
    });

    test('every transition out of created, and each illegal twin is a 409 naming the state', async () => {
      const committed = await newPayment(1);
      assert.equal((await act(committed, 'commit')).statusCode, 200);
      const rolledBack = await newPayment(1);
      const rb = await act(rolledBack, 'rollback', admin, { reason: 'customer cancelled' });
      assert.equal(rb.statusCode, 200);
      assert.equal(rb.json<Payment>().state, 'rolledBack');
      assert.equal((await get(rolledBack)).reason, 'customer cancelled');
      const expired = await newPayment(1);
      await advance(1800_000);
      assert.ok((await t.ctx.recharge.expireOverdue()) >= 1);
      assert.equal((await get(expired)).state, 'expired');

      for (const [id, state] of [[committed, 'committed'], [rolledBack, 'rolledBack'], [expired, 'expired']] as const) {
        for (const res of [await act(id, 'commit'), await act(id, 'rollback'), await t.inject({ method: 'PATCH', url: `${base}/${id}`, headers: admin, payload: { description: 'x' } })]) {
          assert.equal(res.statusCode, 409);
          assert.match(res.json<ErrorBody>().message, new RegExp(state));
        }
      }
      assert.equal((await act(999999, 'commit')).statusCode, 404);
      assert.equal((await act('abc', 'commit')).statusCode, 400);
    });

    test('a late commit fails even before the sweeper ran, and the payment is then expired', async () => {
      const before = await balance();
      const id = await newPayment(3);
      await advance(1800_000);
      const late = await act(id, 'commit');
      assert.equal(late.statusCode, 409);
      assert.match(late.json<ErrorBody>().message, /expired/);
      assert.equal((await get(id)).state, 'expired');
      assert.equal(await balance(), before);
    });

    test('a payment is found only under its own provider', async () => {
      const id = await newPayment(1);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/rechargeProviders/nope/payments/${id}`, headers: admin })).statusCode, 404);
    });

    test('a disabled provider refuses new payments with MyQ’s message verbatim and is not listed', async () => {
      const id = await newPayment(2);
      const off = await t.inject({ method: 'PATCH', url: '/v3/rechargeProviders/external', headers: admin, payload: { enabled: false } });
      assert.equal(off.statusCode, 200);
      const refused = await create({ userId, params: { amount: 1 } });
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.json<ErrorBody>().message, PROVIDER_DISABLED_MESSAGE);
      const listed = await t.inject({ method: 'GET', url: '/v3/rechargeProviders', headers: admin });
      assert.ok(!listed.json<{ providers: { reference: string }[] }>().providers.some((p) => p.reference === 'external'));
      const all = await t.inject({ method: 'GET', url: '/v3/rechargeProviders?all=true', headers: admin });
      assert.equal(all.json<{ providers: { reference: string; enabled: boolean }[] }>().providers.find((p) => p.reference === 'external')?.enabled, false);
      assert.equal((await act(id, 'commit')).statusCode, 200, 'payments already created can still be committed');
      await t.inject({ method: 'PATCH', url: '/v3/rechargeProviders/external', headers: admin, payload: { enabled: true } });
      assert.equal((await create({ userId, params: { amount: 1 } })).statusCode, 200);
    });

    test('payments need the right managePayments; a person cannot recharge themselves through external', async () => {
      const own = bearer(await t.personToken('jdoe', 'jdoe-password', 'credit'));
      assert.equal((await create({ userId, params: { amount: 100 } }, own)).statusCode, 403);
      const id = await newPayment(1);
      assert.equal((await act(id, 'commit', own)).statusCode, 403);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${userId}/accounts/credit/balance`, headers: own })).statusCode, 200, 'but reads their own balance');
      assert.equal((await t.inject({ method: 'GET', url: '/v3/users/1/accounts/credit/balance', headers: own })).statusCode, 403);
    });

    test('Idempotency-Key: a replay returns the stored response; another body with the same key is 409', async () => {
      const headers = { ...admin, 'idempotency-key': `create-${engine}-1` };
      const first = await create({ userId, params: { amount: 4 } }, headers);
      const again = await create({ userId, params: { amount: 4 } }, headers);
      assert.equal(first.statusCode, 200);
      assert.equal(again.statusCode, 200);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.body, first.body);
      const other = await create({ userId, params: { amount: 5 } }, headers);
      assert.equal(other.statusCode, 409);
      const id = first.json<{ id: string }>().id;

      const before = await balance();
      const commitHeaders = { ...admin, 'idempotency-key': `commit-${engine}-1` };
      const c1 = await act(id, 'commit', commitHeaders);
      const c2 = await act(id, 'commit', commitHeaders);
      assert.equal(c1.statusCode, 200);
      assert.equal(c2.statusCode, 200, 'a retried commit is answered from the key, not with 409');
      assert.equal(c2.headers['idempotent-replayed'], 'true');
      assert.equal(await balance(), before + 4, 'and posted once');
      assert.equal((await act(id, 'commit', { ...admin, 'idempotency-key': 'x y' })).statusCode, 400);
    });

    test('Idempotency-Key: the same key while the first request still runs is a 409, and only one effect happens', async () => {
      const headers = { ...admin, 'idempotency-key': `concurrent-${engine}` };
      const before = (await t.inject({ method: 'GET', url: base, headers: admin })).json<{ count: number }>().count;
      const results = await Promise.all(Array.from({ length: 5 }, () => create({ userId, params: { amount: 2 } }, headers)));
      const codes = results.map((r) => r.statusCode);
      assert.ok(codes.every((c) => c === 200 || c === 409), codes.join(','));
      const firsts = results.filter((r) => r.statusCode === 200 && r.headers['idempotent-replayed'] === undefined);
      assert.equal(firsts.length, 1, codes.join(','));
      assert.ok(results.filter((r) => r.statusCode === 200).every((r) => r.body === firsts[0]?.body));
      assert.equal((await t.inject({ method: 'GET', url: base, headers: admin })).json<{ count: number }>().count, before + 1);
    });

    test('50 concurrent commits of one payment: one posting, 49 × 409', async () => {
      const before = await balance();
      const id = await newPayment(1.5);
      const results = await Promise.all(Array.from({ length: 50 }, () => act(id, 'commit')));
      const codes = results.map((r) => r.statusCode);
      assert.equal(codes.filter((c) => c === 200).length, 1, codes.join(','));
      assert.equal(codes.filter((c) => c === 409).length, 49);
      assert.equal(await balance(), before + 1.5);
      await verifyClean();
    });

    test('a commit racing a rollback ends in exactly one of them', async () => {
      for (let round = 0; round < 10; round++) {
        const before = await balance();
        const id = await newPayment(2);
        const [commit, rollback] = await Promise.all([act(id, 'commit'), act(id, 'rollback', admin, { reason: 'race' })]);
        assert.deepEqual([commit.statusCode, rollback.statusCode].sort(), [200, 409]);
        const state = (await get(id)).state;
        assert.equal(state, commit.statusCode === 200 ? 'committed' : 'rolledBack');
        assert.equal(await balance(), before + (state === 'committed' ? 2 : 0));
      }
      await verifyClean();
    });

    test('the sweeper expires in bulk and leaves live payments alone', async () => {
      const stale = await Promise.all([newPayment(1), newPayment(1), newPayment(1)]);
      await advance(1000_000);
      const fresh = await newPayment(1);
      await advance(800_001);
      assert.ok((await t.ctx.recharge.expireOverdue()) >= 3);
      for (const id of stale) assert.equal((await get(id)).state, 'expired');
      assert.equal((await get(fresh)).state, 'created');
    });
  });
}

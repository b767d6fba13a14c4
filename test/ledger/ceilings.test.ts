// Ceilings: no amount past PURSE_MAX_AMOUNT, no balance past PURSE_MAX_BALANCE, no total past what
// the books can add up exactly — each a 400 naming the limit that changes nothing, on every way in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { MAX_AMOUNT_MINOR } from '../../src/money.js';
import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface ErrorBody {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}

const CARD = { number: '4242424242424242', name: 'Ann Example', expiration_month: '05', expiration_year: '2028', cvv: '321' };

/** Everything that says what the books hold, to compare before and after a refusal. */
async function books(t: TestApp): Promise<string> {
  const rows = await t.ctx.db.read((q) =>
    q.all<{ code: string; balance_minor: number; held_minor: number }>('SELECT code, balance_minor, held_minor FROM ledger_accounts ORDER BY id'),
  );
  const counts = await t.ctx.db.read((q) =>
    q.get<{ postings: number; batches: number; payments: number; gateway: number }>(
      'SELECT (SELECT COUNT(*) FROM ledger_postings) AS postings, (SELECT COUNT(*) FROM voucher_batches) AS batches, (SELECT COUNT(*) FROM recharge_payments) AS payments, (SELECT COUNT(*) FROM gateway_payments) AS gateway',
    ),
  );
  return JSON.stringify({ rows, counts });
}

function assertRefused(res: { statusCode: number; body: string }, figure: string): void {
  assert.equal(res.statusCode, 400, res.body);
  const body = JSON.parse(res.body) as ErrorBody;
  assert.ok(`${body.message} ${body.data.map((d) => d.problem).join(' ')}`.includes(figure), `${figure} is named: ${res.body}`);
}

for (const engine of ENGINES) {
  describe(`ceilings at the most an operator may set [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let ann: number;
    const bulk = (csv: string) => t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: csv });

    before(async () => {
      t = await startApp(engine, { maxAmountMinor: MAX_AMOUNT_MINOR, maxBalanceMinor: MAX_AMOUNT_MINOR, bulkMaxRows: 100_000 });
      admin = bearer(await t.adminToken());
      ann = (await t.ctx.pipeline.perform('user.create', { username: 'ann' }, CLI_ACTOR)).id;
    });
    after(() => t.close());

    test('a voucher batch worth more than the books can add up is a 400 before any code is made', async () => {
      const before = await books(t);
      const res = await t.inject({ method: 'POST', url: '/v3/vouchers/batches', headers: admin, payload: { quantity: 100_000, value: 1_000_000_000, validUntil: '2027-12-31' } });
      assertRefused(res, '10000000000000.00 EUR');
      assert.equal(res.json<ErrorBody>().data[0]?.field, 'value');
      assert.equal(await books(t), before);
      const list = await t.inject({ method: 'GET', url: '/v3/vouchers/batches', headers: admin });
      assert.equal(list.statusCode, 200, list.body);
    });

    test('a bulk recharge past one balance or past the books is a 400 that changes nothing; ledger verify stays clean', async () => {
      const before = await books(t);
      const rows = Array.from({ length: 100 }, () => 'ann;999999999.99').join('\n');
      const perPerson = await bulk(rows);
      assertRefused(perPerson, '1000000000.00 EUR');
      assert.deepEqual(perPerson.json<ErrorBody>().data.map((d) => d.field), ['line 2']);
      // In and out again: no balance passes its ceiling, but the amounts add up past what the books hold exactly.
      const churn = Array.from({ length: 10_002 }, (_, i) => `ann;${i % 2 === 0 ? '' : '-'}999999999.99`).join('\n');
      assertRefused(await bulk(churn), '10000000000000.00 EUR');
      assert.equal(await books(t), before);
      const balance = await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/balance`, headers: admin });
      assert.equal(balance.statusCode, 200, balance.body);
      const statement = await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/statement`, headers: admin });
      assert.equal(statement.statusCode, 200, statement.body);
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });

    test('a balance at the ceiling is exact, stored as an integer, and refuses one cent more', async () => {
      assert.equal((await bulk('ann;999999999.99\n')).statusCode, 200);
      assertRefused(await t.inject({ method: 'POST', url: `/v3/users/${ann}/accounts/credit/recharge`, headers: admin, payload: { amount: 0.02 } }), '1000000000.00 EUR');
      assert.equal((await t.inject({ method: 'POST', url: `/v3/users/${ann}/accounts/credit/recharge`, headers: admin, payload: { amount: 0.01 } })).statusCode, 200);
      const balance = await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/balance`, headers: admin });
      assert.deepEqual(balance.json(), { amount: 1_000_000_000, held: 0, available: 1_000_000_000 });
      if (engine === 'sqlite') {
        const types = await t.ctx.db.read((q) => q.all<{ t: string }>('SELECT DISTINCT typeof(balance_minor) AS t FROM ledger_accounts UNION SELECT DISTINCT typeof(balance_after_minor) FROM ledger_postings'));
        assert.deepEqual(types.map((r) => r.t), ['integer']);
      }
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });
  });

  describe(`configured ceilings on every way in [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let ann: number;
    let ben: number;
    const over = 100.01;
    const amountLimit = '100.00 EUR';
    const balanceLimit = '250.00 EUR';
    const post = (url: string, payload: unknown) => t.inject({ method: 'POST', url, headers: admin, payload: payload as Record<string, unknown> });
    const recharge = (uid: number, amount: unknown) => post(`/v3/users/${uid}/accounts/credit/recharge`, { amount });
    const balanceOf = async (uid: number) => (await t.inject({ method: 'GET', url: `/v3/users/${uid}/accounts/credit/balance`, headers: admin })).json<{ amount: number }>().amount;
    const bulk = (csv: string) => t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: csv });

    before(async () => {
      t = await startApp(engine, { maxAmountMinor: 100_00, maxBalanceMinor: 250_00, transfersEnabled: true });
      admin = bearer(await t.adminToken());
      ann = (await t.ctx.pipeline.perform('user.create', { username: 'ann' }, CLI_ACTOR)).id;
      ben = (await t.ctx.pipeline.perform('user.create', { username: 'ben' }, CLI_ACTOR)).id;
      assert.equal((await recharge(ann, 100)).statusCode, 200);
      assert.equal((await recharge(ben, 100)).statusCode, 200);
    });
    after(() => t.close());

    test('one amount past PURSE_MAX_AMOUNT is a 400 naming it, wherever it enters', async () => {
      const external = await post('/v3/rechargeProviders/external/payments', { userId: ann, params: { amount: 10 } });
      assert.equal(external.statusCode, 200, external.body);
      const paymentId = external.json<{ id: string }>().id;
      const charge = await post(`/v3/users/${ann}/accounts/credit/charges`, { amount: 1 });
      assert.equal(charge.statusCode, 201, charge.body);
      const hold = await post(`/v3/users/${ann}/accounts/credit/holds`, { amount: 1 });
      assert.equal(hold.statusCode, 201, hold.body);
      const gateway = await post('/api/payments', { amount: 50, payment_method: 'credit_card', additional_params: CARD });
      assert.equal(gateway.statusCode, 201, gateway.body);
      const before = await books(t);
      const attempts = {
        manual: await recharge(ann, over),
        manualNegative: await recharge(ann, -over),
        bulk: await bulk(`ann;${over}\n`),
        paymentCreate: await post('/v3/rechargeProviders/external/payments', { userId: ann, params: { amount: over } }),
        paymentUpdate: await t.inject({ method: 'PATCH', url: `/v3/rechargeProviders/external/payments/${paymentId}`, headers: admin, payload: { params: { amount: over } } }),
        card: await post('/v3/rechargeProviders/card/payments', { userId: ann, params: { amount: over, card: CARD } }),
        gatewayPayment: await post('/api/payments', { amount: over, payment_method: 'credit_card', additional_params: CARD }),
        gatewayUpdate: await t.inject({ method: 'PUT', url: `/api/payments/${gateway.json<{ payment_id: string }>().payment_id}`, headers: admin, payload: { amount: over } }),
        gatewayRefund: await post('/api/refunds', { payment_id: gateway.json<{ payment_id: string }>().payment_id, amount: over }),
        charge: await post(`/v3/users/${ann}/accounts/credit/charges`, { amount: over }),
        chargeRefund: await post(`/v3/charges/${charge.json<{ id: number }>().id}/refunds`, { amount: over, reason: 'test' }),
        hold: await post(`/v3/users/${ann}/accounts/credit/holds`, { amount: over }),
        capture: await post(`/v3/holds/${hold.json<{ id: number }>().id}/capture`, { amount: over }),
        transfer: await post(`/v3/users/${ann}/accounts/credit/transfers`, { toUserId: ben, amount: over }),
        voucher: await post('/v3/vouchers/batches', { quantity: 1, value: over, validUntil: '2027-12-31' }),
      };
      for (const [way, res] of Object.entries(attempts)) {
        assert.equal(res.statusCode, 400, `${way}: ${res.body}`);
        assert.ok(res.body.includes(amountLimit), `${way} names ${amountLimit}: ${res.body}`);
      }
      assert.equal(await books(t), before);
    });

    test('a balance past PURSE_MAX_BALANCE is a 400 naming it, however the balance would grow', async () => {
      assert.equal((await recharge(ann, 100)).statusCode, 200);
      const annBefore = await balanceOf(ann);
      const room = 250 - annBefore;
      const payment = await post('/v3/rechargeProviders/external/payments', { userId: ann, params: { amount: room + 1 } });
      assert.equal(payment.statusCode, 200, payment.body);
      const before = await books(t);
      const commit = await post(`/v3/rechargeProviders/external/payments/${payment.json<{ id: string }>().id}/commit`, {});
      assertRefused(commit, balanceLimit);
      assertRefused(await recharge(ann, room + 0.01), balanceLimit);
      assertRefused(await post(`/v3/users/${ben}/accounts/credit/transfers`, { toUserId: ann, amount: room + 1 }), balanceLimit);
      // In the bulk's own transaction: the rows alone fit, the balance they land on does not.
      const inTransaction = await bulk(`ben;1\nann;${room + 1}\n`);
      assertRefused(inTransaction, balanceLimit);
      assert.deepEqual(inTransaction.json<ErrorBody>().data.map((d) => d.field), ['line 2']);
      // Before it: one person's rows add up past the ceiling.
      const rowsAlone = await bulk('ben;1\nben;100\nben;100\nben;60\n');
      assertRefused(rowsAlone, balanceLimit);
      assert.deepEqual(rowsAlone.json<ErrorBody>().data.map((d) => d.field), ['line 4']);
      assert.equal(await books(t), before);
      assert.equal(await balanceOf(ann), annBefore);
      // Lowering a balance is never refused by the ceiling; up to it exactly is fine.
      assert.equal((await recharge(ann, -1)).statusCode, 200);
      assert.equal((await recharge(ann, room + 1)).statusCode, 200);
      assert.equal(await balanceOf(ann), 250);
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });
  });
}

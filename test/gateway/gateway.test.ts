// The payment gateway (/api/payments, /api/refunds): authorization, filters and their bad values,
// every status transition and its illegal twins, refund races, card data never kept, buying credit
// by card and MB WAY, reconciliation, and the spec's own curl examples.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ENGINES, bearer, databaseText, startApp, type TestApp } from '../helpers/harness.js';

interface GatewayPayment {
  payment_id: string;
  amount: number;
  payment_method: string;
  status: string;
  settled_at: string | null;
  settled_amount: number | null;
  created_at: string;
  decline_reason: string | null;
  additional_params?: Record<string, unknown>;
}
interface Refund {
  refund_id: string;
  payment_id: string;
  amount: number;
}
interface ErrorBody {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}

const GOOD_CARD = { number: '4242424242424242', name: 'John john', expiration_month: '05', expiration_year: '2028', cvv: '321' };
const CVVS = ['321', '987', '4321'];
const NUMBERS = ['4242424242424242', '5555555555554444', '4000000000000002', '4000000000009995'];

for (const engine of ENGINES) {
  describe(`payment gateway [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;

    const card = (overrides: Record<string, unknown> = {}) => ({ ...GOOD_CARD, ...overrides });
    const pay = (body: Record<string, unknown>) => t.inject({ method: 'POST', url: '/api/payments', headers: admin, payload: body });
    const payCard = async (amount: number, overrides: Record<string, unknown> = {}) => {
      const res = await pay({ amount, payment_method: 'credit_card', additional_params: { amount, method: 'credit_card', ...card(overrides) } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<GatewayPayment>();
    };
    const get = async (id: string) => (await t.inject({ method: 'GET', url: `/api/payments/${id}`, headers: admin })).json<GatewayPayment>();
    const put = (id: string, body: Record<string, unknown>) => t.inject({ method: 'PUT', url: `/api/payments/${id}`, headers: admin, payload: body });
    const refund = (paymentId: string, amount: unknown) => t.inject({ method: 'POST', url: '/api/refunds', headers: admin, payload: { payment_id: paymentId, amount } });
    const list = async (query: string) => t.inject({ method: 'GET', url: `/api/payments?${query}`, headers: admin });
    const reconcileClean = async () => {
      const res = await t.inject({ method: 'GET', url: '/api/reconciliation', headers: admin });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { mismatches: [], count: 0 });
      assert.deepEqual(await t.ctx.ledger.verify(), []);
      assert.deepEqual(await t.ctx.recharge.verify(), []);
    };

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
    });
    after(() => t.close());

    test('a card payment is authorized, kept masked, and never shows the CVV', async () => {
      const payment = await payCard(50);
      assert.equal(payment.status, 'success');
      assert.match(payment.payment_id, /^[A-Za-z0-9]{200}$/);
      assert.deepEqual(payment.additional_params, { payment: payment.payment_id, amount: 50, method: 'credit_card', number: '424242******4242', name: 'John john', expiration_month: '05', expiration_year: '2028' });
      const fetched = await get(payment.payment_id);
      assert.equal(fetched.additional_params?.number, '424242******4242');
      assert.equal(fetched.additional_params?.cvv, undefined);
      const listed = (await list(`payment_id=${payment.payment_id}`)).json<GatewayPayment[]>();
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.additional_params, undefined, 'the list has no additional_params');
    });

    test('MB WAY: a Portuguese mobile number, with or without +351', async () => {
      for (const phone of ['912345678', '+351 912 345 678', '00351962345678']) {
        const res = await pay({ amount: 12.5, payment_method: 'mbway', additional_params: { phone_number: phone } });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.json<GatewayPayment>().additional_params?.phone_number, phone.replace(/\D/g, '').slice(-9));
      }
      for (const phone of ['812345678', '91234567', '+44912345678', 'phone']) {
        const res = await pay({ amount: 1, payment_method: 'mbway', additional_params: { phone_number: phone } });
        assert.equal(res.statusCode, 400, phone);
        assert.equal(res.json<ErrorBody>().data[0]?.field, 'additional_params.phone_number');
      }
    });

    test('declines are deterministic by test number: status error with the reason, kept', async () => {
      for (const [overrides, reason] of [[{ number: '4000000000000002' }, 'card_declined'], [{ number: '4000000000009995' }, 'insufficient_funds']] as const) {
        const payment = await payCard(10, overrides);
        assert.equal(payment.status, 'error');
        assert.equal(payment.decline_reason, reason);
      }
      const mbway = await pay({ amount: 3, payment_method: 'mbway', additional_params: { phone_number: '911111111' } });
      assert.equal(mbway.json<GatewayPayment>().status, 'error');
      assert.equal(mbway.json<GatewayPayment>().decline_reason, 'rejected_by_user');
      assert.equal((await list('status=error')).json<GatewayPayment[]>().length, 3);
    });

    test('bad card data is a 400 naming the field, and nothing is kept', async () => {
      const before = (await list('limit=1000')).json<unknown[]>().length;
      const cases: [Record<string, unknown>, string][] = [
        [{ number: '4242424242424241' }, 'additional_params.number'],
        [{ number: '12345678901' }, 'additional_params.number'],
        [{ number: '42424242424242424242' }, 'additional_params.number'],
        [{ expiration_month: '13' }, 'additional_params.expiration_month'],
        [{ expiration_year: '2025' }, 'additional_params.expiration_year'],
        [{ expiration_year: '2025', expiration_month: '12' }, 'additional_params.expiration_year'],
        [{ expiration_year: '25', expiration_month: '12' }, 'additional_params.expiration_year'],
        [{ cvv: '12' }, 'additional_params.cvv'],
        [{ cvv: '12345' }, 'additional_params.cvv'],
        [{ name: '' }, 'additional_params.name'],
      ];
      for (const [overrides, field] of cases) {
        const res = await pay({ amount: 5, payment_method: 'credit_card', additional_params: card(overrides) });
        assert.equal(res.statusCode, 400, `${JSON.stringify(overrides)}: ${res.body}`);
        assert.ok(res.json<ErrorBody>().data.some((d) => d.field === field), `${JSON.stringify(overrides)}: ${res.body}`);
      }
      for (const [body, field] of [
        [{ amount: -5, payment_method: 'credit_card', additional_params: card() }, 'amount'],
        [{ amount: 0, payment_method: 'credit_card', additional_params: card() }, 'amount'],
        [{ amount: '1e3', payment_method: 'credit_card', additional_params: card() }, 'amount'],
        [{ amount: 5, payment_method: 'cash', additional_params: card() }, 'payment_method'],
        [{ amount: 5, payment_method: 'credit_card', additional_params: { ...card(), amount: 6 } }, 'additional_params.amount'],
        [{ amount: 5, payment_method: 'credit_card', additional_params: { ...card(), method: 'mbway' } }, 'additional_params.method'],
      ] as const) {
        const res = await pay(body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
        assert.equal(res.json<ErrorBody>().data[0]?.field, field);
      }
      assert.equal((await list('limit=1000')).json<unknown[]>().length, before);
    });

    test('every filter, and a 400 naming each bad filter value', async () => {
      const small = await payCard(20);
      const big = await payCard(500);
      await put(big.payment_id, { settled_at: '2026-01-01T12:00:00', settled_amount: 500 });
      const ids = async (query: string) => (await list(query)).json<GatewayPayment[]>().map((p) => p.payment_id);
      assert.deepEqual(await ids(`payment_id=${small.payment_id}`), [small.payment_id]);
      assert.ok((await ids('payment_method=credit_card')).includes(small.payment_id));
      assert.ok(!(await ids('payment_method=mbway')).includes(small.payment_id));
      assert.deepEqual(await ids('status=settled'), [big.payment_id]);
      assert.ok((await ids('amount_gte=500.0')).every((id) => id === big.payment_id));
      assert.ok((await ids('amount_lte=20')).includes(small.payment_id));
      assert.ok(!(await ids('amount_lte=19.99')).includes(small.payment_id));
      const created = new Date(t.clock.nowMs()).toISOString().slice(0, 19);
      assert.ok((await ids(`created_at_gte=${created}&created_at_lte=${created}`)).includes(small.payment_id), 'a zone-less time is UTC');
      assert.deepEqual(await ids('created_at_lte=2020-01-01T00:00:00'), []);
      assert.deepEqual(await ids('settled_at_gte=2026-01-01T12:00:00&settled_at_lte=2026-01-01'), []);
      assert.deepEqual(await ids('settled_at_gte=2026-01-01T12:00:00&settled_at_lte=2026-01-02'), [big.payment_id]);
      assert.equal((await ids('limit=1&offset=0')).length, 1);
      for (const [query, field] of [
        ['payment_method=cash', 'querystring.payment_method'],
        ['status=pending', 'querystring.status'],
        ['amount_gte=fifty', 'amount_gte'],
        ['amount_lte=1.234', 'amount_lte'],
        ['amount_gte=10&amount_lte=5', 'amount_gte'],
        ['created_at_gte=yesterday', 'created_at_gte'],
        ['created_at_lte=2020-13-45T00:00:00', 'created_at_lte'],
        ['settled_at_gte=0', 'settled_at_gte'],
        ['settled_at_lte=2020/01/01', 'settled_at_lte'],
        ['payment_id=not-an-id!', 'querystring.payment_id'],
        ['limit=0', 'querystring.limit'],
        ['offset=-1', 'querystring.offset'],
      ] as const) {
        const res = await list(query);
        assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
        assert.ok(res.json<ErrorBody>().data.some((d) => d.field === field), `${query}: ${res.body}`);
      }
      assert.equal((await list('colour=blue')).statusCode, 200, 'an unknown parameter is ignored, not refused');
    });

    test('settlement happens once, for at most amount − refunds; then amount and method are frozen', async () => {
      const payment = await payCard(100);
      assert.equal((await refund(payment.payment_id, 30)).statusCode, 201);
      const tooMuch = await put(payment.payment_id, { settled_at: '2026-02-01T00:00:00Z', settled_amount: 70.01 });
      assert.equal(tooMuch.statusCode, 400);
      assert.equal(tooMuch.json<ErrorBody>().data[0]?.field, 'settled_amount');
      assert.equal((await put(payment.payment_id, { settled_at: '2026-02-01T00:00:00Z' })).statusCode, 400, 'both fields or neither');
      const settled = await put(payment.payment_id, { settled_at: '2026-02-01T00:00:00Z', settled_amount: 70 });
      assert.equal(settled.statusCode, 200, settled.body);
      assert.deepEqual([settled.json<GatewayPayment>().status, settled.json<GatewayPayment>().settled_amount, settled.json<GatewayPayment>().settled_at], ['settled', 70, '2026-02-01T00:00:00.000Z']);
      assert.equal((await put(payment.payment_id, { settled_at: '2026-02-01T00:00:00Z', settled_amount: 70 })).statusCode, 200, 'the same settlement again is no change');
      assert.equal((await put(payment.payment_id, { settled_at: '2026-03-01T00:00:00Z', settled_amount: 60 })).statusCode, 409, 'settlement is one-shot');
      assert.equal((await put(payment.payment_id, { amount: 90 })).statusCode, 409);
      assert.equal((await put(payment.payment_id, { payment_method: 'mbway' })).statusCode, 409);
      const refunded = await payCard(10);
      await refund(refunded.payment_id, 1);
      assert.equal((await put(refunded.payment_id, { amount: 12 })).statusCode, 409, 'a refunded payment keeps its amount');
      const fresh = await payCard(10);
      const changed = await put(fresh.payment_id, { amount: 11, payment_method: 'credit_card', additional_params: { ...card(), amount: 11, method: 'credit_card' } });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(changed.json<GatewayPayment>().amount, 11);
      assert.equal((await put('x'.repeat(200), { amount: 1 })).statusCode, 404);
    });

    test('refunds only of success or settled payments, never above the amount', async () => {
      const payment = await payCard(20);
      const first = await refund(payment.payment_id, 15);
      assert.equal(first.statusCode, 201);
      const r = first.json<Refund>();
      assert.match(r.refund_id, /^[A-Za-z0-9]{200}$/);
      assert.equal((await refund(payment.payment_id, 5.01)).statusCode, 409);
      assert.equal((await refund(payment.payment_id, 5)).statusCode, 201);
      assert.equal((await refund(payment.payment_id, 0.01)).statusCode, 409);
      const declined = await payCard(10, { number: '4000000000000002' });
      assert.equal((await refund(declined.payment_id, 1)).statusCode, 409);
      for (const bad of [0, -1, 'x', '0.001']) assert.equal((await refund(payment.payment_id, bad)).statusCode, 400, String(bad));
      assert.equal((await refund('Z'.repeat(200), 1)).statusCode, 404);
      const byPayment = await t.inject({ method: 'GET', url: `/api/refunds?payment_id=${payment.payment_id}`, headers: admin });
      assert.deepEqual(byPayment.json<Refund[]>().map((x) => x.amount), [15, 5]);
      const byId = await t.inject({ method: 'GET', url: `/api/refunds?refund_id=${r.refund_id}`, headers: admin });
      assert.equal(byId.json<Refund[]>().length, 1);
      assert.equal((await t.inject({ method: 'GET', url: `/api/refunds/${r.refund_id}`, headers: admin })).json<Refund>().amount, 15);
      assert.equal((await t.inject({ method: 'GET', url: `/api/refunds/${'Q'.repeat(200)}`, headers: admin })).statusCode, 404);
    });

    test('a retried refund with the same Idempotency-Key refunds once', async () => {
      const payment = await payCard(30);
      const headers = { ...admin, 'idempotency-key': `refund-${engine}` };
      const first = await t.inject({ method: 'POST', url: '/api/refunds', headers, payload: { payment_id: payment.payment_id, amount: 10 } });
      const again = await t.inject({ method: 'POST', url: '/api/refunds', headers, payload: { payment_id: payment.payment_id, amount: 10 } });
      assert.equal(first.statusCode, 201);
      assert.equal(again.statusCode, 201);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.body, first.body);
      const refunds = (await t.inject({ method: 'GET', url: `/api/refunds?payment_id=${payment.payment_id}`, headers: admin })).json<Refund[]>();
      assert.equal(refunds.length, 1);
    });

    test('20 concurrent refunds that together exceed the payment: exactly those that fit succeed', async () => {
      const payment = await payCard(100);
      const results = await Promise.all(Array.from({ length: 20 }, () => refund(payment.payment_id, 7)));
      const ok = results.filter((r) => r.statusCode === 201).length;
      assert.equal(ok, 14, '14 × 7 = 98 fits, a 15th would be 105');
      assert.equal(results.filter((r) => r.statusCode === 409).length, 6);
      const refunds = (await t.inject({ method: 'GET', url: `/api/refunds?payment_id=${payment.payment_id}`, headers: admin })).json<Refund[]>();
      assert.equal(refunds.reduce((sum, r) => sum + Math.round(r.amount * 100), 0), 9800);
      await reconcileClean();
    });

    test('DELETE voids an unsettled payment without refunds, keeps it for audit; everything else 409', async () => {
      const payment = await payCard(9);
      const voided = await t.inject({ method: 'DELETE', url: `/api/payments/${payment.payment_id}`, headers: admin });
      assert.equal(voided.statusCode, 200);
      assert.equal(voided.json<GatewayPayment>().status, 'voided');
      assert.equal((await get(payment.payment_id)).status, 'voided');
      assert.ok((await list('status=voided')).json<GatewayPayment[]>().some((p) => p.payment_id === payment.payment_id));
      assert.equal((await t.inject({ method: 'DELETE', url: `/api/payments/${payment.payment_id}`, headers: admin })).statusCode, 409);
      assert.equal((await refund(payment.payment_id, 1)).statusCode, 409, 'a voided payment cannot be refunded');
      assert.equal((await put(payment.payment_id, { settled_at: '2026-01-01T00:00:00Z', settled_amount: 1 })).statusCode, 409, 'nor settled');
      const refunded = await payCard(9);
      await refund(refunded.payment_id, 1);
      assert.equal((await t.inject({ method: 'DELETE', url: `/api/payments/${refunded.payment_id}`, headers: admin })).statusCode, 409);
      const settled = await payCard(9);
      await put(settled.payment_id, { settled_at: '2026-01-01T00:00:00Z', settled_amount: 9 });
      assert.equal((await t.inject({ method: 'DELETE', url: `/api/payments/${settled.payment_id}`, headers: admin })).statusCode, 409);
      assert.equal((await t.inject({ method: 'DELETE', url: `/api/payments/${'N'.repeat(200)}`, headers: admin })).statusCode, 404);
    });

    test('buying credit by card: 402 on decline with nothing left behind; commit credits; refund takes it back', async () => {
      const buyer = await t.ctx.pipeline.perform('user.create', { username: `buyer-${engine}`, password: 'buyer-password' }, CLI_ACTOR);
      const own = bearer(await t.personToken(`buyer-${engine}`, 'buyer-password', 'credit'));
      const balance = async () => (await t.inject({ method: 'GET', url: `/v3/users/${buyer.id}/accounts/credit/balance`, headers: own })).json<{ amount: number }>().amount;
      const count = async () => (await t.inject({ method: 'GET', url: '/v3/rechargeProviders/card/payments', headers: admin })).json<{ count: number }>().count;

      const providers = (await t.inject({ method: 'GET', url: '/v3/rechargeProviders', headers: admin })).json<{ providers: { reference: string }[] }>().providers.map((p) => p.reference);
      assert.ok(providers.includes('card') && providers.includes('mbway'));

      const before = await count();
      const declined = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/card/payments', headers: admin, payload: { userId: buyer.id, params: { amount: 25, card: card({ number: '4000000000009995' }) } } });
      assert.equal(declined.statusCode, 402);
      assert.match(declined.json<ErrorBody>().message, /insufficient_funds/);
      assert.equal(await count(), before, 'no recharge payment left behind');

      const created = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/card/payments', headers: admin, payload: { userId: buyer.id, params: { amount: 25, card: card() } } });
      assert.equal(created.statusCode, 200, created.body);
      const body = created.json<{ id: string; params: { gatewayPaymentId: string; card: { number: string; cvv?: string } } }>();
      assert.equal(body.params.card.number, '424242******4242');
      assert.equal(body.params.card.cvv, undefined);
      const gatewayId = body.params.gatewayPaymentId;
      assert.equal((await refund(gatewayId, 1)).statusCode, 409, 'not refundable while the recharge is uncommitted');
      assert.equal((await put(gatewayId, { settled_at: '2026-01-01T00:00:00Z', settled_amount: 25 })).statusCode, 409, 'nor settled: the recharge may still be rolled back');
      await t.ctx.pipeline.perform('gateway.settleBefore', { cutoffMs: t.clock.nowMs() + 1 }, CLI_ACTOR);
      assert.equal((await get(gatewayId)).status, 'success', 'the settle command leaves it alone too');
      assert.equal((await t.inject({ method: 'POST', url: `/v3/rechargeProviders/card/payments/${body.id}/commit`, headers: admin })).statusCode, 200);
      assert.equal(await balance(), 25);
      await reconcileClean();

      const partial = await refund(gatewayId, 10);
      assert.equal(partial.statusCode, 201);
      assert.equal(await balance(), 15, 'the refund took the credit back');
      const statement = await t.inject({ method: 'GET', url: `/v3/users/${buyer.id}/accounts/credit/statement?type=refund`, headers: own });
      assert.deepEqual(statement.json<{ entries: { value: number; provider: string }[] }>().entries.map((e) => [e.value, e.provider]), [[-10, 'card']]);
      await t.inject({ method: 'POST', url: `/v3/users/${buyer.id}/accounts/credit/recharge`, headers: admin, payload: { amount: -10 } });
      const tooLow = await refund(gatewayId, 10);
      assert.equal(tooLow.statusCode, 409, 'only 5 of credit left');
      assert.match(tooLow.json<ErrorBody>().message, /balance is too low/);
      assert.equal((await get(gatewayId)).status, 'success');
      const refundsOf = (await t.inject({ method: 'GET', url: `/api/refunds?payment_id=${gatewayId}`, headers: admin })).json<Refund[]>();
      assert.equal(refundsOf.length, 1, 'the refused refund left nothing');
      assert.equal((await t.inject({ method: 'DELETE', url: `/api/payments/${gatewayId}`, headers: admin })).statusCode, 409);
      await reconcileClean();
    });

    test('buying credit by MB WAY; rollback and expiry void the gateway payment', async () => {
      const buyer = await t.ctx.pipeline.perform('user.create', { username: `mbway-${engine}` }, CLI_ACTOR);
      const create = (phone: string) => t.inject({ method: 'POST', url: '/v3/rechargeProviders/mbway/payments', headers: admin, payload: { userId: buyer.id, params: { amount: '7.50', phone_number: phone } } });
      const declined = await create('911111111');
      assert.equal(declined.statusCode, 402);
      const ok = await create('+351912345678');
      assert.equal(ok.statusCode, 200, ok.body);
      const { id, params } = ok.json<{ id: string; params: { gatewayPaymentId: string; phone_number: string } }>();
      assert.equal(params.phone_number, '912345678');
      assert.equal((await t.inject({ method: 'POST', url: `/v3/rechargeProviders/mbway/payments/${id}/commit`, headers: admin })).statusCode, 200);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${buyer.id}/accounts/credit/balance`, headers: admin })).json<{ amount: number }>().amount, 7.5);

      const rolled = (await create('912345678')).json<{ id: string; params: { gatewayPaymentId: string } }>();
      await t.inject({ method: 'POST', url: `/v3/rechargeProviders/mbway/payments/${rolled.id}/rollback`, headers: admin, payload: { reason: 'changed mind' } });
      assert.equal((await get(rolled.params.gatewayPaymentId)).status, 'voided');

      const stale = (await create('912345678')).json<{ id: string; params: { gatewayPaymentId: string } }>();
      t.clock.advance(1800_000);
      admin = bearer(await t.adminToken());
      await t.ctx.recharge.expireOverdue();
      assert.equal((await get(stale.params.gatewayPaymentId)).status, 'voided');
      await reconcileClean();
    });

    test('purse gateway settle and reconcile', async () => {
      const payment = await payCard(40);
      await refund(payment.payment_id, 15);
      t.clock.advance(1000);
      admin = bearer(await t.adminToken());
      const settledNow = (await t.ctx.pipeline.perform('gateway.settleBefore', { cutoffMs: t.clock.nowMs() }, CLI_ACTOR)).count;
      assert.ok(settledNow >= 1);
      const settled = await get(payment.payment_id);
      assert.deepEqual([settled.status, settled.settled_amount], ['settled', 25]);
      const env = { ...process.env, PURSE_DATA_DIR: t.db.dataDir, LOG_LEVEL: 'silent', DATABASE_URL: t.db.target.engine === 'sqlite' ? `sqlite:${t.db.target.file}` : t.db.target.url };
      const reconcile = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'gateway', 'reconcile'], { env, encoding: 'utf8' });
      assert.equal(reconcile.status, 0, reconcile.stdout + reconcile.stderr);
      assert.match(reconcile.stdout, /reconciled/);
      const settle = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'gateway', 'settle', '--before', '2000-01-01'], { env, encoding: 'utf8' });
      assert.match(settle.stdout, /settled 0 payments created before 2000-01-01T00:00:00.000Z/);
      // Tampering with the books is found.
      await t.ctx.db.write((tx) => tx.run('UPDATE gateway_payments SET refunded_minor = refunded_minor + 1 WHERE payment_id = ?', [payment.payment_id]));
      const dirty = await t.inject({ method: 'GET', url: '/api/reconciliation', headers: admin });
      const problems = dirty.json<{ mismatches: { payment_id: string; problem: string }[] }>().mismatches;
      assert.ok(problems.length >= 1 && problems.every((m) => m.payment_id === payment.payment_id), JSON.stringify(problems));
      assert.ok(problems.some((m) => /refunds do not add up/.test(m.problem)));
      const failing = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'gateway', 'reconcile'], { env, encoding: 'utf8' });
      assert.equal(failing.status, 1);
      await t.ctx.db.write((tx) => tx.run('UPDATE gateway_payments SET refunded_minor = refunded_minor - 1 WHERE payment_id = ?', [payment.payment_id]));
      await reconcileClean();
    });

    test('the spec’s curl examples, with only an Authorization header added', async () => {
      const specId = 'SSUARQXWKPDJSTTGEPVRTEONTPDBQSUXOVRJTBGXWNCTGBBBJLEUKDUPNCZDPELHRUISCDEMMWRQNXBEKPQJCFWWASQOMCYALVAHFPFCVDTOJXODEMDLJRDDECVDAUZEMDVLLNJYJPSAYXRBLCTSYGLBWKUAEOWKWOANLLAJWMIBPXTHVPWZAETCEBPSEZZYLVQTSTSM';
      const refundId = 'pW30g8efRUrbR3ly6ZxW5KkQVWuCzyhdfsDEePLCJaAquXFDqNGc29iM59UtbakCL1UuURpPyZlcDIuOuE9m40B5n3XqTWh1FHfTZLT6CGCFfikANe6yo09I9CI4UFwiT393rV8MBI7Xh3oVj4LaCK52ITqY7AipZnOOG0sgfPKV0oRmia0yPgn51SFsNIf3VxSl0UxB';
      const json = { ...admin, accept: 'application/json', 'content-type': 'application/json' };
      const listed = await t.inject({ method: 'GET', url: '/api/payments?payment_id=TEST&payment_method=credit_card&status=settled&amount_gte=50.0&amount_lte=500.0&created_at_gte=2020-01-01T00:00:00&created_at_lte=2021-01-01T00:00:00&settled_at_gte=2020-01-01T00:00:00&settled_at_lte=2021-01-01T00:00:00', headers: { ...admin, accept: 'application/json' } });
      assert.equal(listed.statusCode, 200);
      assert.deepEqual(listed.json(), []);
      assert.equal((await t.inject({ method: 'GET', url: `/api/payments/${specId}`, headers: admin })).statusCode, 404, 'not {} with 200');
      // The spec's card number fails the Luhn check: refused with a 400 naming it, nothing stored.
      const specBody = '{"amount":50.0,"payment_method":"credit_card","additional_params":{"amount":50,"method":"credit_card","number":"1234567890123456","name":"John john","expiration_month":"05","expiration_year":"2028","cvv":"321"}}';
      const created = await t.inject({ method: 'POST', url: '/api/payments', headers: json, payload: specBody });
      assert.equal(created.statusCode, 400);
      assert.equal(created.json<ErrorBody>().data[0]?.field, 'additional_params.number');
      // The same body with a valid test card: created, number masked, no CVV.
      const valid = await t.inject({ method: 'POST', url: '/api/payments', headers: json, payload: specBody.replace('1234567890123456', '4242424242424242') });
      assert.equal(valid.statusCode, 201);
      const payment = valid.json<GatewayPayment>();
      assert.equal(payment.additional_params?.number, '424242******4242');
      assert.equal(payment.additional_params?.cvv, undefined);
      const putBody = `{"amount":50.0,"payment_method":"credit_card","additional_params":{"payment":"${payment.payment_id}","amount":50,"method":"credit_card","number":"4242424242424242","name":"John john","expiration_month":"05","expiration_year":"2028","cvv":"321"}}`;
      const updated = await t.inject({ method: 'PUT', url: `/api/payments/${payment.payment_id}`, headers: json, payload: putBody });
      assert.equal(updated.statusCode, 200, updated.body);
      assert.equal(updated.json<GatewayPayment>().additional_params?.number, '424242******4242');
      assert.equal((await t.inject({ method: 'PUT', url: `/api/payments/${specId}`, headers: json, payload: putBody })).statusCode, 404);
      const refunded = await t.inject({ method: 'POST', url: '/api/refunds', headers: json, payload: `{"amount":20.0,"payment_id":"${payment.payment_id}"}` });
      assert.equal(refunded.statusCode, 201);
      assert.deepEqual({ ...refunded.json<Refund>(), refund_id: '' }, { refund_id: '', payment_id: payment.payment_id, amount: 20, created_at: refunded.json<{ created_at: string }>().created_at });
      assert.equal((await t.inject({ method: 'POST', url: '/api/refunds', headers: json, payload: `{"amount":20.0,"payment_id":"${specId}"}` })).statusCode, 404);
      const refunds = await t.inject({ method: 'GET', url: `/api/refunds?payment_id=TEST&refund_id=${refundId}`, headers: { ...admin, accept: 'application/json' } });
      assert.deepEqual(refunds.json(), []);
      assert.equal((await t.inject({ method: 'GET', url: `/api/refunds/${refundId}`, headers: admin })).statusCode, 404);
      assert.equal((await t.inject({ method: 'DELETE', url: `/api/payments/${specId}`, headers: { ...admin, accept: 'application/json' } })).statusCode, 404);
      assert.equal((await t.inject({ method: 'DELETE', url: `/api/payments/${payment.payment_id}`, headers: admin })).statusCode, 409, 'refunded: no voiding');
    });

    test('no CVV and no full card number anywhere: database files, tables, logs', async () => {
      for (const [i, number] of NUMBERS.entries()) await payCard(1 + i, { number, cvv: CVVS[i % CVVS.length] });
      const buyer = await t.ctx.pipeline.perform('user.create', { username: `scan-${engine}` }, CLI_ACTOR);
      const url = '/v3/rechargeProviders/card/payments';
      const payload = { userId: buyer.id, params: { amount: 5, card: card({ number: '5555555555554444', cvv: '4321' }) } };
      const bought = await t.inject({ method: 'POST', url, headers: { ...admin, 'idempotency-key': `scan-${engine}` }, payload });
      assert.equal(bought.statusCode, 200);
      // The idempotency fingerprint of that command is a keyed hash: a plain one could be brute-forced back to the card.
      const plain = crypto.createHash('sha256').update(`payment.create\n${canonical({ reference: 'card', ...payload })}`).digest('hex');
      const fingerprints = await t.ctx.db.read((q) => q.all<{ fingerprint: string }>('SELECT fingerprint FROM idempotency_records'));
      assert.ok(fingerprints.length > 0 && fingerprints.every((f) => f.fingerprint !== plain));
      const text = await databaseText(t);
      const logs = t.logs.text;
      assert.ok(text.length > 1000 && logs.length > 1000);
      for (const secret of [...NUMBERS, ...CVVS.map((cvv) => `"${cvv}"`)]) {
        assert.ok(!text.includes(secret), `${secret} is in the database`);
        assert.ok(!logs.includes(secret), `${secret} is in the logs`);
      }
      assert.ok(!/"cvv"/.test(text), 'no cvv field stored');
    });
  });
}

/** JSON with keys sorted, as the pipeline writes a command's input before hashing it. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

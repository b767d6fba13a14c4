// Credit: balances and the statement after mixed sequences (JSON and CSV), manual recharges and
// their floor, bulk recharge atomicity, ledger verification.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { parse } from 'csv-parse/sync';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface Entry {
  id: number;
  date: string;
  type: string;
  balance: number;
  value: number;
  provider: string;
  paymentId: string | null;
  description: string;
}
interface ErrorBody {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}

for (const engine of ENGINES) {
  describe(`credit and statement [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let ann: number;
    let ben: number;

    const recharge = (uid: number, amount: unknown, description = '') =>
      t.inject({ method: 'POST', url: `/v3/users/${uid}/accounts/credit/recharge`, headers: admin, payload: { amount, description } });
    const balance = async (uid: number) => (await t.inject({ method: 'GET', url: `/v3/users/${uid}/accounts/credit/balance`, headers: admin })).json<{ amount: number }>().amount;
    const statement = async (uid: number, query = '') => (await t.inject({ method: 'GET', url: `/v3/users/${uid}/accounts/credit/statement${query}`, headers: admin })).json<{ entries: Entry[]; count: number }>();
    const bulk = (csv: string) => t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: csv });
    const externalRecharge = async (uid: number, amount: number) => {
      const created = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers: admin, payload: { userId: uid, params: { amount } } });
      const id = created.json<{ id: string }>().id;
      assert.equal((await t.inject({ method: 'POST', url: `/v3/rechargeProviders/external/payments/${id}/commit`, headers: admin })).statusCode, 200);
      return id;
    };

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
      ann = (await t.ctx.pipeline.perform('user.create', { username: 'ann' }, CLI_ACTOR)).id;
      ben = (await t.ctx.pipeline.perform('user.create', { username: 'ben' }, CLI_ACTOR)).id;
    });
    after(() => t.close());

    test('a new person has one credit account at zero', async () => {
      const accounts = await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts`, headers: admin });
      const rechargeProviders = [
        { name: 'External Payment Providers', reference: 'external' },
        { name: 'Card', reference: 'card' },
        { name: 'MB WAY', reference: 'mbway' },
        { name: 'Voucher', reference: 'voucher' },
      ];
      assert.deepEqual(accounts.json(), { credit: { enabled: true }, accounts: [{ name: 'Credit', reference: 'credit', type: 'credit', rechargeProviders }] });
      assert.equal(await balance(ann), 0);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/savings/balance`, headers: admin })).statusCode, 404);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/users/999999/accounts/credit/balance', headers: admin })).statusCode, 404);
    });

    test('mixed sequence: the statement shows every entry with the balance after it', async () => {
      const payment = await externalRecharge(ann, 13);
      assert.equal((await recharge(ann, '2.50', 'bonus')).statusCode, 200);
      const lowered = await recharge(ann, -5.5, 'correction');
      assert.equal(lowered.statusCode, 200);
      assert.deepEqual(lowered.json<{ amount: number; balance: number }>().balance, 10);
      await externalRecharge(ann, 0.1);
      await externalRecharge(ann, 0.2);
      assert.equal(await balance(ann), 10.3, '0.1 + 0.2 is exactly 0.3 here');
      const { entries, count } = await statement(ann);
      assert.equal(count, 5);
      assert.deepEqual(entries.map((e) => [e.type, e.provider, e.value, e.balance]), [
        ['recharge', 'external', 13, 13],
        ['manual', 'manual', 2.5, 15.5],
        ['manual', 'manual', -5.5, 10],
        ['recharge', 'external', 0.1, 10.1],
        ['recharge', 'external', 0.2, 10.3],
      ]);
      assert.equal(entries[0]?.paymentId, payment);
      assert.equal(entries[1]?.description, 'bonus');
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });

    test('statement filters: provider, type, dates, paging', async () => {
      assert.equal((await statement(ann, '?provider=manual')).count, 2);
      assert.equal((await statement(ann, '?type=recharge')).count, 3);
      const page = await statement(ann, '?limit=2&start=1');
      assert.deepEqual(page.entries.map((e) => e.value), [2.5, -5.5]);
      assert.equal(page.count, 5);
      const now = new Date(t.clock.nowMs()).toISOString();
      assert.equal((await statement(ann, `?from=${now}`)).count, 5);
      t.clock.advance(60_000);
      admin = bearer(await t.adminToken());
      await recharge(ann, 1);
      assert.equal((await statement(ann, `?from=${new Date(t.clock.nowMs()).toISOString()}`)).count, 1);
      assert.equal((await statement(ann, `?to=${now}`)).count, 5);
      const leap = await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/statement?from=2026-12-31T23:59:60Z`, headers: admin });
      assert.equal(leap.statusCode, 400, 'a leap second is valid date-time syntax but not a time Date can read');
      const bad = await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/statement?from=yesterday`, headers: admin });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json<ErrorBody>().data[0]?.field, 'querystring.from');
    });

    test('the statement as CSV has the same entries', async () => {
      const res = await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/statement`, headers: { ...admin, accept: 'text/csv' } });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      const rows = parse<Record<string, string>>(res.body, { columns: true });
      const json = await statement(ann);
      assert.equal(rows.length, json.count);
      assert.deepEqual(rows.map((r) => [r.type, Number(r.value), Number(r.balance), r.provider]), json.entries.map((e) => [e.type, e.value, e.balance, e.provider]));
      const missing = await t.inject({ method: 'GET', url: '/v3/users/999999/accounts/credit/statement', headers: { ...admin, accept: 'text/csv' } });
      assert.equal(missing.statusCode, 404);
    });

    test('a negative recharge never takes the credit below zero; bad amounts are 400s', async () => {
      const before = await balance(ben);
      const res = await recharge(ben, -0.01);
      assert.equal(res.statusCode, 409);
      assert.equal(res.json<ErrorBody>().data[0]?.field, 'amount');
      for (const amount of [0, '1.001', 'ten', null, 1e20, '1e2']) {
        const bad = await recharge(ben, amount);
        assert.equal(bad.statusCode, 400, `${String(amount)}: ${bad.body}`);
      }
      assert.equal(await balance(ben), before);
      assert.equal((await statement(ben)).count, 0);
    });

    test('20 concurrent withdrawals of 1 from a balance of 10: exactly 10 succeed, never below zero', async () => {
      const carl = (await t.ctx.pipeline.perform('user.create', { username: 'carl' }, CLI_ACTOR)).id;
      await recharge(carl, 10);
      const results = await Promise.all(Array.from({ length: 20 }, () => recharge(carl, -1)));
      assert.equal(results.filter((r) => r.statusCode === 200).length, 10);
      assert.equal(results.filter((r) => r.statusCode === 409).length, 10);
      assert.equal(await balance(carl), 0);
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });

    test('bulk recharge: semicolons or commas, optional header, all rows posted', async () => {
      const a0 = await balance(ann);
      const b0 = await balance(ben);
      const res = await bulk('user;amount\nann;1.50\nBEN;2\n\nben;3\n');
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { count: 3, total: 6.5 });
      assert.equal(await balance(ann), a0 + 1.5);
      assert.equal(await balance(ben), b0 + 5);
      const commas = await bulk('ann,1\nben,1');
      assert.deepEqual(commas.json(), { count: 2, total: 2 });
    });

    test('a retried bulk recharge with the same Idempotency-Key posts once', async () => {
      const a0 = await balance(ann);
      const send = () => t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv', 'idempotency-key': `bulk-${engine}` }, payload: 'ann;5\n' });
      const first = await send();
      const again = await send();
      assert.equal(first.statusCode, 200);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(await balance(ann), a0 + 5);
    });

    test('bulk recharge is all or none, and reports every bad row with its line number', async () => {
      const a0 = await balance(ann);
      const res = await bulk('ann;5\nnobody;1\nben;abc\nben\nann;1;2\nben;0\n');
      assert.equal(res.statusCode, 400);
      const data = res.json<ErrorBody>().data;
      assert.deepEqual(data.map((d) => d.field).sort(), ['line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
      assert.equal(await balance(ann), a0, 'the good row was not posted either');
      // A row that would overdraw fails the whole file at posting time.
      const overdraw = await bulk(`ann;5\nben;-${(await balance(ben)) + 1}\n`);
      assert.equal(overdraw.statusCode, 409);
      assert.match(overdraw.json<ErrorBody>().message, /line 2/);
      assert.equal(await balance(ann), a0);
      assert.equal((await bulk('')).statusCode, 400);
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });

    test('manual recharge needs rechargeCredit; reading another’s statement needs manageUsers or managePayments', async () => {
      const clerk = await t.ctx.pipeline.perform('user.create', { username: 'clerk', password: 'clerk-password', rights: ['managePayments'] }, CLI_ACTOR);
      const asClerk = bearer(await t.personToken('clerk', 'clerk-password', 'credit'));
      assert.equal((await t.inject({ method: 'POST', url: `/v3/users/${ann}/accounts/credit/recharge`, headers: asClerk, payload: { amount: 1 } })).statusCode, 403);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/statement`, headers: asClerk })).statusCode, 200);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${clerk.id}/accounts/credit/statement`, headers: asClerk })).statusCode, 200);
    });

    test('ledger verify finds a tampered balance', async () => {
      assert.deepEqual(await t.ctx.ledger.verify(), []);
      await t.ctx.db.write((tx) => tx.run("UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE code = ?", [`user:${ann}:credit`]));
      const problems = await t.ctx.ledger.verify();
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', new RegExp(`user:${ann}:credit: stored balance`));
      await t.ctx.db.write((tx) => tx.run("UPDATE ledger_accounts SET balance_minor = balance_minor - 1 WHERE code = ?", [`user:${ann}:credit`]));
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });
  });
}

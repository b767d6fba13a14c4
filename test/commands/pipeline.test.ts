// The write pipeline on both engines: a refusal stored under its Idempotency-Key and answered again
// without a second effect; an event and an audit entry in the transaction of every change and none
// for a change undone; concurrent PATCHes that keep both changes; the actor re-read inside the
// transaction.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR, type Actor } from '../../src/auth/principal.js';
import type { Right } from '../../src/auth/scopes.js';
import { APP_VARIANTS_WITH_LOOP_WRITER, BOOT_CLIENT_ID, bearer, startApp, type TestApp } from '../helpers/harness.js';

const DECLINED_CARD = { number: '4000000000000002', name: 'Dee Klein', expiration_month: '12', expiration_year: '2030', cvv: '123' };

for (const variant of APP_VARIANTS_WITH_LOOP_WRITER) {
  const { engine } = variant;
  // The units run on SQLite's writer thread, out of a spy's reach here: the loop's variant counts them.
  const unitsInReach = variant.engine === 'postgres' || variant.overrides.sqliteWriter === 'loop';
  describe(`write pipeline [${variant.name}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let userId: number;

    const count = async (sql: string, params: (string | number)[] = []): Promise<number> =>
      (await t.ctx.db.read((q) => q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${sql}`, params)))?.n ?? -1;
    const eventTypes = async (afterId: number): Promise<string[]> =>
      (await t.ctx.db.read((q) => q.all<{ type: string }>('SELECT type FROM events WHERE id > ? ORDER BY id', [afterId]))).map((r) => r.type);
    const lastEventId = async (): Promise<number> => (await t.ctx.db.read((q) => q.get<{ n: number | null }>('SELECT MAX(id) AS n FROM events')))?.n ?? 0;

    before(async () => {
      t = await startApp(engine, variant.overrides);
      admin = bearer(await t.adminToken());
      userId = (await t.ctx.pipeline.perform('user.create', { username: 'pipe', password: 'pipe-password' }, CLI_ACTOR)).id;
    });
    after(() => t.close());

    test('a declined card retried three times with one key leaves one gateway payment and answers the same 402', async () => {
      const payments = await count('gateway_payments');
      const headers = { ...admin, 'idempotency-key': `declined-${engine}` };
      const payload = { userId, params: { amount: 7, card: DECLINED_CARD } };
      const answers: Awaited<ReturnType<TestApp['inject']>>[] = [];
      for (let i = 0; i < 3; i++) answers.push(await t.inject({ method: 'POST', url: '/v3/rechargeProviders/card/payments', headers, payload }));
      assert.deepEqual(answers.map((a) => a.statusCode), [402, 402, 402]);
      assert.deepEqual(answers.map((a) => a.headers['idempotent-replayed']), [undefined, 'true', 'true']);
      assert.ok(answers.every((a) => a.body === answers[0]?.body), 'the same answer each time');
      assert.equal(await count('gateway_payments'), payments + 1, 'one declined gateway payment');
      assert.equal(await count("gateway_payments WHERE status = 'error' AND decline_reason = 'card_declined'"), 1);
      assert.equal(await count("events WHERE type = 'gateway.payment.declined'"), 1);
      // Without a key every try is a new request, and each decline is kept.
      const unkeyed = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/card/payments', headers: admin, payload });
      assert.equal(unkeyed.statusCode, 402);
      assert.equal(await count('gateway_payments'), payments + 2);
    });

    test('a declined card on a disabled provider is the provider’s 409, and no decline is kept', async () => {
      const payments = await count('gateway_payments');
      await t.inject({ method: 'PATCH', url: '/v3/rechargeProviders/card', headers: admin, payload: { enabled: false } });
      const refused = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/card/payments', headers: admin, payload: { userId, params: { amount: 7, card: DECLINED_CARD } } });
      await t.inject({ method: 'PATCH', url: '/v3/rechargeProviders/card', headers: admin, payload: { enabled: true } });
      assert.equal(refused.statusCode, 409);
      assert.match(refused.json<{ message: string }>().message, /Payment provider is disabled/);
      assert.equal(await count('gateway_payments'), payments);
    });

    test('every state change writes its event and audit entry in its own transaction', async () => {
      const from = await lastEventId();
      const audits = await count('audit_log');
      const created = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers: admin, payload: { userId, params: { amount: 3 } } });
      const id = created.json<{ id: string }>().id;
      await t.inject({ method: 'PATCH', url: `/v3/rechargeProviders/external/payments/${id}`, headers: admin, payload: { description: 'lunch' } });
      await t.inject({ method: 'POST', url: `/v3/rechargeProviders/external/payments/${id}/commit`, headers: admin });
      await t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/recharge`, headers: admin, payload: { amount: 2 } });
      await t.inject({ method: 'PATCH', url: '/v3/rechargeProviders/external', headers: admin, payload: { enabled: false } });
      await t.inject({ method: 'PATCH', url: '/v3/rechargeProviders/external', headers: admin, payload: { enabled: true } });
      await t.inject({ method: 'PATCH', url: `/v3/users/${userId}`, headers: admin, payload: { isActive: false } });
      await t.inject({ method: 'PATCH', url: `/v3/users/${userId}`, headers: admin, payload: { isActive: true } });
      assert.deepEqual(await eventTypes(from), [
        'payment.created',
        'payment.updated',
        'payment.committed',
        'recharge.manual',
        'provider.disabled',
        'provider.enabled',
        'user.updated',
        'user.deactivated',
        'user.updated',
      ]);
      assert.equal(await count('audit_log'), audits + 8, 'one audit entry per command');
      const committed = await t.ctx.db.read((q) => q.get<{ subject: string; data: string }>("SELECT subject, data FROM events WHERE type = 'payment.committed' AND id > ?", [from]));
      assert.equal(committed?.subject, `payment:${id}`);
      assert.deepEqual(JSON.parse(committed?.data ?? '{}'), { ...JSON.parse((await t.inject({ method: 'GET', url: `/v3/rechargeProviders/external/payments/${id}`, headers: admin })).body) });
    });

    test('a change that is undone leaves no event and no audit entry', async () => {
      const from = await lastEventId();
      const audits = await count('audit_log');
      const poor = (await t.ctx.pipeline.perform('user.create', { username: `poor-${engine}` }, CLI_ACTOR)).id;
      const base = await lastEventId();
      // Taking credit that is not there: refused by the ledger, the whole command undone.
      const refused = await t.inject({ method: 'POST', url: `/v3/users/${poor}/accounts/credit/recharge`, headers: admin, payload: { amount: -5 } });
      assert.equal(refused.statusCode, 409);
      // Bulk: the second row fails after the first was posted inside the same transaction.
      const bulk = await t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: `pipe;4\npoor-${engine};-1\n` });
      assert.equal(bulk.statusCode, 409);
      assert.deepEqual(await eventTypes(base), []);
      assert.deepEqual(await eventTypes(from), ['user.created']);
      assert.equal(await count('audit_log'), audits + 1);
      assert.equal(await count('ledger_transactions WHERE description = ?', ['bulk recharge, line 1']), 0);
    });

    test('two concurrent PATCHes of one payment, one of its description and one of its params, both survive', async () => {
      for (let round = 0; round < 10; round++) {
        const created = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers: admin, payload: { userId, description: 'before', params: { amount: 1 } } });
        const id = created.json<{ id: string }>().id;
        const url = `/v3/rechargeProviders/external/payments/${id}`;
        const answers = await Promise.all([
          t.inject({ method: 'PATCH', url, headers: admin, payload: { description: `after ${round}` } }),
          t.inject({ method: 'PATCH', url, headers: admin, payload: { params: { amount: 9 } } }),
        ]);
        assert.deepEqual(answers.map((a) => a.statusCode), [204, 204]);
        const payment = (await t.inject({ method: 'GET', url, headers: admin })).json<{ description: string; amount: number }>();
        assert.deepEqual([payment.description, payment.amount], [`after ${round}`, 9], `round ${round}`);
      }
    });

    test('a right taken away is taken away for the very next command, whatever the token says', async () => {
      const clerk = await t.ctx.pipeline.perform('user.create', { username: `clerk-${engine}`, password: 'clerk-password', rights: ['rechargeCredit'] }, CLI_ACTOR);
      const headers = bearer(await t.personToken(`clerk-${engine}`, 'clerk-password', 'credit'));
      const recharge = () => t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/recharge`, headers, payload: { amount: 1 } });
      assert.equal((await recharge()).statusCode, 200);
      await t.ctx.pipeline.perform('user.update', { id: clerk.id, rights: [] }, CLI_ACTOR);
      assert.equal((await recharge()).statusCode, 403);
      const actors = await t.ctx.db.read((q) => q.all<{ actor_user_id: number }>("SELECT actor_user_id FROM audit_log WHERE action = 'credit.recharge' AND actor_user_id = ?", [clerk.id]));
      assert.equal(actors.length, 1, 'the refused try changed nothing and wrote no audit entry');
    });

    test('the rights a command was authorized with are checked again by its last statement', async () => {
      const clerk = await t.ctx.pipeline.perform('user.create', { username: `stale-${engine}`, password: 'stale-password', rights: ['rechargeCredit', 'manageUsers'] }, CLI_ACTOR);
      const setStored = (column: 'rights' | 'active', value: string | number) => t.ctx.db.write((tx) => tx.run(`UPDATE users SET ${column} = ? WHERE id = ?`, [value, clerk.id]));
      const asClerk = (rights: Right[]): Actor => ({ kind: 'person', userId: clerk.id, clientId: BOOT_CLIENT_ID, familyId: null, scopes: ['credit'], rights });
      const recharge = (actor: Actor) => t.ctx.pipeline.execute({ name: 'credit.recharge', input: { userId, reference: 'credit', amount: 1, description: '' }, actor, atMs: t.clock.nowMs() });
      const balance = async () => (await t.ctx.db.read((q) => q.get<{ b: number }>("SELECT balance_minor AS b FROM ledger_accounts WHERE user_id = ? AND reference = 'credit'", [userId])))?.b;
      const audited = async () => (await t.ctx.db.read((q) => q.all<{ actor_rights: string }>("SELECT actor_rights FROM audit_log WHERE action = 'credit.recharge' AND actor_user_id = ? ORDER BY id", [clerk.id]))).map((r) => r.actor_rights);

      // Stale by one right more than the token knew: the command runs once, with the rights stored.
      const first = await recharge(asClerk(['rechargeCredit']));
      assert.equal(first.outcome.ok, true);
      assert.deepEqual(await audited(), ['manageUsers rechargeCredit']);
      // The same rights stored in another order (a row written before rights were stored sorted):
      // the same actor, one effect, no 409.
      await setStored('rights', 'rechargeCredit manageUsers');
      const before = await balance();
      const reordered = await recharge(asClerk(['manageUsers', 'rechargeCredit']));
      assert.equal(reordered.outcome.ok, true);
      assert.equal(await balance(), (before ?? 0) + 100);
      // The right taken away after the door: refused with 403, nothing changed, nothing audited.
      await setStored('rights', 'manageUsers');
      const taken = await recharge(asClerk(['manageUsers', 'rechargeCredit']));
      assert.equal(taken.outcome.ok ? 200 : taken.outcome.error.kind, 'forbidden');
      assert.equal(await balance(), (before ?? 0) + 100);
      assert.equal((await audited()).length, 2);
      // Deactivated after the door: 401.
      await setStored('rights', 'rechargeCredit');
      await setStored('active', 0);
      const gone = await recharge(asClerk(['rechargeCredit']));
      assert.equal(gone.outcome.ok ? 200 : gone.outcome.error.kind, 'unauthorized');
      assert.equal((await audited()).length, 2);
    });

    for (const stored of ['rechargeCredit manageUsers', 'manageUsers rechargeCredit retiredRight', 'manageUsers  rechargeCredit']) {
      test(`rights stored as "${stored}" (the same set in another text): a command over HTTP runs its unit once`, { skip: !unitsInReach }, async () => {
        const username = `odd-${stored.length}-${engine}`;
        const clerk = await t.ctx.pipeline.perform('user.create', { username, password: 'odd-password', rights: ['rechargeCredit', 'manageUsers'] }, CLI_ACTOR);
        await t.ctx.db.write((tx) => tx.run('UPDATE users SET rights = ? WHERE id = ?', [stored, clerk.id]));
        const headers = bearer(await t.personToken(username, 'odd-password', 'credit'));
        const original = t.ctx.db.write.bind(t.ctx.db);
        let units = 0;
        t.ctx.db.write = (unit) => {
          units++;
          return original(unit);
        };
        try {
          const res = await t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/recharge`, headers, payload: { amount: 1 } });
          assert.equal(res.statusCode, 200, res.body);
        } finally {
          t.ctx.db.write = original;
        }
        assert.equal(units, 1, 'checked against the text the door read, not a text formatted from it');
      });
    }

    test('an Idempotency-Key is scoped to the command: the same key on another command is another request', async () => {
      const key = { 'idempotency-key': `shared-${engine}` };
      const a = await t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/recharge`, headers: { ...admin, ...key }, payload: { amount: 1 } });
      const b = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers: { ...admin, ...key }, payload: { userId, params: { amount: 1 } } });
      assert.deepEqual([a.statusCode, b.statusCode], [200, 200]);
      assert.equal(b.headers['idempotent-replayed'], undefined);
      const records = await count('idempotency_records WHERE idempotency_key = ?', [`shared-${engine}`]);
      assert.equal(records, 2);
      const stored = await t.ctx.db.read((q) => q.all<{ scope: string; command: string }>('SELECT scope, command FROM idempotency_records WHERE idempotency_key = ? ORDER BY command', [`shared-${engine}`]));
      assert.deepEqual(stored.map((r) => r.command), ['credit.recharge', 'payment.create']);
      assert.ok(stored.every((r) => r.scope.includes(':1:')), 'scoped to client and user');
    });

    test('concurrent duplicates of one commit with one key: one effect, and every answer is the first one', async () => {
      const created = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers: admin, payload: { userId, params: { amount: 2 } } });
      const id = created.json<{ id: string }>().id;
      const headers = { ...admin, 'idempotency-key': `dup-commit-${engine}` };
      const answers = await Promise.all(Array.from({ length: 5 }, () => t.inject({ method: 'POST', url: `/v3/rechargeProviders/external/payments/${id}/commit`, headers })));
      assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 200, 200, 200]);
      assert.equal(answers.filter((a) => a.headers['idempotent-replayed'] === undefined).length, 1);
      assert.equal(await count("events WHERE type = 'payment.committed' AND subject = ?", [`payment:${id}`]), 1);
    });

    test('an administrator may take away their own rights and deactivate themselves', async () => {
      await t.ctx.pipeline.perform('user.create', { username: `boss-${engine}`, password: 'boss-password', rights: ['admin'] }, CLI_ACTOR);
      const boss = bearer(await t.personToken(`boss-${engine}`, 'boss-password', 'users'));
      const bossId = (await t.ctx.users.resolve(`boss-${engine}`)).id;
      const demoted = await t.inject({ method: 'PATCH', url: `/v3/users/${bossId}`, headers: boss, payload: { rights: ['manageUsers'] } });
      assert.equal(demoted.statusCode, 200, demoted.body);
      assert.deepEqual(demoted.json<{ rights: string[] }>().rights, ['manageUsers']);
      const gone = await t.inject({ method: 'PATCH', url: `/v3/users/${bossId}`, headers: boss, payload: { isActive: false } });
      assert.equal(gone.statusCode, 403, 'a user-manager may not change a person who holds rights');
      await t.ctx.pipeline.perform('user.update', { id: bossId, rights: ['admin'] }, CLI_ACTOR);
      const off = await t.inject({ method: 'PATCH', url: `/v3/users/${bossId}`, headers: boss, payload: { isActive: false } });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal((await t.ctx.users.getAny(bossId)).isActive, false);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${bossId}`, headers: boss })).statusCode, 401, 'and the token stops at once');
    });

    test('voucher generation refuses an Idempotency-Key rather than ignore it', async () => {
      const res = await t.inject({ method: 'POST', url: '/v3/vouchers/batches', headers: { ...admin, 'idempotency-key': 'codes' }, payload: { quantity: 1, value: 1, validUntil: '2030-01-01' } });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json<{ data: { field: string }[] }>().data[0]?.field, 'header.idempotency-key');
    });

    test('ledger and payments stay consistent', async () => {
      assert.deepEqual(await t.ctx.ledger.verify(), []);
      assert.deepEqual(await t.ctx.recharge.verify(), []);
    });
  });
}

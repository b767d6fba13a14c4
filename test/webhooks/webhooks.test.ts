// Webhooks end to end on both engines, against a real HTTP receiver on loopback that verifies every
// signature with the standardwebhooks library: what arrives, retries with the same webhook-id, a
// receiver that was down, a restart with deliveries pending, two dispatchers on one database, the
// endpoint switched off after 5 days; and the events feed and the audit trail over HTTP.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ManualClock } from '../../src/clock.js';
import { createContext } from '../../src/context.js';
import { DISABLE_AFTER_MS, RETRY_EVERY_MS, RETRY_SCHEDULE_MS } from '../../src/webhooks/dispatcher.js';
import { ENGINES, bearer, startApp, testConfig, type TestApp } from '../helpers/harness.js';
import { Receiver } from '../helpers/receiver.js';

interface WebhookAnswer {
  id: string;
  secret: string;
  enabled: boolean;
  events: string[];
}

for (const engine of ENGINES) {
  describe(`webhooks [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let userId: number;

    const register = async (receiver: Receiver, events: string[]): Promise<WebhookAnswer> => {
      const res = await t.inject({ method: 'POST', url: '/v3/webhooks', headers: admin, payload: { url: receiver.url, events, description: 'test' } });
      assert.equal(res.statusCode, 201, res.body);
      const answer = res.json<WebhookAnswer>();
      receiver.secret = answer.secret;
      return answer;
    };
    const recharge = async (amount: number) => {
      const created = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers: admin, payload: { userId, params: { amount } } });
      const id = created.json<{ id: string }>().id;
      assert.equal((await t.inject({ method: 'POST', url: `/v3/rechargeProviders/external/payments/${id}/commit`, headers: admin })).statusCode, 200);
      return id;
    };
    const remove = async (id: string) => {
      assert.equal((await t.inject({ method: 'DELETE', url: `/v3/webhooks/${id}`, headers: admin })).statusCode, 204);
    };
    /** Until the dispatcher has sent all that is due (on PostgreSQL the feed settles first). */
    const deliverUntil = async (done: () => boolean) => {
      const deadline = Date.now() + 10_000;
      do {
        await t.ctx.dispatcher.drain();
        if (done()) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      } while (Date.now() < deadline);
    };

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
      userId = (await t.ctx.pipeline.perform('user.create', { username: 'hook-user', password: 'hook-password' }, CLI_ACTOR)).id;
    });
    after(() => t.close());

    test('signed events arrive for a recharge, a gateway refund and a voucher redemption', async () => {
      const receiver = new Receiver();
      await receiver.start();
      const hook = await register(receiver, ['payment.committed', 'refund.created', 'voucher.redeemed']);
      const paymentId = await recharge(13);

      const card = { number: '4242424242424242', name: 'A B', expiration_month: '12', expiration_year: '2030', cvv: '123' };
      const cardPayment = await t.inject({ method: 'POST', url: '/api/payments', headers: admin, payload: { amount: 10, payment_method: 'credit_card', additional_params: { amount: 10, method: 'credit_card', ...card } } });
      assert.equal(cardPayment.statusCode, 201, cardPayment.body);
      const refund = await t.inject({ method: 'POST', url: '/api/refunds', headers: admin, payload: { payment_id: cardPayment.json<{ payment_id: string }>().payment_id, amount: 4 } });
      assert.equal(refund.statusCode, 201, refund.body);

      const batch = await t.inject({ method: 'POST', url: '/v3/vouchers/batches', headers: admin, payload: { quantity: 1, value: 5, validUntil: '2027-12-31' } });
      const [code] = batch.json<{ codes: string[] }>().codes;
      const voucher = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/voucher/payments', headers: admin, payload: { userId, params: { code } } });
      assert.equal((await t.inject({ method: 'POST', url: `/v3/rechargeProviders/voucher/payments/${voucher.json<{ id: string }>().id}/commit`, headers: admin })).statusCode, 200);

      await deliverUntil(() => receiver.received.length >= 4);
      assert.deepEqual(receiver.rejected, [], 'every signature verifies');
      assert.deepEqual(receiver.types().sort(), ['payment.committed', 'payment.committed', 'refund.created', 'voucher.redeemed']);
      const committed = receiver.received.find((r) => r.body.type === 'payment.committed' && r.body.data.id === Number(paymentId));
      assert.ok(committed, 'the external payment arrived');
      assert.equal(committed.id, committed.body.id, 'webhook-id is the event id');
      assert.match(committed.body.id, /^evt_\d+$/);
      assert.equal(committed.body.data.amount, 13);
      await receiver.stop();
      await remove(hook.id);
    });

    test('a receiver that answers 500 twice, then 200, gets the same webhook-id three times; the log shows each attempt', async () => {
      const receiver = new Receiver();
      await receiver.start();
      receiver.script = [500, 500];
      const hook = await register(receiver, ['payment.committed']);
      await recharge(1);
      await deliverUntil(() => receiver.received.length >= 1);
      t.clock.advance(Math.ceil((RETRY_SCHEDULE_MS[0] ?? 0) * 1.1));
      await deliverUntil(() => receiver.received.length >= 2);
      t.clock.advance(Math.ceil((RETRY_SCHEDULE_MS[1] ?? 0) * 1.1));
      await deliverUntil(() => receiver.received.length >= 3);
      const committed = receiver.received.filter((r) => r.body.type === 'payment.committed');
      assert.equal(committed.length, 3, receiver.types().join(' '));
      assert.equal(new Set(committed.map((r) => r.id)).size, 1, 'one webhook-id');
      const log = (await t.inject({ method: 'GET', url: `/v3/webhooks/${hook.id}/deliveries`, headers: admin })).json<{ deliveries: { eventType: string; state: string; attempts: number; attemptLog: { statusCode: number | null; durationMs: number }[] }[] }>();
      const delivery = log.deliveries.find((d) => d.eventType === 'payment.committed');
      assert.ok(delivery);
      assert.deepEqual([delivery.state, delivery.attempts, delivery.attemptLog.map((a) => a.statusCode)], ['delivered', 3, [500, 500, 200]]);
      assert.ok(delivery.attemptLog.every((a) => Number.isInteger(a.durationMs)));
      await receiver.stop();
      await remove(hook.id);
    });

    test('a receiver that is down and comes back gets everything it missed; a manual retry sends again now', async () => {
      const receiver = new Receiver();
      await receiver.start();
      const hook = await register(receiver, ['payment.committed']);
      const port = receiver.port;
      await receiver.stop();
      const ids = [await recharge(1), await recharge(2), await recharge(3)];
      await deliverUntil(() => false);
      const failing = (await t.inject({ method: 'GET', url: `/v3/webhooks/${hook.id}`, headers: admin })).json<{ failingSince: string | null }>();
      assert.notEqual(failing.failingSince, null);
      await receiver.start(port);
      t.clock.advance(Math.ceil((RETRY_SCHEDULE_MS[0] ?? 0) * 1.1));
      await deliverUntil(() => receiver.received.length >= 3);
      assert.deepEqual(receiver.received.map((r) => r.body.data.id).sort(), ids.map(Number).sort());
      assert.equal((await t.inject({ method: 'GET', url: `/v3/webhooks/${hook.id}`, headers: admin })).json<{ failingSince: string | null }>().failingSince, null, 'a success ends the streak');

      const log = (await t.inject({ method: 'GET', url: `/v3/webhooks/${hook.id}/deliveries`, headers: admin })).json<{ deliveries: { id: number; eventId: string }[] }>();
      const first = log.deliveries[0];
      assert.ok(first);
      const retried = await t.inject({ method: 'POST', url: `/v3/webhooks/${hook.id}/deliveries/${first.id}/retry`, headers: admin });
      assert.equal(retried.statusCode, 202, retried.body);
      await deliverUntil(() => receiver.received.length >= 4);
      assert.equal(receiver.received.at(-1)?.id, first.eventId, 'sent again with the same webhook-id');
      assert.equal((await t.inject({ method: 'POST', url: `/v3/webhooks/${hook.id}/deliveries/999999/retry`, headers: admin })).statusCode, 404);
      await receiver.stop();
      await remove(hook.id);
    });

    test('deliveries pending when the process stops are sent by the next one; two dispatchers on one database send each event once', async () => {
      const receiver = new Receiver();
      await receiver.start();
      const hook = await register(receiver, ['payment.committed']);
      // Committed, never sent by this process (as if it died right after the commit) …
      const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => recharge(i + 1)));
      // … then two fresh processes' worth of services on the same database deliver, racing each other.
      const config = testConfig(t.db, { logLevel: 'silent' });
      const [one, two] = await Promise.all([createContext(config, t.clock), createContext(config, t.clock)]);
      try {
        const deadline = Date.now() + 10_000;
        while (receiver.received.length < ids.length && Date.now() < deadline) {
          await Promise.all([one.dispatcher.drain(), two.dispatcher.drain()]);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await one.close();
        await two.close();
      }
      assert.deepEqual(receiver.received.map((r) => Number(r.body.data.id)).sort((a, b) => a - b), ids.map(Number).sort((a, b) => a - b), 'each event exactly once');
      assert.equal(new Set(receiver.received.map((r) => r.id)).size, ids.length);
      await receiver.stop();
      await remove(hook.id);
    });

    test('an endpoint failing for 5 days is switched off, and an event says so', async () => {
      const receiver = new Receiver();
      await receiver.start();
      const watcher = new Receiver();
      await watcher.start();
      receiver.script = Array.from({ length: 100 }, () => 503);
      const hook = await register(receiver, ['payment.committed']);
      const watch = await register(watcher, ['webhook.disabled']);
      await recharge(1);
      await deliverUntil(() => receiver.received.length >= 1);
      let elapsedMs = 0;
      for (const delayMs of [...RETRY_SCHEDULE_MS, ...Array.from({ length: 12 }, () => RETRY_EVERY_MS)]) {
        if (elapsedMs > DISABLE_AFTER_MS) break;
        t.clock.advance(Math.ceil(delayMs * 1.1));
        elapsedMs += Math.ceil(delayMs * 1.1);
        await deliverUntil(() => true);
      }
      admin = bearer(await t.adminToken()); // days went by: a fresh token
      const after = (await t.inject({ method: 'GET', url: `/v3/webhooks/${hook.id}`, headers: admin })).json<{ enabled: boolean; disabledReason: string }>();
      assert.equal(after.enabled, false);
      assert.match(after.disabledReason, /failed for 5 days/);
      assert.ok(receiver.received.length >= 8, `retried for days: ${receiver.received.length} attempts`);
      await deliverUntil(() => watcher.received.length >= 1);
      assert.deepEqual(watcher.types(), ['webhook.disabled']);
      // Switched on again: the streak is forgotten and the pending delivery goes out.
      receiver.script = [];
      const on = await t.inject({ method: 'PATCH', url: `/v3/webhooks/${hook.id}`, headers: admin, payload: { enabled: true } });
      assert.equal(on.json<WebhookAnswer>().enabled, true);
      const before = receiver.received.length;
      t.clock.advance(RETRY_EVERY_MS * 2);
      admin = bearer(await t.adminToken());
      await deliverUntil(() => receiver.received.length > before);
      assert.ok(receiver.received.length > before);
      await receiver.stop();
      await watcher.stop();
      await remove(hook.id);
      await remove(watch.id);
    });

    test('a receiver that hangs holds a few send slots, never all: another endpoint still gets its event at once', async () => {
      const hung = http.createServer(() => undefined); // takes every request and never answers
      await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
      const hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/hooks`;
      const hungHook = (await t.inject({ method: 'POST', url: '/v3/webhooks', headers: admin, payload: { url: hungUrl, events: ['user.created'] } })).json<WebhookAnswer>();
      const receiver = new Receiver();
      await receiver.start();
      const hook = await register(receiver, ['payment.committed']);
      for (let i = 0; i < 30; i++) await t.ctx.pipeline.perform('user.create', { username: `hung-${i}` }, CLI_ACTOR);
      await recharge(3);
      const deadline = Date.now() + 8_000;
      while (receiver.received.length === 0 && Date.now() < deadline) {
        void t.ctx.dispatcher.tick();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(receiver.received.length, 1, 'delivered within seconds, before the hung sends time out');
      hung.closeAllConnections();
      await new Promise<void>((resolve) => hung.close(() => { resolve(); }));
      await t.ctx.dispatcher.drain();
      await receiver.stop();
      await remove(hook.id);
      await remove(hungHook.id);
    });

    test('an endpoint hears of what commits after its registration, whatever the clocks of other processes say', async () => {
      const receiver = new Receiver();
      await receiver.start();
      const before = await recharge(1);
      const hook = await register(receiver, ['payment.committed']);
      // Another process whose clock runs a minute behind commits after the registration.
      const late = await createContext(testConfig(t.db, { logLevel: 'silent' }), new ManualClock(t.clock.nowMs() - 60_000));
      try {
        const created = await late.pipeline.perform('payment.create', { reference: 'external', userId, params: { amount: 4 } }, CLI_ACTOR);
        await late.pipeline.perform('payment.commit', { reference: 'external', id: created.id }, CLI_ACTOR);
        await deliverUntil(() => receiver.received.length >= 1);
        assert.deepEqual(receiver.received.map((r) => r.body.data.id), [created.id]);
        assert.ok(!receiver.received.some((r) => r.body.data.id === Number(before)), 'nothing from before it existed');
      } finally {
        await late.close();
      }
      await receiver.stop();
      await remove(hook.id);
    });

    test('a retry of a switched-off endpoint is a 409; PATCH with null changes nothing; events show a URL without its path', async () => {
      const receiver = new Receiver();
      await receiver.start();
      const res = await t.inject({ method: 'POST', url: '/v3/webhooks', headers: admin, payload: { url: `${receiver.url}/T000/SECRET-PATH-TOKEN?token=abc`, events: ['payment.committed'] } });
      const hook = res.json<WebhookAnswer>();
      receiver.secret = hook.secret;
      await recharge(1);
      await deliverUntil(() => receiver.received.length >= 1);
      const nulls = await t.inject({ method: 'PATCH', url: `/v3/webhooks/${hook.id}`, headers: admin, payload: { enabled: null, description: null } });
      assert.equal(nulls.statusCode, 400);
      assert.match(nulls.body, /body\.enabled/);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/webhooks/${hook.id}`, headers: admin })).json<WebhookAnswer>().enabled, true);
      assert.equal((await t.inject({ method: 'PATCH', url: `/v3/webhooks/${hook.id}`, headers: admin, payload: { enabled: false } })).json<WebhookAnswer>().enabled, false);
      const log = (await t.inject({ method: 'GET', url: `/v3/webhooks/${hook.id}/deliveries`, headers: admin })).json<{ deliveries: { id: number }[] }>();
      const retried = await t.inject({ method: 'POST', url: `/v3/webhooks/${hook.id}/deliveries/${log.deliveries[0]?.id ?? 0}/retry`, headers: admin });
      assert.equal(retried.statusCode, 409);
      assert.match(retried.body, /switched off/);
      const feed = (await t.inject({ method: 'GET', url: '/v3/events?types=webhook.*&limit=1000', headers: admin })).body;
      const audit = (await t.inject({ method: 'GET', url: '/v3/audit?action=webhook.*&limit=1000', headers: admin })).body;
      for (const text of [feed, audit]) assert.ok(!text.includes('SECRET-PATH-TOKEN') && !text.includes('token=abc'), text.slice(0, 300));
      await receiver.stop();
      await remove(hook.id);
    });

    test('the secret rotates; bad input is a 400 naming the field; the right manageSettings is needed', async () => {
      const receiver = new Receiver();
      await receiver.start();
      const hook = await register(receiver, ['payment.committed']);
      const rotated = await t.inject({ method: 'POST', url: `/v3/webhooks/${hook.id}/rotateSecret`, headers: admin });
      assert.equal(rotated.statusCode, 200);
      const secret = rotated.json<WebhookAnswer>().secret;
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
      assert.notEqual(secret, hook.secret);
      receiver.secret = secret;
      await recharge(2);
      await deliverUntil(() => receiver.received.length >= 1);
      assert.deepEqual([receiver.received.length, receiver.rejected.length], [1, 0], 'signed with the new secret');
      const listed = (await t.inject({ method: 'GET', url: '/v3/webhooks', headers: admin })).json<{ webhooks: Record<string, unknown>[] }>();
      assert.ok(listed.webhooks.every((w) => !('secret' in w)), 'the secret is never listed');
      assert.ok(!(await databaseHolds(t, secret)), 'nor stored in the clear');

      for (const [payload, field] of [
        [{ url: 'ftp://example.org/x', events: ['*'] }, 'url'],
        [{ url: 'not a url', events: ['*'] }, 'url'],
        [{ url: 'https://user:pw@example.org/', events: ['*'] }, 'url'],
        [{ url: 'https://example.org/', events: ['payment.teleported'] }, 'events'],
        [{ url: 'https://example.org/', events: [] }, 'events'],
        [{ url: 'https://example.org/', events: ['nothing.*'] }, 'events'],
      ] as const) {
        const res = await t.inject({ method: 'POST', url: '/v3/webhooks', headers: admin, payload });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.ok(res.body.includes(field), res.body);
      }
      const { id } = await t.ctx.pipeline.perform('user.create', { username: 'no-settings', password: 'no-settings-pw' }, CLI_ACTOR);
      assert.ok(id > 0);
      const person = bearer(await t.personToken('no-settings', 'no-settings-pw', 'settings'));
      for (const request of [
        { method: 'GET' as const, url: '/v3/webhooks' },
        { method: 'POST' as const, url: '/v3/webhooks', payload: { url: 'https://example.org/', events: ['*'] } },
        { method: 'GET' as const, url: '/v3/events' },
        { method: 'GET' as const, url: '/v3/audit' },
      ]) {
        assert.equal((await t.inject({ ...request, headers: person })).statusCode, 403, request.url);
      }
      await receiver.stop();
      await remove(hook.id);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/webhooks/${hook.id}`, headers: admin })).statusCode, 404);
    });

    test('the events feed pages in commit order without skipping; the audit trail filters by actor, action, subject and time', async () => {
      const seen: string[] = [];
      let cursor = '';
      for (let page = 0; page < 1000; page++) {
        const res = await t.inject({ method: 'GET', url: `/v3/events?limit=7&types=payment.committed&after=${cursor}`, headers: admin });
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json<{ events: { id: string; type: string }[]; cursor: string }>();
        if (body.events.length === 0) break;
        seen.push(...body.events.map((e) => e.id));
        assert.ok(body.events.every((e) => e.type === 'payment.committed'));
        cursor = body.cursor;
      }
      assert.equal(new Set(seen).size, seen.length, 'no event twice');
      assert.ok(seen.length >= 10);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/events?types=bogus.type', headers: admin })).statusCode, 400);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/events?after=xyz', headers: admin })).statusCode, 400);

      const payment = await recharge(7);
      const audit = await t.inject({ method: 'GET', url: `/v3/audit?action=payment.commit&subject=payment:${payment}`, headers: admin });
      assert.equal(audit.statusCode, 200, audit.body);
      const entries = audit.json<{ entries: { action: string; subject: string; actor: { userId: number | null; clientId: string }; rights: string[] }[]; count: number }>();
      assert.equal(entries.count, 1);
      assert.deepEqual([entries.entries[0]?.action, entries.entries[0]?.subject], ['payment.commit', `payment:${payment}`]);
      assert.ok(entries.entries[0]?.rights.includes('admin'));
      const byPrefix = (await t.inject({ method: 'GET', url: '/v3/audit?action=webhook.*&limit=1000', headers: admin })).json<{ entries: { action: string }[] }>();
      assert.ok(byPrefix.entries.length > 0 && byPrefix.entries.every((e) => e.action.startsWith('webhook.')));
      const byCli = (await t.inject({ method: 'GET', url: '/v3/audit?actor=cli', headers: admin })).json<{ entries: { action: string }[] }>();
      assert.ok(byCli.entries.some((e) => e.action === 'user.create'));
      const future = (await t.inject({ method: 'GET', url: '/v3/audit?from=2999-01-01T00:00:00Z', headers: admin })).json<{ count: number }>();
      assert.equal(future.count, 0);
    });
  });
}

/** Whether any row of the database holds this text. */
async function databaseHolds(t: TestApp, text: string): Promise<boolean> {
  const rows = await t.ctx.db.read((q) => q.all<{ secret_sealed: string }>('SELECT secret_sealed FROM webhooks'));
  return rows.some((r) => r.secret_sealed.includes(text) || r.secret_sealed.includes(text.slice('whsec_'.length)));
}

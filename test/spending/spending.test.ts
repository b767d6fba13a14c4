// Spending: charges, holds, refunds of charges, transfers and self-service top-up, over HTTP on
// both engines — the floor under concurrency, one winner per hold, rights, and the books after.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { parse } from 'csv-parse/sync';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface ErrorBody {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}
interface Charge {
  id: number;
  userId: number;
  amount: number;
  refunded: number;
  state: string;
  balance: number;
  externalId: string | null;
  holdId: number | null;
  description: string;
}
interface Hold {
  id: number;
  userId: number;
  state: string;
  amount: number;
  captured: number | null;
  chargeId: number | null;
  expires: string;
}
interface Balance {
  amount: number;
  held: number;
  available: number;
}

const GOOD_CARD = { number: '4242424242424242', name: 'ANN BUYER', expiration_month: '12', expiration_year: '2030', cvv: '123' };

for (const engine of ENGINES) {
  describe(`spending credit [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let kiosk: Record<string, string>;

    const person = async (name: string): Promise<{ id: number; headers: Record<string, string> }> => {
      const { id } = await t.ctx.pipeline.perform('user.create', { username: `${name}-${engine}`, password: `${name}-password` }, CLI_ACTOR);
      return { id, headers: bearer(await t.personToken(`${name}-${engine}`, `${name}-password`, 'credit')) };
    };
    const fund = async (userId: number, amount: number) => {
      const res = await t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/recharge`, headers: admin, payload: { amount } });
      assert.equal(res.statusCode, 200, res.body);
    };
    const balance = async (userId: number): Promise<Balance> => (await t.inject({ method: 'GET', url: `/v3/users/${userId}/accounts/credit/balance`, headers: admin })).json<Balance>();
    const charge = (userId: number, payload: Record<string, unknown>, headers = kiosk, extra: Record<string, string> = {}) =>
      t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/charges`, headers: { ...headers, ...extra }, payload });
    const hold = (userId: number, payload: Record<string, unknown>, headers = kiosk) => t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/holds`, headers, payload });
    const capture = (id: number, payload?: Record<string, unknown>, headers = kiosk) => t.inject({ method: 'POST', url: `/v3/holds/${id}/capture`, headers, ...(payload === undefined ? {} : { payload }) });
    const release = (id: number, headers = kiosk) => t.inject({ method: 'POST', url: `/v3/holds/${id}/release`, headers });
    const transfer = (userId: number, payload: Record<string, unknown>, headers = kiosk) => t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/transfers`, headers, payload });
    const verify = async () => {
      assert.deepEqual([...(await t.ctx.ledger.verify()), ...(await t.ctx.recharge.verify()), ...(await t.ctx.spending.verify())], []);
    };

    /**
     * Every event of these types so far, paged from the start. On PostgreSQL the feed shows an event
     * only once every older transaction on the server has ended, so it waits (up to 10 s) for `done`.
     */
    const events = async (types: string[], done: (seen: { type: string; subject: string }[]) => boolean) => {
      const deadlineMs = Date.now() + 10_000;
      const seen: { type: string; subject: string }[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await t.ctx.events.page(cursor, types, 1000);
        seen.push(...page.events);
        cursor = page.cursor;
        if (page.events.length > 0) continue;
        if (done(seen) || Date.now() > deadlineMs) return seen;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
      // A kiosk: an API client of its own service user, who holds chargeCredit and nothing else.
      const { id: kioskUser } = await t.ctx.pipeline.perform('user.create', { username: `kiosk-${engine}`, rights: ['chargeCredit'] }, CLI_ACTOR);
      await t.ctx.pipeline.perform('client.create', { id: `kiosk-${engine}`, name: 'kiosk', scopes: ['credit'], userId: kioskUser, secret: 'kiosk-secret-0123456789abcdef' }, CLI_ACTOR);
      const res = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'client_credentials', client_id: `kiosk-${engine}`, client_secret: 'kiosk-secret-0123456789abcdef', scope: 'credit' } });
      assert.equal(res.statusCode, 200, res.body);
      kiosk = bearer(res.json<{ access_token: string }>().access_token);
    });
    after(() => t.close());

    test('a kiosk holds, captures part and releases; the balance shows held and available; the statement shows the charges', async () => {
      const ann = await person('ann');
      await fund(ann.id, 10);
      const placed = await hold(ann.id, { amount: '4.00', description: 'print job 17' });
      assert.equal(placed.statusCode, 201, placed.body);
      const h = placed.json<Hold>();
      assert.equal(h.state, 'held');
      assert.equal(h.amount, 4);
      assert.equal(Date.parse(h.expires) - t.clock.nowMs(), 900_000, 'the default hold lasts 900 s');
      assert.deepEqual(await balance(ann.id), { amount: 10, held: 4, available: 6 });

      const captured = await capture(h.id, { amount: 2.5 });
      assert.equal(captured.statusCode, 200, captured.body);
      const c = captured.json<Charge>();
      assert.deepEqual([c.amount, c.state, c.holdId, c.balance, c.description], [2.5, 'posted', h.id, 7.5, 'print job 17']);
      assert.deepEqual(await balance(ann.id), { amount: 7.5, held: 0, available: 7.5 }, 'the rest of the hold is released');
      const after = (await t.inject({ method: 'GET', url: `/v3/holds/${h.id}`, headers: ann.headers })).json<Hold>();
      assert.deepEqual([after.state, after.captured, after.chargeId], ['captured', 2.5, c.id]);

      const again = await release(h.id);
      assert.equal(again.statusCode, 409);
      assert.match(again.json<ErrorBody>().message, /hold \d+ is captured/);

      const second = (await hold(ann.id, { amount: 5 })).json<Hold>();
      assert.deepEqual(await balance(ann.id), { amount: 7.5, held: 5, available: 2.5 });
      const released = await release(second.id);
      assert.equal(released.statusCode, 200, released.body);
      assert.equal(released.json<Hold>().state, 'released');
      assert.equal((await capture(second.id)).statusCode, 409);
      assert.deepEqual(await balance(ann.id), { amount: 7.5, held: 0, available: 7.5 });

      const direct = await charge(ann.id, { amount: 1.25, description: 'coffee', externalId: 'till-9' });
      assert.equal(direct.statusCode, 201, direct.body);
      assert.deepEqual([direct.json<Charge>().externalId, direct.json<Charge>().balance], ['till-9', 6.25]);

      const statement = (await t.inject({ method: 'GET', url: `/v3/users/${ann.id}/accounts/credit/statement`, headers: ann.headers })).json<{ entries: { type: string; value: number; balance: number }[] }>();
      assert.deepEqual(
        statement.entries.map((e) => [e.type, e.value, e.balance]),
        [
          ['manual', 10, 10],
          ['charge', -2.5, 7.5],
          ['charge', -1.25, 6.25],
        ],
      );
      const listed = (await t.inject({ method: 'GET', url: `/v3/users/${ann.id}/accounts/credit/charges`, headers: ann.headers })).json<{ charges: Charge[]; count: number }>();
      assert.deepEqual([listed.count, listed.charges[0]?.id], [2, direct.json<Charge>().id]);
      const heldOnly = (await t.inject({ method: 'GET', url: `/v3/users/${ann.id}/accounts/credit/holds?state=released`, headers: kiosk })).json<{ holds: Hold[]; count: number }>();
      assert.deepEqual(heldOnly.holds.map((x) => x.id), [second.id]);
      await verify();
    });

    test('accounts, charges and holds of a person or an account that does not exist are a 404, not an empty list', async () => {
      const cases: [string, string][] = [
        ['/v3/users/999999/accounts', 'user 999999 does not exist'],
        ['/v3/users/999999/accounts/credit/charges', 'user 999999 does not exist'],
        ['/v3/users/999999/accounts/credit/holds', 'user 999999 does not exist'],
        ['/v3/users/1/accounts/zzz/charges', 'user 1 has no account "zzz"'],
        ['/v3/users/1/accounts/zzz/holds', 'user 1 has no account "zzz"'],
      ];
      for (const [url, message] of cases) {
        const res = await t.inject({ method: 'GET', url, headers: admin });
        assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
        assert.equal(res.json<{ message: string }>().message, message, url);
      }
    });

    test('402 with both figures when the available credit does not cover a charge, a hold or a transfer; nothing changes', async () => {
      const bea = await person('bea');
      const cid = await person('cid');
      await fund(bea.id, 2.5);
      await hold(bea.id, { amount: 1 });
      for (const res of [await charge(bea.id, { amount: 3 }), await hold(bea.id, { amount: 3 }), await transfer(bea.id, { toUserId: cid.id, amount: 3 })]) {
        assert.equal(res.statusCode, 402, res.body);
        assert.deepEqual(res.json<ErrorBody>(), { code: 402, message: 'insufficient credit: 1.50 EUR available, 3.00 EUR requested', data: [{ field: 'amount', problem: 'more than the 1.50 EUR available' }] });
      }
      const manual = await t.inject({ method: 'POST', url: `/v3/users/${bea.id}/accounts/credit/recharge`, headers: admin, payload: { amount: -2 } });
      assert.equal(manual.statusCode, 409, 'a negative recharge by hand needs the available credit too');
      assert.match(manual.json<ErrorBody>().message, /1\.50 EUR available, 2\.00 EUR requested/);
      assert.deepEqual(await balance(bea.id), { amount: 2.5, held: 1, available: 1.5 });
      assert.deepEqual(await balance(cid.id), { amount: 0, held: 0, available: 0 });
      await verify();
    });

    test('100 concurrent charges of 1.00 against 30.00: exactly 30 succeed, the rest 402, balance 0', async () => {
      const dan = await person('dan');
      await fund(dan.id, 30);
      const results = await Promise.all(Array.from({ length: 100 }, () => charge(dan.id, { amount: '1.00' })));
      const codes = results.map((r) => r.statusCode);
      assert.equal(codes.filter((c) => c === 201).length, 30);
      assert.equal(codes.filter((c) => c === 402).length, 70);
      assert.deepEqual(await balance(dan.id), { amount: 0, held: 0, available: 0 });
      await verify();
    });

    test('charges, holds, captures and transfers mixed under concurrency never overdraw', async () => {
      const eve = await person('eve');
      const fay = await person('fay');
      await fund(eve.id, 20);
      await fund(fay.id, 20);
      const holds = (await Promise.all([hold(eve.id, { amount: 3 }), hold(fay.id, { amount: 3 })])).map((r) => r.json<Hold>().id);
      const work = [];
      for (let i = 0; i < 30; i++) {
        work.push(charge(eve.id, { amount: 0.7 }), charge(fay.id, { amount: 0.9 }), hold(eve.id, { amount: 1.1 }));
        work.push(transfer(eve.id, { toUserId: fay.id, amount: 0.5 }), transfer(fay.id, { toUserId: eve.id, amount: 0.6 }));
      }
      work.push(capture(holds[0] ?? 0, { amount: 2 }), release(holds[1] ?? 0));
      // Bulk recharges naming the two in either order, racing the transfers: no deadlock, no 500.
      for (let i = 0; i < 10; i++) {
        const csv = i % 2 === 0 ? `eve-${engine};0.1\nfay-${engine};0.1\n` : `fay-${engine};0.1\neve-${engine};0.1\n`;
        work.push(t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: csv }));
      }
      const codes = (await Promise.all(work)).map((r) => r.statusCode);
      assert.ok(codes.every((c) => c === 201 || c === 200 || c === 402), `only 2xx and 402: ${[...new Set(codes)].join(' ')}`);
      for (const who of [eve, fay]) {
        const b = await balance(who.id);
        assert.ok(b.available >= 0 && b.amount >= 0, `${JSON.stringify(b)} never below zero`);
      }
      await verify();
    });

    test('capture, release and expiry racing: exactly one wins', async () => {
      const gus = await person('gus');
      await fund(gus.id, 50);
      for (let round = 0; round < 3; round++) {
        const h = (await hold(gus.id, { amount: 5, expiresInSeconds: 60 })).json<Hold>();
        const results = await Promise.all([capture(h.id), release(h.id), capture(h.id, { amount: 1 }), release(h.id)]);
        assert.equal(results.filter((r) => r.statusCode === 200).length, 1, results.map((r) => r.body).join('\n'));
        assert.ok(results.every((r) => r.statusCode === 200 || r.statusCode === 409));
      }
      // At the moment it runs out, a capture, a release and the sweeper race: it expires, once.
      const last = (await hold(gus.id, { amount: 5, expiresInSeconds: 60 })).json<Hold>();
      t.clock.advance(60_000);
      const [captured, released, swept] = await Promise.all([capture(last.id), release(last.id), t.ctx.spending.expireOverdue()]);
      assert.deepEqual([captured.statusCode, released.statusCode], [409, 409]);
      assert.ok(swept <= 1);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/holds/${last.id}`, headers: kiosk })).json<Hold>().state, 'expired');
      const expired = await events(['hold.expired'], (seen) => seen.some((e) => e.subject === `hold:${last.id}`));
      assert.equal(expired.filter((e) => e.subject === `hold:${last.id}`).length, 1, 'one expiry event');
      assert.equal((await balance(gus.id)).held, 0);
      await verify();
    });

    test('a hold past its expiry stops counting at once: the balance leaves it out and a debit that needs it releases it', async () => {
      const kai = await person('kai');
      await fund(kai.id, 10);
      const h = (await hold(kai.id, { amount: 6, expiresInSeconds: 60 })).json<Hold>();
      assert.equal((await charge(kai.id, { amount: 5 })).statusCode, 402);
      t.clock.advance(60_000);
      assert.deepEqual(await balance(kai.id), { amount: 10, held: 0, available: 10 });
      const paid = await charge(kai.id, { amount: 5 });
      assert.equal(paid.statusCode, 201, paid.body);
      assert.equal((await t.ctx.spending.hold(h.id)).state, 'expired');
      assert.deepEqual(await balance(kai.id), { amount: 5, held: 0, available: 5 });
      await verify();
    });

    test('a refund of all that is left, racing partial refunds, takes exactly the rest', async () => {
      const lou = await person('lou');
      await fund(lou.id, 10);
      for (let round = 0; round < 3; round++) {
        const c = (await charge(lou.id, { amount: 3 })).json<Charge>();
        const refund = (payload: Record<string, unknown>) => t.inject({ method: 'POST', url: `/v3/charges/${c.id}/refunds`, headers: kiosk, payload });
        const results = await Promise.all([refund({ amount: 1, reason: 'part' }), refund({ reason: 'the rest' }), refund({ amount: null, reason: 'the rest too' })]);
        assert.ok(results.every((r) => r.statusCode === 201 || r.statusCode === 409), results.map((r) => r.body).join('\n'));
        const after = (await t.inject({ method: 'GET', url: `/v3/charges/${c.id}`, headers: kiosk })).json<Charge>();
        assert.deepEqual([after.refunded, after.state], [3, 'refunded'], results.map((r) => r.body).join('\n'));
      }
      assert.equal((await balance(lou.id)).amount, 10);
      await verify();
    });

    test('the sweeper releases overdue holds', async () => {
      const hal = await person('hal');
      await fund(hal.id, 5);
      const h = (await hold(hal.id, { amount: 5, expiresInSeconds: 30 })).json<Hold>();
      assert.equal((await t.ctx.spending.expireOverdue()), 0, 'not yet');
      t.clock.advance(30_000);
      assert.ok((await t.ctx.spending.expireOverdue()) >= 1);
      assert.equal((await t.ctx.spending.hold(h.id)).state, 'expired');
      assert.deepEqual(await balance(hal.id), { amount: 5, held: 0, available: 5 });
      await verify();
    });

    test('20 concurrent refunds of one charge never give back more than it', async () => {
      const ida = await person('ida');
      await fund(ida.id, 10);
      const c = (await charge(ida.id, { amount: 5 })).json<Charge>();
      const results = await Promise.all(Array.from({ length: 20 }, () => t.inject({ method: 'POST', url: `/v3/charges/${c.id}/refunds`, headers: kiosk, payload: { amount: 1, reason: 'paper jam' } })));
      assert.equal(results.filter((r) => r.statusCode === 201).length, 5);
      assert.ok(results.every((r) => r.statusCode === 201 || r.statusCode === 409));
      const refused = results.find((r) => r.statusCode === 409);
      assert.match(refused?.json<ErrorBody>().message ?? '', /0\.00 EUR left to refund|refunded in full/);
      const after = (await t.inject({ method: 'GET', url: `/v3/charges/${c.id}`, headers: ida.headers })).json<Charge>();
      assert.deepEqual([after.refunded, after.state], [5, 'refunded']);
      const refunds = (await t.inject({ method: 'GET', url: `/v3/charges/${c.id}/refunds`, headers: ida.headers })).json<{ count: number }>();
      assert.equal(refunds.count, 5);
      assert.deepEqual(await balance(ida.id), { amount: 10, held: 0, available: 10 });
      const types = (await t.inject({ method: 'GET', url: `/v3/users/${ida.id}/accounts/credit/statement?type=chargeRefund`, headers: admin })).json<{ count: number }>();
      assert.equal(types.count, 5);
      // The whole rest by default; the person may not refund themselves.
      const d = (await charge(ida.id, { amount: 2 })).json<Charge>();
      assert.equal((await t.inject({ method: 'POST', url: `/v3/charges/${d.id}/refunds`, headers: ida.headers, payload: { reason: 'mine' } })).statusCode, 403);
      const whole = await t.inject({ method: 'POST', url: `/v3/charges/${d.id}/refunds`, headers: kiosk, payload: { reason: 'cancelled' } });
      assert.equal(whole.statusCode, 201, whole.body);
      assert.deepEqual([whole.json<{ amount: number }>().amount, whole.json<{ charge: Charge }>().charge.state], [2, 'refunded']);
      await verify();
    });

    test('who may: one’s own account with the credit scope; another’s needs chargeCredit; others’ holds are not found', async () => {
      const jo = await person('jo');
      const kim = await person('kim');
      await fund(jo.id, 10);
      await fund(kim.id, 10);
      assert.equal((await charge(jo.id, { amount: 1 }, jo.headers)).statusCode, 201, 'own account');
      const foreign = await charge(kim.id, { amount: 1 }, jo.headers);
      assert.equal(foreign.statusCode, 403);
      assert.match(foreign.json<ErrorBody>().message, /chargeCredit/);
      assert.equal((await hold(kim.id, { amount: 1 }, jo.headers)).statusCode, 403);
      const kimsHold = (await hold(kim.id, { amount: 1 })).json<Hold>();
      for (const res of [await capture(kimsHold.id, undefined, jo.headers), await release(kimsHold.id, jo.headers), await t.inject({ method: 'GET', url: `/v3/holds/${kimsHold.id}`, headers: jo.headers })]) {
        assert.equal(res.statusCode, 404, 'another person’s hold is not there for jo');
      }
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${kim.id}/accounts/credit/holds`, headers: jo.headers })).statusCode, 403);
      // The person whose credit a kiosk holds may see the hold but not cancel it while the job runs.
      assert.equal((await t.inject({ method: 'GET', url: `/v3/holds/${kimsHold.id}`, headers: kim.headers })).statusCode, 200);
      for (const res of [await release(kimsHold.id, kim.headers), await capture(kimsHold.id, { amount: 0.01 }, kim.headers)]) {
        assert.equal(res.statusCode, 403, res.body);
        assert.match(res.json<ErrorBody>().message, /placed by someone else/);
      }
      const ownHold = (await hold(kim.id, { amount: 1 }, kim.headers)).json<Hold>();
      assert.equal((await release(ownHold.id, kim.headers)).statusCode, 200, 'a hold one placed oneself one may release');
      assert.equal((await capture(kimsHold.id)).statusCode, 200, 'the kiosk still captures its hold');
      const usersScope = bearer(await t.personToken(`jo-${engine}`, 'jo-password', 'users'));
      assert.equal((await charge(jo.id, { amount: 1 }, usersScope)).statusCode, 403, 'the credit scope is needed');
      await verify();
    });

    test('transfers: off for people by default (403 saying so), always for chargeCredit; both statements show them', async () => {
      const lea = await person('lea');
      const max = await person('max');
      await fund(lea.id, 10);
      const off = await transfer(lea.id, { toUserId: max.id, amount: 1 }, lea.headers);
      assert.equal(off.statusCode, 403);
      assert.match(off.json<ErrorBody>().message, /PURSE_TRANSFERS/);
      const sent = await transfer(lea.id, { toUserId: max.id, amount: 4, description: 'lunch' });
      assert.equal(sent.statusCode, 201, sent.body);
      assert.deepEqual([sent.json<{ balance: number }>().balance, sent.json<{ amount: number }>().amount], [6, 4]);
      const entries = async (uid: number) =>
        (await t.inject({ method: 'GET', url: `/v3/users/${uid}/accounts/credit/statement`, headers: admin })).json<{ entries: { type: string; value: number; balance: number; description: string }[] }>().entries.map((e) => [e.type, e.value, e.balance, e.description]);
      assert.deepEqual((await entries(lea.id)).at(-1), ['transferOut', -4, 6, 'lunch']);
      assert.deepEqual(await entries(max.id), [['transferIn', 4, 4, 'lunch']]);
      const filtered = (await t.inject({ method: 'GET', url: `/v3/users/${max.id}/accounts/credit/statement?type=transferOut`, headers: admin })).json<{ count: number }>();
      assert.equal(filtered.count, 0);
      assert.equal((await transfer(lea.id, { toUserId: lea.id, amount: 1 })).statusCode, 400);
      const nobody = await transfer(lea.id, { toUserId: 999_999, amount: 1 });
      assert.equal(nobody.statusCode, 400);
      assert.equal(nobody.json<ErrorBody>().data[0]?.field, 'toUserId');
      await verify();
    });

    test('bad input is a 400 naming the field, and changes nothing', async () => {
      const ned = await person('ned');
      await fund(ned.id, 10);
      const cases: [Promise<{ statusCode: number; body: string }>, string][] = [
        [charge(ned.id, { amount: 0 }), 'amount'],
        [charge(ned.id, { amount: -1 }), 'amount'],
        [charge(ned.id, { amount: '1.001' }), 'amount'],
        [charge(ned.id, { amount: 'ten' }), 'amount'],
        [charge(ned.id, {}), 'amount'],
        [hold(ned.id, { amount: 1, expiresInSeconds: 7 * 86_400 + 1 }), 'expiresInSeconds'],
        [hold(ned.id, { amount: 1, expiresInSeconds: 0 }), 'expiresInSeconds'],
      ];
      for (const [pending, field] of cases) {
        const res = await pending;
        assert.equal(res.statusCode, 400);
        assert.ok(res.body.includes(field), `${field}: ${res.body}`);
      }
      const h = (await hold(ned.id, { amount: 2 })).json<Hold>();
      const tooMuch = await capture(h.id, { amount: 3 });
      assert.equal(tooMuch.statusCode, 400);
      assert.match(tooMuch.json<ErrorBody>().message, /more than the 2\.00 EUR held/);
      assert.equal((await capture(999_999)).statusCode, 404);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/charges/999999', headers: kiosk })).statusCode, 404);
      assert.deepEqual(await balance(ned.id), { amount: 10, held: 2, available: 8 });
      await t.ctx.pipeline.perform('user.update', { id: ned.id, isActive: false }, CLI_ACTOR);
      const inactive = await charge(ned.id, { amount: 1 });
      assert.equal(inactive.statusCode, 409);
      assert.match(inactive.json<ErrorBody>().message, /not active/);
      assert.equal((await capture(h.id, { amount: 1 })).statusCode, 200, 'a hold placed before still completes');
      await verify();
    });

    test('a description that a spreadsheet would run as a formula reaches the statement CSV as text', async () => {
      const viv = await person('viv');
      await fund(viv.id, 5);
      assert.equal((await charge(viv.id, { amount: 1.5, description: '=HYPERLINK("https://evil.example","click")' }, viv.headers)).statusCode, 201);
      assert.equal((await charge(viv.id, { amount: 1, description: '@SUM(A1)' }, viv.headers)).statusCode, 201);
      const csv = (await t.inject({ method: 'GET', url: `/v3/users/${viv.id}/accounts/credit/statement`, headers: { ...admin, accept: 'text/csv' } })).body;
      const rows = parse<Record<string, string>>(csv, { columns: true });
      assert.deepEqual(
        rows.map((r) => [r.value, r.description]),
        [
          ['5', ''],
          ['-1.5', '\'=HYPERLINK("https://evil.example","click")'],
          ['-1', "'@SUM(A1)"],
        ],
      );
    });

    test('an Idempotency-Key makes a retried charge post once', async () => {
      const ola = await person('ola');
      await fund(ola.id, 10);
      const key = { 'idempotency-key': `charge-${engine}-1` };
      const [first, second] = await Promise.all([charge(ola.id, { amount: 3 }, kiosk, key), charge(ola.id, { amount: 3 }, kiosk, key)]);
      assert.equal(first.statusCode, 201);
      assert.equal(second.statusCode, 201);
      assert.equal(first.json<Charge>().id, second.json<Charge>().id);
      assert.equal((await balance(ola.id)).amount, 7);
      const different = await charge(ola.id, { amount: 4 }, kiosk, key);
      assert.equal(different.statusCode, 409, 'the same key with another body is refused');
    });

    test('every write is audited and emits its event', async () => {
      const pam = await person('pam');
      const quin = await person('quin');
      await fund(pam.id, 10);
      const c = (await charge(pam.id, { amount: 1 })).json<Charge>();
      await t.inject({ method: 'POST', url: `/v3/charges/${c.id}/refunds`, headers: kiosk, payload: { reason: 'x' } });
      const a = (await hold(pam.id, { amount: 1 })).json<Hold>();
      const b = (await hold(pam.id, { amount: 1 })).json<Hold>();
      await capture(a.id);
      await release(b.id);
      await transfer(pam.id, { toUserId: quin.id, amount: 1 });
      const wanted = ['charge.posted', 'charge.refunded', 'hold.placed', 'hold.captured', 'hold.released', 'transfer.posted'];
      const subjects = [`charge:${c.id}`, `hold:${a.id}`, `hold:${b.id}`];
      const seen = await events(['charge.*', 'hold.*', 'transfer.*'], (so) => subjects.every((subject) => so.some((e) => e.subject === subject)) && wanted.every((type) => so.some((e) => e.type === type)));
      const types = new Set(seen.map((e) => e.type));
      for (const type of wanted) assert.ok(types.has(type), type);
      const actions = await t.ctx.db.read((q) => q.all<{ action: string }>("SELECT DISTINCT action FROM audit_log WHERE action LIKE 'charge.%' OR action LIKE 'hold.%' OR action LIKE 'transfer.%'"));
      assert.deepEqual(new Set(actions.map((r) => r.action)), new Set(['charge.post', 'charge.refund', 'hold.place', 'hold.capture', 'hold.release', 'transfer.post', ...(actions.some((r) => r.action === 'hold.expire') ? ['hold.expire'] : [])]));
    });

    test('ledger verify notices a held amount that is not the sum of the open holds', async () => {
      const rae = await person('rae');
      await fund(rae.id, 5);
      await hold(rae.id, { amount: 2 });
      await verify();
      await t.ctx.db.write((tx) => tx.run('UPDATE ledger_accounts SET held_minor = held_minor + 1 WHERE user_id = ?', [rae.id]));
      const problems = await t.ctx.ledger.verify();
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /holds 201 but its open holds sum to 200/);
      await t.ctx.db.write((tx) => tx.run('UPDATE ledger_accounts SET held_minor = held_minor - 1 WHERE user_id = ?', [rae.id]));
    });
  });

  describe(`self-service top-up and transfers turned on [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;

    before(async () => {
      t = await startApp(engine, { transfersEnabled: true, selfTopUpMaxMinor: 5000, selfTopUpDailyMinor: 8000 });
      admin = bearer(await t.adminToken());
    });
    after(() => t.close());

    test('a person tops up by card for themselves, within the limits per payment (400) and per 24 hours (429)', async () => {
      const { id } = await t.ctx.pipeline.perform('user.create', { username: `sam-${engine}`, password: 'sam-password' }, CLI_ACTOR);
      let own = bearer(await t.personToken(`sam-${engine}`, 'sam-password', 'credit'));
      const pay = (amount: number, userId = id) => t.inject({ method: 'POST', url: '/v3/rechargeProviders/card/payments', headers: own, payload: { userId, params: { amount, card: GOOD_CARD } } });
      const created = await pay(40);
      assert.equal(created.statusCode, 200, created.body);
      const paymentId = created.json<{ id: string }>().id;
      const committed = await t.inject({ method: 'POST', url: `/v3/rechargeProviders/card/payments/${paymentId}/commit`, headers: own });
      assert.equal(committed.statusCode, 200, committed.body);
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${id}/accounts/credit/balance`, headers: own })).json<Balance>().amount, 40);

      const tooBig = await pay(50.01);
      assert.equal(tooBig.statusCode, 400);
      assert.match(tooBig.json<ErrorBody>().message, /self-service top-up limit of 50\.00 EUR per payment/);
      assert.equal(tooBig.json<ErrorBody>().data[0]?.field, 'params.amount');

      const second = await pay(40);
      assert.equal(second.statusCode, 200, 'an uncommitted payment counts as well');
      const overDaily = await pay(1);
      assert.equal(overDaily.statusCode, 429);
      assert.match(overDaily.json<ErrorBody>().message, /80\.00 EUR per 24 hours/);
      assert.equal(overDaily.headers['retry-after'], '86400');
      t.clock.advance(86_400_000);
      own = bearer(await t.personToken(`sam-${engine}`, 'sam-password', 'credit'));
      admin = bearer(await t.adminToken());
      const nextDay = await pay(1);
      assert.equal(nextDay.statusCode, 200, nextDay.body);

      const { id: other } = await t.ctx.pipeline.perform('user.create', { username: `tia-${engine}` }, CLI_ACTOR);
      assert.equal((await pay(1, other)).statusCode, 403, 'for themselves only');
      const byAdmin = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/card/payments', headers: admin, payload: { userId: id, params: { amount: 500, card: GOOD_CARD } } });
      assert.equal(byAdmin.statusCode, 200, 'managePayments is not held to the self-service limits');
    });

    test('with PURSE_TRANSFERS=on a person transfers from their own account, never from another’s', async () => {
      const { id: uma } = await t.ctx.pipeline.perform('user.create', { username: `uma-${engine}`, password: 'uma-password' }, CLI_ACTOR);
      const { id: vic } = await t.ctx.pipeline.perform('user.create', { username: `vic-${engine}` }, CLI_ACTOR);
      await t.inject({ method: 'POST', url: `/v3/users/${uma}/accounts/credit/recharge`, headers: admin, payload: { amount: 5 } });
      const own = bearer(await t.personToken(`uma-${engine}`, 'uma-password', 'credit'));
      const sent = await t.inject({ method: 'POST', url: `/v3/users/${uma}/accounts/credit/transfers`, headers: own, payload: { toUserId: vic, amount: 2 } });
      assert.equal(sent.statusCode, 201, sent.body);
      const back = await t.inject({ method: 'POST', url: `/v3/users/${vic}/accounts/credit/transfers`, headers: own, payload: { toUserId: uma, amount: 1 } });
      assert.equal(back.statusCode, 403);
      assert.deepEqual([...(await t.ctx.ledger.verify()), ...(await t.ctx.spending.verify())], []);
    });
  });
}

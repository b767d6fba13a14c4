// Property test of the recharge lifecycle against a model: random sequences of external payments
// (create, update, commit, rollback), clock moves with an expiry sweep, and manual recharges (signed)
// over three fresh people per run, all through HTTP. Every answer must be the status the model
// expects and never a 5xx; after each run the ledger and the payments verify clean, every balance
// is what the model committed, and every payment is in the state the model says.
// Set PROPERTY_SEED to replay a run, PROPERTY_RUNS for a longer one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { LightMyRequestResponse } from 'fastify';
import fc from 'fast-check';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 25);
const SEED = process.env.PROPERTY_SEED === undefined || process.env.PROPERTY_SEED === '' ? undefined : Number(process.env.PROPERTY_SEED);

const PAYMENTS = '/v3/rechargeProviders/external/payments';
/** The default PURSE_PAYMENT_TTL_SECONDS (checked in before()). */
const PAYMENT_TTL_MS = 1800 * 1000;
const USERS_PER_RUN = 3;
/** Payment ids far above anything a run creates, for the "no such payment" cases. */
const UNKNOWN_ID_BASE = 2 ** 33;

type PaymentState = 'created' | 'committed' | 'rolledBack' | 'expired';

/** How an amount travels: a JSON number, a string with two decimals, or the shortest string. */
type AmountFormat = 'number' | 'fixed' | 'short';

interface Amount {
  cents: number;
  format: AmountFormat;
}

/** A payment of this run (picked modulo how many exist), or an id that does not exist. */
type Target = { kind: 'known'; pick: number } | { kind: 'unknown'; offset: number };

type Op =
  | { op: 'create'; user: number; amount: Amount }
  | { op: 'update'; target: Target; amount: Amount }
  | { op: 'commit'; target: Target }
  | { op: 'rollback'; target: Target; reason: string }
  | { op: 'expire'; advanceMs: number }
  | { op: 'manual'; user: number; amount: Amount };

interface ModelPayment {
  id: number;
  userId: number;
  cents: number;
  state: PaymentState;
  expiresAtMs: number;
}

interface ModelUser {
  id: number;
  cents: number;
}

interface CreatedBody {
  id: string;
  userId: number;
  amount: number;
  params: Record<string, unknown>;
}

interface PaymentBody {
  id: number;
  userId: number;
  amount: number;
  state: PaymentState;
  reason?: string;
}

interface RechargeResultBody {
  transactionId: number;
  amount: number;
  balance: number;
}

const toCents = (amount: number): number => Math.round(amount * 100);

/** The amount as the client sends it; every form means exactly `cents`. */
function encode(amount: Amount): number | string {
  if (amount.format === 'number') return amount.cents / 100;
  const abs = Math.abs(amount.cents);
  const fixed = `${amount.cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  return amount.format === 'fixed' ? fixed : fixed.replace(/\.?0+$/, '');
}

// ---- generators ---------------------------------------------------------------------------------

const amountArb = (min: number, max: number): fc.Arbitrary<Amount> =>
  fc.record({ cents: fc.integer({ min, max }), format: fc.constantFrom<AmountFormat>('number', 'fixed', 'short') });

const userArb = fc.nat({ max: USERS_PER_RUN - 1 });

const targetArb: fc.Arbitrary<Target> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ kind: fc.constant('known' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unknown' as const), offset: fc.nat({ max: 1000 }) }) },
);

/** Up to 2000 s, with the expiry boundary itself (TTL − 1 ms, TTL, TTL + 1 ms) drawn on purpose. */
const advanceArb = fc.oneof(fc.integer({ min: 0, max: 2000 * 1000 }), fc.constantFrom(PAYMENT_TTL_MS - 1, PAYMENT_TTL_MS, PAYMENT_TTL_MS + 1, PAYMENT_TTL_MS / 2));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('create' as const), user: userArb, amount: amountArb(1, 500_00) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('update' as const), target: targetArb, amount: amountArb(1, 500_00) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('commit' as const), target: targetArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rollback' as const), target: targetArb, reason: fc.string({ maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), advanceMs: advanceArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('manual' as const), user: userArb, amount: amountArb(-300_00, 300_00) }) },
);

/** A fixed sequence run before the random ones, so every interesting outcome is hit at least once. */
const known = (pick: number): Target => ({ kind: 'known', pick });
const cents = (n: number): Amount => ({ cents: n, format: 'number' });
const EXAMPLE: Op[] = [
  { op: 'create', user: 0, amount: cents(1250) }, // payment 0
  { op: 'update', target: known(0), amount: { cents: 1999, format: 'fixed' } },
  { op: 'commit', target: known(0) }, // 200, user 0 has 19.99
  { op: 'commit', target: known(0) }, // 409 committed
  { op: 'update', target: known(0), amount: cents(1) }, // 409 committed
  { op: 'rollback', target: known(0), reason: 'too late' }, // 409 committed
  { op: 'manual', user: 0, amount: cents(-2000) }, // 409 below zero
  { op: 'manual', user: 0, amount: { cents: -1999, format: 'short' } }, // 200, back to 0
  { op: 'manual', user: 1, amount: cents(0) }, // 400
  { op: 'create', user: 1, amount: { cents: 50000, format: 'short' } }, // payment 1
  { op: 'rollback', target: known(1), reason: '' }, // 200
  { op: 'commit', target: known(1) }, // 409 rolledBack
  { op: 'create', user: 2, amount: cents(1) }, // payment 2
  { op: 'create', user: 2, amount: cents(2) }, // payment 3
  { op: 'expire', advanceMs: PAYMENT_TTL_MS - 1 }, // nothing expires yet
  { op: 'commit', target: known(3) }, // 200 with 1 ms to spare
  { op: 'expire', advanceMs: 1 }, // payment 2 expires exactly at its deadline
  { op: 'commit', target: known(2) }, // 409 expired
  { op: 'create', user: 1, amount: cents(300) }, // payment 4
  { op: 'manual', user: 2, amount: cents(5) },
  { op: 'expire', advanceMs: 0 },
  { op: 'commit', target: { kind: 'unknown', offset: 7 } }, // 404
  { op: 'update', target: { kind: 'unknown', offset: 7 }, amount: cents(1) }, // 404
  { op: 'rollback', target: { kind: 'unknown', offset: 7 }, reason: 'x' }, // 404
];
/** Run with `overdueTouch`: the three pass their deadline unswept, and touching each expires it (409). */
const OVERDUE_EXAMPLE: Op[] = [
  { op: 'create', user: 0, amount: cents(100) },
  { op: 'create', user: 0, amount: cents(200) },
  { op: 'create', user: 0, amount: cents(300) },
  { op: 'manual', user: 0, amount: cents(50) },
];

// ---- the property -------------------------------------------------------------------------------

for (const engine of ENGINES) {
  describe(`recharge lifecycle property [${engine}]`, () => {
    let t: TestApp;
    let runNo = 0;
    /** `op:status` pairs seen over all runs, to show the runs reached every outcome. */
    const seen = new Set<string>();

    before(async () => {
      t = await startApp(engine);
      assert.equal(t.ctx.config.paymentTtlSeconds * 1000, PAYMENT_TTL_MS);
    });
    after(() => t.close());

    /**
     * Runs one sequence against the model. `overdueTouch`: after the ops, let every created
     * payment pass its deadline without a sweep and touch each one (commit, update, rollback in
     * turn), each of which must expire it and answer 409.
     */
    async function run(ops: Op[], overdueTouch = false): Promise<void> {
      runNo += 1;
      // Payments left created by earlier runs would change the sweep's count: expire them first.
      t.clock.advance(PAYMENT_TTL_MS);
      await t.ctx.recharge.expireOverdue();

      let token = await t.adminToken();
      const trace: string[] = [];
      const where = (): string => `\n--- ops so far [${engine}, run ${runNo}] ---\n${trace.join('\n')}`;
      const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: Record<string, unknown>): Promise<LightMyRequestResponse> => {
        const res = await t.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload }) });
        trace.push(`${method} ${url} ${JSON.stringify(payload ?? null)} → ${res.statusCode} ${res.body}`);
        assert.ok(res.statusCode < 500, `5xx answer${where()}`);
        return res;
      };
      const expectStatus = (res: LightMyRequestResponse, expected: number, op: string): void => {
        seen.add(`${op}:${res.statusCode}`);
        assert.equal(res.statusCode, expected, `${op}: expected ${expected}${where()}`);
      };

      const users: ModelUser[] = [];
      for (let i = 0; i < USERS_PER_RUN; i++) {
        const user = await t.ctx.pipeline.perform('user.create', { username: `prop-${runNo}-${i}` }, CLI_ACTOR);
        users.push({ id: user.id, cents: 0 });
      }
      const userAt = (index: number): ModelUser => {
        const user = users[index % users.length];
        if (user === undefined) throw new Error('no users');
        return user;
      };
      const payments: ModelPayment[] = [];
      const resolve = (target: Target): { id: number; payment: ModelPayment | undefined } => {
        if (target.kind === 'known') {
          const payment = payments[target.pick % Math.max(payments.length, 1)];
          if (payment !== undefined) return { id: payment.id, payment };
        }
        return { id: UNKNOWN_ID_BASE + (target.kind === 'unknown' ? target.offset : target.pick % 1000), payment: undefined };
      };
      /**
       * What a request that changes `payment` now must answer, and what it does to the model:
       * 404 when missing; 409 when final, or when created but overdue (then expired on the spot).
       */
      const touch = (payment: ModelPayment | undefined): number | 'live' => {
        if (payment === undefined) return 404;
        if (payment.state !== 'created') return 409;
        if (t.clock.nowMs() >= payment.expiresAtMs) {
          payment.state = 'expired';
          return 409;
        }
        return 'live';
      };

      const apply = async (op: Op): Promise<void> => {
        switch (op.op) {
          case 'create': {
            const user = userAt(op.user);
            const res = await call('POST', PAYMENTS, { userId: user.id, params: { amount: encode(op.amount) } });
            expectStatus(res, 200, 'create');
            const body = res.json<CreatedBody>();
            assert.equal(body.userId, user.id);
            assert.equal(toCents(body.amount), op.amount.cents, `create amount${where()}`);
            payments.push({ id: Number(body.id), userId: user.id, cents: op.amount.cents, state: 'created', expiresAtMs: t.clock.nowMs() + PAYMENT_TTL_MS });
            return;
          }
          case 'update': {
            const { id, payment } = resolve(op.target);
            const res = await call('PATCH', `${PAYMENTS}/${id}`, { params: { amount: encode(op.amount) } });
            const expected = touch(payment);
            expectStatus(res, expected === 'live' ? 204 : expected, 'update');
            if (expected === 'live' && payment !== undefined) payment.cents = op.amount.cents;
            return;
          }
          case 'commit': {
            const { id, payment } = resolve(op.target);
            const res = await call('POST', `${PAYMENTS}/${id}/commit`);
            const expected = touch(payment);
            expectStatus(res, expected === 'live' ? 200 : expected, 'commit');
            if (expected === 'live' && payment !== undefined) {
              assert.equal(toCents(res.json<{ amount: number }>().amount), payment.cents, `commit amount${where()}`);
              payment.state = 'committed';
              const owner = users.find((u) => u.id === payment.userId);
              assert.ok(owner !== undefined);
              owner.cents += payment.cents;
            }
            return;
          }
          case 'rollback': {
            const { id, payment } = resolve(op.target);
            const res = await call('POST', `${PAYMENTS}/${id}/rollback`, { reason: op.reason });
            const expected = touch(payment);
            expectStatus(res, expected === 'live' ? 200 : expected, 'rollback');
            if (expected === 'live' && payment !== undefined) {
              const body = res.json<PaymentBody>();
              assert.equal(body.state, 'rolledBack', `rollback state${where()}`);
              assert.equal(body.reason, op.reason, `rollback reason${where()}`);
              payment.state = 'rolledBack';
            }
            return;
          }
          case 'expire': {
            t.clock.advance(op.advanceMs);
            const now = t.clock.nowMs();
            const due = payments.filter((p) => p.state === 'created' && p.expiresAtMs <= now);
            const swept = await t.ctx.recharge.expireOverdue();
            trace.push(`advance ${op.advanceMs} ms, sweep → ${swept}`);
            assert.equal(swept, due.length, `sweep count${where()}`);
            for (const p of due) p.state = 'expired';
            token = await t.adminToken(); // the clock may have outrun the access token
            return;
          }
          case 'manual': {
            const user = userAt(op.user);
            const res = await call('POST', `/v3/users/${user.id}/accounts/credit/recharge`, { amount: encode(op.amount) });
            const next = user.cents + op.amount.cents;
            const expected = op.amount.cents === 0 ? 400 : next < 0 ? 409 : 200;
            expectStatus(res, expected, 'manual');
            if (expected === 200) {
              const body = res.json<RechargeResultBody>();
              assert.equal(toCents(body.amount), op.amount.cents, `manual amount${where()}`);
              assert.equal(toCents(body.balance), next, `manual balance${where()}`);
              user.cents = next;
            }
            return;
          }
        }
      };

      for (const op of ops) await apply(op);

      if (overdueTouch) {
        const live = payments.filter((p) => p.state === 'created');
        const lastDeadline = Math.max(t.clock.nowMs(), ...live.map((p) => p.expiresAtMs));
        t.clock.advance(lastDeadline - t.clock.nowMs());
        token = await t.adminToken();
        const touches: Op['op'][] = ['commit', 'update', 'rollback'];
        for (const [i, p] of live.entries()) {
          const kind = touches[i % touches.length] ?? 'commit';
          const index = payments.indexOf(p);
          if (kind === 'commit') await apply({ op: 'commit', target: known(index) });
          else if (kind === 'update') await apply({ op: 'update', target: known(index), amount: cents(123) });
          else await apply({ op: 'rollback', target: known(index), reason: 'late' });
          assert.equal(p.state, 'expired');
        }
      }

      // ---- the invariants ----
      assert.deepEqual(await t.ctx.ledger.verify(), [], `ledger.verify${where()}`);
      assert.deepEqual(await t.ctx.recharge.verify(), [], `recharge.verify${where()}`);
      for (const user of users) {
        const res = await call('GET', `/v3/users/${user.id}/accounts/credit/balance`);
        expectStatus(res, 200, 'balance');
        assert.equal(toCents(res.json<{ amount: number }>().amount), user.cents, `balance of user ${user.id}${where()}`);
      }
      for (const payment of payments) {
        const res = await call('GET', `${PAYMENTS}/${payment.id}`);
        expectStatus(res, 200, 'get');
        const body = res.json<PaymentBody>();
        assert.equal(body.state, payment.state, `state of payment ${payment.id}${where()}`);
        assert.equal(toCents(body.amount), payment.cents, `amount of payment ${payment.id}${where()}`);
        assert.equal(body.userId, payment.userId, `owner of payment ${payment.id}${where()}`);
      }
    }

    test('fixed sequences: every outcome of the lifecycle once', async () => {
      await run(EXAMPLE);
      await run(OVERDUE_EXAMPLE, true);
      for (const outcome of ['create:200', 'update:204', 'update:409', 'update:404', 'commit:200', 'commit:409', 'commit:404', 'rollback:200', 'rollback:409', 'rollback:404', 'manual:200', 'manual:409', 'manual:400']) {
        assert.ok(seen.has(outcome), `never saw ${outcome}: ${[...seen].sort().join(', ')}`);
      }
    });

    test(`random operation sequences keep ledger, balances and payment states as the model says (${NUM_RUNS} runs)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.boolean(), async (ops, overdueTouch) => {
          await run(ops, overdueTouch);
        }),
        { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
    });
  });
}

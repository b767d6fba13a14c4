// The recharge-payment lifecycle (DESIGN.md "Recharge payments"):
//   created → committed | rolledBack | expired
// Only a live `created` payment can be updated, committed or rolled back; anything else is a 409
// naming the state. Commit flips the state and posts the ledger transaction in one write unit.
import { recordAudit } from '../audit.js';
import { actorOf, CLI_ACTOR, type Actor, type Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { Db, Tx } from '../db/index.js';
import { hasRight } from '../auth/scopes.js';
import { AppError, conflict, forbidden, invalid, notFound } from '../errors.js';
import type { Afterward } from '../idempotency/plugin.js';
import type { LedgerService } from '../ledger/service.js';
import { TtlCache } from '../ttl-cache.js';
import type { UsersService } from '../users/service.js';

import type { RechargeProvider, ReleaseReason } from './providers.js';
import * as store from './store.js';

/** MyQ's message, verbatim (spec file 001). */
export const PROVIDER_DISABLED_MESSAGE = 'Invalid operation: The operation cannot be performed in the current state. Payment provider is disabled.';

/** Most overdue payments expired per sweep; the sweeper loops until none is left. */
const SWEEP_BATCH = 500;

export interface CreatePaymentInput {
  userId: number;
  description?: string;
  params?: unknown;
}

export interface UpdatePaymentInput {
  description?: string;
  params?: unknown;
}

type Outcome = { ok: true; row: store.PaymentRow } | { ok: false; error: AppError };

export class RechargeService {
  private readonly providers = new Map<string, RechargeProvider>();
  /** Provider on/off, read by every create; cleared when this process changes it. */
  private readonly enabled: TtlCache<string, boolean>;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ledger: LedgerService,
    private readonly users: UsersService,
    private readonly paymentTtlSeconds: number,
  ) {
    this.enabled = new TtlCache(clock);
  }

  register(provider: RechargeProvider): void {
    if (this.providers.has(provider.reference)) throw new Error(`provider ${provider.reference} registered twice`);
    this.providers.set(provider.reference, provider);
  }

  references(): string[] {
    return [...this.providers.keys()];
  }

  // ---- providers ------------------------------------------------------------------------------

  provider(reference: string): RechargeProvider {
    const provider = this.providers.get(reference);
    if (provider === undefined) throw notFound(`no recharge provider "${reference}"`);
    return provider;
  }

  async isEnabled(reference: string): Promise<boolean> {
    const cached = this.enabled.get(reference);
    if (cached !== undefined) return cached;
    const row = await this.db.read((q) => store.providerEnabled(q, reference));
    const enabled = row === undefined || row.enabled === 1;
    this.enabled.set(reference, enabled);
    return enabled;
  }

  async listProviders(includeDisabled: boolean): Promise<{ provider: RechargeProvider; enabled: boolean }[]> {
    const all = await Promise.all([...this.providers.values()].map(async (provider) => ({ provider, enabled: await this.isEnabled(provider.reference) })));
    return all.filter((p) => includeDisabled || p.enabled);
  }

  async setEnabled(reference: string, enabled: boolean, actor: Actor, afterward?: Afterward<boolean>): Promise<void> {
    this.provider(reference);
    await this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      await store.setProviderEnabled(tx, reference, enabled, now);
      await recordAudit(tx, actor, { action: enabled ? 'provider.enable' : 'provider.disable', subject: `provider:${reference}` }, now);
      await afterward?.(tx, enabled);
    });
    this.enabled.clear();
  }

  // ---- the lifecycle --------------------------------------------------------------------------

  async create(reference: string, input: CreatePaymentInput, principal: Principal | null, afterward?: Afterward<store.PaymentRow>): Promise<store.PaymentRow> {
    const provider = this.provider(reference);
    await this.assertMayAct(provider, principal, () => Promise.resolve(input.userId));
    if (!(await this.isEnabled(reference))) throw conflict(PROVIDER_DISABLED_MESSAGE);
    const active = await this.users.isActive(input.userId);
    if (active === undefined) throw invalid(`user ${input.userId} does not exist`, [{ field: 'userId', problem: 'no such user' }]);
    if (!active) throw conflict(`user ${input.userId} is not active`, [{ field: 'userId', problem: 'is not active' }]);
    const prepared = await provider.prepare(parseParams(input.params), { currency: this.ledger.currency, userId: input.userId, principal });
    return this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const row = await store.insertPayment(
        tx,
        {
          provider: reference,
          userId: input.userId,
          amountMinor: prepared.amountMinor,
          currency: this.ledger.currency,
          description: input.description ?? '',
          params: JSON.stringify(prepared.params),
          expiresAtMs: now + this.paymentTtlSeconds * 1000,
        },
        now,
      );
      await provider.onCreate?.(tx, row, now, prepared.hold);
      await afterward?.(tx, row);
      return row;
    });
  }

  async update(reference: string, id: number, input: UpdatePaymentInput, principal: Principal | null, afterward?: Afterward<null>): Promise<void> {
    const provider = this.provider(reference);
    const current = await this.get(reference, id);
    await this.assertMayAct(provider, principal, () => Promise.resolve(current.user_id));
    if (input.params !== undefined && provider.paramsChangeable === false) {
      throw conflict(`the params of a ${reference} payment cannot change; roll it back and create another`, [{ field: 'params', problem: 'cannot change' }]);
    }
    const prepared = input.params === undefined ? undefined : await provider.prepare(parseParams(input.params), { currency: this.ledger.currency, userId: current.user_id, principal });
    const outcome = await this.db.write(async (tx): Promise<Outcome> => {
      const now = this.clock.nowMs();
      const changes = {
        amountMinor: prepared?.amountMinor ?? current.amount_minor,
        description: input.description ?? current.description,
        params: prepared === undefined ? current.params : JSON.stringify(prepared.params),
      };
      if (!(await store.updateLive(tx, reference, id, changes, now))) return this.notLive(tx, reference, id, now);
      await afterward?.(tx, null);
      return { ok: true, row: current };
    });
    if (!outcome.ok) throw outcome.error;
  }

  async commit(reference: string, id: number, principal: Principal | null, afterward?: Afterward<store.PaymentRow>): Promise<store.PaymentRow> {
    const provider = this.provider(reference);
    await this.assertMayAct(provider, principal, async () => (await this.get(reference, id)).user_id);
    const outcome = await this.db.write(async (tx): Promise<Outcome> => {
      const now = this.clock.nowMs();
      const row = await store.transition(tx, reference, id, 'committed', now);
      if (row === undefined) return this.notLive(tx, reference, id, now);
      const actor: Actor = principal === null ? CLI_ACTOR : actorOf(principal);
      await this.ledger.creditUser(tx, { kind: 'recharge', provider: reference, paymentId: id, description: row.description, actor, userId: row.user_id, amountMinor: row.amount_minor }, now);
      await provider.onCommit?.(tx, row, now, actor);
      await afterward?.(tx, row);
      return { ok: true, row };
    });
    if (!outcome.ok) throw outcome.error;
    return outcome.row;
  }

  async rollback(reference: string, id: number, reason: string, principal: Principal | null, afterward?: Afterward<store.PaymentRow>): Promise<store.PaymentRow> {
    const provider = this.provider(reference);
    await this.assertMayAct(provider, principal, async () => (await this.get(reference, id)).user_id);
    const outcome = await this.db.write(async (tx): Promise<Outcome> => {
      const now = this.clock.nowMs();
      const row = await store.transition(tx, reference, id, 'rolledBack', now, reason);
      if (row === undefined) return this.notLive(tx, reference, id, now);
      await provider.onRelease?.(tx, row, 'rolledBack', now);
      await afterward?.(tx, row);
      return { ok: true, row };
    });
    if (!outcome.ok) throw outcome.error;
    return outcome.row;
  }

  /**
   * Payments need the right managePayments ("Logged user MUST have right Manage payments"); a
   * self-service provider also lets a person act on payments for themselves.
   */
  private async assertMayAct(provider: RechargeProvider, principal: Principal | null, userIdOf: () => Promise<number>): Promise<void> {
    if (principal === null || hasRight(principal.rights, 'managePayments')) return;
    if (provider.selfService === true && principal.userId === (await userIdOf())) return;
    throw forbidden(provider.selfService === true ? 'this needs the right managePayments, or a payment for yourself' : 'this needs the right "managePayments"');
  }

  /**
   * Why a payment could not change: not there (404), overdue (expired now, in this same unit,
   * and 409), or in another state (409 naming it). Returned, not thrown, so that the expiry
   * is committed with the answer.
   */
  private async notLive(tx: Tx, reference: string, id: number, nowMs: number): Promise<Outcome> {
    const row = await store.getPayment(tx, reference, id);
    if (row === undefined) return { ok: false, error: notFound(`payment ${id} not found`) };
    if (row.state === 'created') {
      await this.expire(tx, row.provider, row.id, nowMs);
      return { ok: false, error: conflict(`payment ${id} has expired`) };
    }
    return { ok: false, error: conflict(`payment ${id} is ${row.state}; only a created payment can change`) };
  }

  private async expire(tx: Tx, reference: string, id: number, nowMs: number): Promise<void> {
    const row = await store.transition(tx, reference, id, 'expired', nowMs);
    if (row === undefined) return;
    await this.providers.get(reference)?.onRelease?.(tx, row, 'expired' satisfies ReleaseReason, nowMs);
  }

  /** Marks every overdue payment expired and releases what it held; returns how many. */
  async expireOverdue(): Promise<number> {
    let total = 0;
    for (;;) {
      const due = await this.db.read((q) => store.overdue(q, this.clock.nowMs(), SWEEP_BATCH));
      for (const payment of due) await this.db.write((tx) => this.expire(tx, payment.provider, payment.id, this.clock.nowMs()));
      total += due.length;
      if (due.length < SWEEP_BATCH) return total;
    }
  }

  // ---- reads ----------------------------------------------------------------------------------

  async get(reference: string, id: number): Promise<store.PaymentRow> {
    this.provider(reference);
    const row = await this.db.read((q) => store.getPayment(q, reference, id));
    if (row === undefined) throw notFound(`payment ${id} not found`);
    return row;
  }

  async list(reference: string, filter: store.PaymentFilter, limit = 100, start = 0): Promise<{ rows: store.PaymentRow[]; count: number }> {
    this.provider(reference);
    return this.db.read((q) => store.listPayments(q, reference, filter, limit, start));
  }

  /** Payments and ledger agree: every commit posted once with its amount, nothing else posted. */
  async verify(): Promise<string[]> {
    return this.db.read(async (q) => [
      ...(await store.unpostedCommits(q)).map((p) => `payment ${p.id}: committed but its ledger transaction is missing or wrong`),
      ...(await store.postedNonCommits(q)).map((p) => `payment ${p.id}: ${p.state} but has a ledger transaction`),
    ]);
  }
}

/** `params` arrives as an object or as JSON text (file 000 shows both). */
function parseParams(raw: unknown): Record<string, unknown> {
  let value: unknown = raw ?? {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      throw invalid('params must be an object or JSON text of one', [{ field: 'params', problem: 'is not valid JSON' }]);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('params must be an object', [{ field: 'params', problem: 'must be an object' }]);
  }
  return value as Record<string, unknown>;
}

// The recharge-payment lifecycle as commands:
//   created → committed | rolledBack | expired
// Only a live `created` payment can be updated, committed or rolled back; anything else is a 409
// naming the state. Commit flips the state and posts the ledger transaction in one transaction, with
// a conditional update, so that concurrent commits post exactly once.
import { actorHasRight, actorUserId, isPurseItself, type Actor } from '../auth/principal.js';
import { refuse } from '../commands/pipeline.js';
import type { Command, CommandDefinition, Effects, Refused } from '../commands/types.js';
import type { ReadTx, Tx } from '../db/index.js';
import { AppError, conflict, forbidden, invalid, notFound } from '../errors.js';
import { lockCreditAccount, postCreditFrom } from '../ledger/postings.js';
import { moneyText, withinCeiling } from '../money.js';

import { rulesOf, TOP_UP_LIMITED_PROVIDERS } from './provider-rules.js';
import type { PreparedPayment, RechargeProvider, ReleaseReason } from './providers.js';
import * as store from './store.js';
import { paymentView } from './views.js';

/** MyQ's message, verbatim (MyQ X v3's documentation). */
export const PROVIDER_DISABLED_MESSAGE = 'Invalid operation: The operation cannot be performed in the current state. Payment provider is disabled.';

declare module '../commands/types.js' {
  interface CommandMap {
    'payment.create': { input: { reference: string; userId: number; description?: string; params?: unknown }; output: store.PaymentRow };
    'payment.update': { input: { reference: string; id: number; description?: string; params?: unknown }; output: store.PaymentRow };
    'payment.commit': { input: { reference: string; id: number }; output: store.PaymentRow };
    'payment.rollback': { input: { reference: string; id: number; reason: string }; output: store.PaymentRow };
    'payment.expire': { input: { reference: string; id: number }; output: store.PaymentRow | null };
    'provider.setEnabled': { input: { reference: string; enabled: boolean }; output: { reference: string; enabled: boolean } };
  }
}

/** What the commands need from outside the transaction: the providers' checking half, the settings. */
export interface RechargeDeps {
  provider(reference: string): RechargeProvider;
  /** A payment as committed now, for checks that run before the transaction. */
  payment(reference: string, id: number): Promise<store.PaymentRow>;
  currency: string;
  paymentTtlSeconds: number;
  /** What a person may top up for themselves by card or MB WAY: per payment, and in any 24 hours. */
  selfTopUp: { maxMinor: number; dailyMinor: number };
  /** The most one payment may be for (PURSE_MAX_AMOUNT). */
  maxAmountMinor: number;
  /** The most a balance may hold once a payment is committed (PURSE_MAX_BALANCE). */
  maxBalanceMinor: number;
}

interface PreparedCreate extends PreparedPayment {
  currency: string;
  expiresAtMs: number;
  /** Set when a person tops up for themselves: the most their payments may add up to in 24 hours. */
  dailyLimitMinor: number | null;
}

const DAY_MS = 86_400_000;

/**
 * Payments need the right managePayments ("Logged user MUST have right Manage payments"); a
 * self-service provider also lets a person act on payments for themselves. The one decision for
 * every payment command.
 */
function mayActOnPayment(actor: Actor, reference: string, ownerUserId: number | undefined): void {
  if (actorHasRight(actor, 'managePayments')) return;
  const selfService = rulesOf(reference).selfService === true;
  if (selfService && ownerUserId !== undefined && ownerUserId === actorUserId(actor)) return;
  throw forbidden(selfService ? 'this needs the right managePayments, or a payment for yourself' : 'this needs the right "managePayments"');
}

/** The owner of a payment, read in the command's own transaction (404 when there is none). */
async function authorizeOnPayment(q: ReadTx, command: Command<'payment.update' | 'payment.commit' | 'payment.rollback'>): Promise<void> {
  const { reference, id } = command.input;
  if (actorHasRight(command.actor, 'managePayments')) return;
  const row = await store.getPayment(q, reference, id);
  if (row === undefined) throw notFound(`payment ${id} not found`);
  mayActOnPayment(command.actor, reference, row.user_id);
}

export function rechargeCommands(deps: RechargeDeps): {
  create: CommandDefinition<'payment.create', PreparedCreate>;
  update: CommandDefinition<'payment.update', { amountMinor?: number; params?: string }>;
  commit: CommandDefinition<'payment.commit'>;
  rollback: CommandDefinition<'payment.rollback'>;
  expire: CommandDefinition<'payment.expire'>;
  setEnabled: CommandDefinition<'provider.setEnabled'>;
} {
  /** Before the transaction: a 404 for a provider Purse does not have. */
  const knownProvider = async ({ input }: { input: { reference: string } }): Promise<undefined> => {
    deps.provider(input.reference);
    return undefined;
  };
  return {
    create: {
      name: 'payment.create',
      async prepare({ input, actor, atMs }) {
        const provider = deps.provider(input.reference);
        // Early, with the token's rights: nobody refused anyway makes a provider look anything up.
        mayActOnPayment(actor, input.reference, input.userId);
        const limited = rulesOf(input.reference).topUpLimited === true && !actorHasRight(actor, 'managePayments');
        const context = { currency: deps.currency, userId: input.userId, actor, atMs, ...(limited ? { maxAmountMinor: deps.selfTopUp.maxMinor } : {}) };
        const prepared = await provider.prepare(parseParams(input.params), context);
        withinCeiling(prepared.amountMinor, deps.maxAmountMinor, deps.currency, 'params.amount');
        return { ...prepared, currency: deps.currency, expiresAtMs: atMs + deps.paymentTtlSeconds * 1000, dailyLimitMinor: limited ? deps.selfTopUp.dailyMinor : null };
      },
      authorize: async (_q, { input, actor }) => {
        mayActOnPayment(actor, input.reference, input.userId);
      },
      run: createPayment,
    },
    update: {
      name: 'payment.update',
      async prepare({ input, actor, atMs }) {
        const provider = deps.provider(input.reference);
        if (input.params === undefined) return {};
        const current = await deps.payment(input.reference, input.id);
        mayActOnPayment(actor, input.reference, current.user_id);
        if (rulesOf(input.reference).paramsChangeable === false) {
          throw conflict(`the params of a ${input.reference} payment cannot change; roll it back and create another`, [{ field: 'params', problem: 'cannot change' }]);
        }
        const prepared = await provider.prepare(parseParams(input.params), { currency: deps.currency, userId: current.user_id, actor, atMs });
        withinCeiling(prepared.amountMinor, deps.maxAmountMinor, deps.currency, 'params.amount');
        return { amountMinor: prepared.amountMinor, params: JSON.stringify(prepared.params) };
      },
      authorize: authorizeOnPayment,
      run: updatePayment,
    },
    commit: {
      name: 'payment.commit',
      prepare: knownProvider,
      authorize: authorizeOnPayment,
      run: (tx, command, _prepared, effects) => commitPayment(tx, command, deps.maxBalanceMinor, effects),
    },
    rollback: {
      name: 'payment.rollback',
      prepare: knownProvider,
      authorize: authorizeOnPayment,
      run: rollbackPayment,
    },
    expire: {
      name: 'payment.expire',
      authorize: async (_q, { actor }) => {
        if (!isPurseItself(actor)) throw forbidden('payments expire by themselves');
      },
      run: async (tx, { input, atMs }, _prepared, effects) => expire(tx, input.reference, input.id, atMs, effects),
    },
    setEnabled: {
      name: 'provider.setEnabled',
      prepare: knownProvider,
      authorize: async (_q, { actor }) => {
        if (!actorHasRight(actor, 'manageSettings')) throw forbidden('this needs the right "manageSettings"');
      },
      run: setEnabled,
    },
  };
}

// ---- the transaction scripts --------------------------------------------------------------------

async function createPayment(tx: Tx, command: Command<'payment.create'>, prepared: PreparedCreate, effects: Effects): Promise<store.PaymentRow | Refused> {
  const { input, atMs } = command;
  const rules = rulesOf(input.reference);
  if (prepared.dailyLimitMinor !== null) await assertWithinDailyLimit(tx, input.userId, prepared.amountMinor, prepared.dailyLimitMinor, prepared.currency, atMs);
  if (prepared.declined !== undefined) {
    // A decline is kept only for a payment that could otherwise have been created.
    const blocked = await whyNotCreated(tx, input.userId, input.reference);
    if (blocked !== undefined) throw blocked;
    await rules.onDecline?.(tx, prepared, atMs, effects);
    effects.about(`user:${input.userId}`, { provider: input.reference, declined: prepared.declined });
    return refuse(declinedError(prepared.declined));
  }
  const row = await store.insertPayment(
    tx,
    { provider: input.reference, userId: input.userId, amountMinor: prepared.amountMinor, currency: prepared.currency, description: input.description ?? '', params: JSON.stringify(prepared.params), expiresAtMs: prepared.expiresAtMs },
    atMs,
  );
  if (row === undefined) throw (await whyNotCreated(tx, input.userId, input.reference)) ?? new Error('a payment insert wrote nothing, for no reason found');
  await rules.onCreate?.(tx, row, prepared.hold, atMs, effects);
  effects.about(`payment:${row.id}`, { provider: row.provider, amountMinor: row.amount_minor });
  effects.emit('payment.created', `payment:${row.id}`, paymentView(row, true));
  return row;
}

/**
 * A person's own card and MB WAY top-ups in the last 24 hours, this one included, stay within the
 * daily limit; else 429, with Retry-After saying when enough of them leave the window. The person's
 * account row is locked first, so two top-ups racing cannot both squeeze under the limit.
 */
async function assertWithinDailyLimit(tx: Tx, userId: number, amountMinor: number, limitMinor: number, currency: string, atMs: number): Promise<void> {
  await lockCreditAccount(tx, userId);
  const recent = await store.topUpsSince(tx, userId, TOP_UP_LIMITED_PROVIDERS, atMs - DAY_MS);
  let countedMinor = recent.reduce((sum, row) => sum + row.amount_minor, 0);
  if (countedMinor + amountMinor <= limitMinor) return;
  let retryAtMs = atMs + DAY_MS;
  for (const row of recent) {
    countedMinor -= row.amount_minor;
    if (countedMinor + amountMinor <= limitMinor) {
      retryAtMs = row.created_at_ms + DAY_MS;
      break;
    }
  }
  const money = (minor: number): string => moneyText(minor, currency);
  const spent = recent.reduce((sum, row) => sum + row.amount_minor, 0);
  throw new AppError(
    'rateLimited',
    `the self-service top-up limit of ${money(limitMinor)} per 24 hours would be passed: ${money(spent)} topped up already`,
    [{ field: 'params.amount', problem: `at most ${money(Math.max(0, limitMinor - spent))} more in the next 24 hours` }],
    { 'retry-after': String(Math.max(1, Math.ceil((retryAtMs - atMs) / 1000))) },
  );
}

/** Why a payment for this person and provider cannot be created now; undefined when it can. */
async function whyNotCreated(q: ReadTx, userId: number, reference: string): Promise<AppError | undefined> {
  switch (await store.blocker(q, userId, reference)) {
    case 'noUser':
      return invalid(`user ${userId} does not exist`, [{ field: 'userId', problem: 'no such user' }]);
    case 'inactiveUser':
      return conflict(`user ${userId} is not active`, [{ field: 'userId', problem: 'is not active' }]);
    case 'providerDisabled':
      return conflict(PROVIDER_DISABLED_MESSAGE);
    case undefined:
      return undefined;
  }
}

function declinedError(reason: string): AppError {
  return new AppError('paymentRequired', `the payment was declined: ${reason}`, [{ field: 'params', problem: reason }]);
}

async function updatePayment(tx: Tx, { input, atMs }: Command<'payment.update'>, prepared: { amountMinor?: number; params?: string }, effects: Effects): Promise<store.PaymentRow | Refused> {
  const row = await store.updateLive(tx, input.reference, input.id, { amountMinor: prepared.amountMinor, description: input.description, params: prepared.params }, atMs);
  if (row === undefined) return notLive(tx, input.reference, input.id, atMs, effects);
  effects.about(`payment:${row.id}`, { changed: Object.keys(input).filter((k) => k === 'description' || k === 'params').join(' ') });
  effects.emit('payment.updated', `payment:${row.id}`, paymentView(row, true));
  return row;
}

/**
 * The state change and the credit are one statement on PostgreSQL (postCreditFrom): the payment's
 * amount, person and description are read by the SQL that posts them, not by a round trip before.
 */
async function commitPayment(tx: Tx, { input, actor, atMs }: Command<'payment.commit'>, maxBalanceMinor: number, effects: Effects): Promise<store.PaymentRow | Refused> {
  const committed = await postCreditFrom<store.PaymentRow>(tx, store.transitionSource(input.reference, input.id, 'committed', atMs), { kind: 'recharge', provider: input.reference, paymentId: input.id, actor, maxBalanceMinor }, atMs);
  if (committed === undefined) return notLive(tx, input.reference, input.id, atMs, effects);
  const row = committed.row;
  await rulesOf(row.provider).onCommit?.(tx, row, atMs, effects);
  effects.about(`payment:${row.id}`, { amountMinor: row.amount_minor, userId: row.user_id });
  effects.emit('payment.committed', `payment:${row.id}`, paymentView(row, true));
  return row;
}

async function rollbackPayment(tx: Tx, { input, atMs }: Command<'payment.rollback'>, _prepared: undefined, effects: Effects): Promise<store.PaymentRow | Refused> {
  const row = await store.transition(tx, input.reference, input.id, 'rolledBack', atMs, input.reason);
  if (row === undefined) return notLive(tx, input.reference, input.id, atMs, effects);
  await rulesOf(row.provider).onRelease?.(tx, row, 'rolledBack', atMs, effects);
  effects.about(`payment:${row.id}`, { reason: input.reason });
  effects.emit('payment.rolledBack', `payment:${row.id}`, paymentView(row, true));
  return row;
}

async function setEnabled(tx: Tx, { input, atMs }: Command<'provider.setEnabled'>, _prepared: undefined, effects: Effects): Promise<{ reference: string; enabled: boolean }> {
  await store.setProviderEnabled(tx, input.reference, input.enabled, atMs);
  const result = { reference: input.reference, enabled: input.enabled };
  effects.about(`provider:${input.reference}`, { enabled: input.enabled });
  effects.emit(input.enabled ? 'provider.enabled' : 'provider.disabled', `provider:${input.reference}`, result);
  return result;
}

/**
 * Why a payment could not change: not there (404), overdue (expired now, in this same transaction,
 * and 409), or in another state (409 naming it). The expiry is kept with the answer.
 */
async function notLive(tx: Tx, reference: string, id: number, atMs: number, effects: Effects): Promise<Refused> {
  const row = await store.getPayment(tx, reference, id);
  if (row === undefined) throw notFound(`payment ${id} not found`);
  if (row.state !== 'created') throw conflict(`payment ${id} is ${row.state}; only a created payment can change`);
  await expire(tx, row.provider, row.id, atMs, effects);
  return refuse(conflict(`payment ${id} has expired`));
}

/** Marks an overdue payment expired and releases what it held; null when it was not overdue. */
async function expire(tx: Tx, reference: string, id: number, atMs: number, effects: Effects): Promise<store.PaymentRow | null> {
  const row = await store.transition(tx, reference, id, 'expired', atMs);
  if (row === undefined) return null;
  await rulesOf(reference).onRelease?.(tx, row, 'expired' satisfies ReleaseReason, atMs, effects);
  effects.about(`payment:${row.id}`);
  effects.emit('payment.expired', `payment:${row.id}`, paymentView(row, true));
  return row;
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

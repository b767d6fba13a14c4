// Spending as commands: charges, holds (held → captured | released | expired), refunds of charges
// and transfers between people. Every debit goes through the ledger's one guarded update of the
// available credit (ledger/postings.ts), so no mix of them racing can overdraw an account.
import { actorHasRight, actorLabel, actorUserId, isPurseItself, type Actor } from '../auth/principal.js';
import { refuse } from '../commands/pipeline.js';
import type { Command, CommandDefinition, Effects, Refused } from '../commands/types.js';
import type { ReadTx, Tx } from '../db/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { CREDIT_REFERENCE, changeHeld, InsufficientCredit, postCredit, postCreditRecorded, postTransfer, SPEND_PROVIDER } from '../ledger/postings.js';
import { moneyText, positiveMinor } from '../money.js';

import * as store from './store.js';
import { chargeRefundView, chargeView, holdView, transferView } from './views.js';

declare module '../commands/types.js' {
  interface CommandMap {
    'charge.post': { input: { userId: number; reference: string; amount: unknown; description?: string; externalId?: string }; output: store.ChargeRow };
    'charge.refund': { input: { id: number; amount?: unknown; reason: string }; output: { refund: store.ChargeRefundRow; charge: store.ChargeRow } };
    'hold.place': { input: { userId: number; reference: string; amount: unknown; description?: string; expiresInSeconds?: number }; output: store.HoldRow };
    'hold.capture': { input: { id: number; amount?: unknown }; output: store.ChargeRow };
    'hold.release': { input: { id: number }; output: store.HoldRow };
    'hold.expire': { input: { id: number }; output: store.HoldRow | null };
    'transfer.post': { input: { userId: number; reference: string; toUserId: number; amount: unknown; description?: string }; output: { transfer: store.TransferRow; balanceMinor: number } };
  }
}

/** A hold lasts this long unless asked otherwise: long enough for a print job, short enough not to strand credit. */
export const DEFAULT_HOLD_SECONDS = 900;
/** The longest a hold may reserve credit. */
export const MAX_HOLD_SECONDS = 7 * 86_400;

export interface SpendingDeps {
  currency: string;
  /** PURSE_TRANSFERS: whether people may transfer from their own account. */
  transfersEnabled: boolean;
  /** PURSE_MAX_AMOUNT: the most one charge, hold, capture, refund or transfer may be. */
  maxAmountMinor: number;
  /** PURSE_MAX_BALANCE: the most a balance may hold after a refund or a transfer raised it. */
  maxBalanceMinor: number;
}

interface Amount {
  amountMinor: number;
}

export function spendingCommands(deps: SpendingDeps): {
  charge: CommandDefinition<'charge.post', Amount>;
  refund: CommandDefinition<'charge.refund', { amountMinor: number | null }>;
  hold: CommandDefinition<'hold.place', Amount & { expiresInSeconds: number }>;
  capture: CommandDefinition<'hold.capture', { amountMinor: number | null }>;
  release: CommandDefinition<'hold.release'>;
  expire: CommandDefinition<'hold.expire'>;
  transfer: CommandDefinition<'transfer.post', Amount>;
} {
  const { currency } = deps;
  const money = (minor: number): string => moneyText(minor, currency);
  return {
    charge: {
      name: 'charge.post',
      prepare: async ({ input }) => ({ amountMinor: positiveAmount(input.amount, deps, 'amount') }),
      authorize: async (_q, { input, actor }) => {
        mayDebit(actor, input.userId, 'charging');
      },
      run: (tx, command, { amountMinor }, effects) => postCharge(tx, command, amountMinor, currency, effects),
    },
    refund: {
      name: 'charge.refund',
      prepare: async ({ input }) => ({ amountMinor: optionalAmount(input.amount, deps) }),
      authorize: async (_q, { actor }) => {
        if (!actorHasRight(actor, 'chargeCredit') && !actorHasRight(actor, 'managePayments')) throw forbidden('refunding a charge needs the right "chargeCredit" or "managePayments"');
      },
      run: (tx, command, { amountMinor }, effects) => refundCharge(tx, command, { amountMinor, maxBalanceMinor: deps.maxBalanceMinor }, money, effects),
    },
    hold: {
      name: 'hold.place',
      prepare: async ({ input }) => ({ amountMinor: positiveAmount(input.amount, deps, 'amount'), expiresInSeconds: holdSeconds(input.expiresInSeconds) }),
      authorize: async (_q, { input, actor }) => {
        mayDebit(actor, input.userId, 'placing a hold on');
      },
      run: (tx, command, prepared, effects) => placeHold(tx, command, prepared, currency, effects),
    },
    capture: {
      name: 'hold.capture',
      prepare: async ({ input }) => ({ amountMinor: optionalAmount(input.amount, deps) }),
      authorize: authorizeOnHold,
      run: (tx, command, { amountMinor }, effects) => captureHold(tx, command, amountMinor, money, effects),
    },
    release: {
      name: 'hold.release',
      authorize: authorizeOnHold,
      run: releaseHold,
    },
    expire: {
      name: 'hold.expire',
      authorize: async (_q, { actor }) => {
        if (!isPurseItself(actor)) throw forbidden('holds expire by themselves');
      },
      run: async (tx, { input, atMs }, _prepared, effects) => expireHold(tx, input.id, atMs, effects),
    },
    transfer: {
      name: 'transfer.post',
      prepare: async ({ input }) => {
        if (input.toUserId === input.userId) throw invalid('a transfer needs two people', [{ field: 'toUserId', problem: 'is the sender' }]);
        return { amountMinor: positiveAmount(input.amount, deps, 'amount') };
      },
      authorize: async (_q, { input, actor }) => {
        mayTransfer(actor, input.userId, deps.transfersEnabled);
      },
      run: (tx, command, { amountMinor }, effects) => transfer(tx, command, { amountMinor, maxBalanceMinor: deps.maxBalanceMinor }, currency, effects),
    },
  };
}

// ---- who may ------------------------------------------------------------------------------------

/** Debiting one's own account needs nothing more than the `credit` scope; another's needs chargeCredit. */
function mayDebit(actor: Actor, userId: number, what: string): void {
  if (actorHasRight(actor, 'chargeCredit') || actorUserId(actor) === userId) return;
  throw forbidden(`${what} another person's account needs the right "chargeCredit"`);
}

function mayTransfer(actor: Actor, userId: number, transfersEnabled: boolean): void {
  if (actorHasRight(actor, 'chargeCredit')) return;
  if (actorUserId(actor) !== userId) throw forbidden('transferring from another person\'s account needs the right "chargeCredit"');
  if (!transfersEnabled) throw forbidden('transfers between people are turned off here (PURSE_TRANSFERS=off)');
}

/**
 * Who placed a hold may capture or release it, and holders of chargeCredit. Not the person whose
 * credit a kiosk holds: they could otherwise cancel the hold while the job runs. Those who may not
 * even read the hold get a 404, so that ids reveal nothing.
 */
async function authorizeOnHold(q: ReadTx, { input, actor }: Command<'hold.capture' | 'hold.release'>): Promise<void> {
  if (actorHasRight(actor, 'chargeCredit')) return;
  const hold = await store.getHold(q, input.id);
  const userId = actorUserId(actor);
  if (hold !== undefined && userId !== null && hold.placed_by_user_id === userId) return;
  const mayRead = hold !== undefined && (hold.user_id === userId || actorHasRight(actor, 'manageUsers') || actorHasRight(actor, 'managePayments'));
  if (!mayRead) throw notFound(`hold ${input.id} not found`);
  throw forbidden(`hold ${input.id} was placed by someone else: only they or a holder of the right "chargeCredit" may capture or release it`);
}

// ---- the transaction scripts --------------------------------------------------------------------

async function postCharge(tx: Tx, { input, actor, atMs }: Command<'charge.post'>, amountMinor: number, currency: string, effects: Effects): Promise<store.ChargeRow> {
  const description = input.description ?? '';
  const entry = { kind: 'charge' as const, provider: SPEND_PROVIDER, paymentId: null, description, actor, userId: input.userId, reference: input.reference, amountMinor: -amountMinor, activeOnly: true };
  const record = store.chargeRecord({
    user_id: input.userId,
    reference: input.reference,
    amount_minor: amountMinor,
    currency,
    description,
    external_id: input.externalId ?? null,
    hold_id: null,
    created_by: actorLabel(actor),
    created_at_ms: atMs,
  });
  const row = await releasingOverdue(tx, input.userId, input.reference, atMs, effects, async () => (await postCreditRecorded(tx, entry, record, atMs)).recorded);
  effects.about(`charge:${row.id}`, { userId: row.user_id, amountMinor });
  effects.emit('charge.posted', `charge:${row.id}`, chargeView(row));
  return row;
}

async function placeHold(tx: Tx, { input, actor, atMs }: Command<'hold.place'>, prepared: Amount & { expiresInSeconds: number }, currency: string, effects: Effects): Promise<store.HoldRow> {
  await releasingOverdue(tx, input.userId, input.reference, atMs, effects, () => changeHeld(tx, input.userId, input.reference, prepared.amountMinor, true));
  const row = await store.insertHold(tx, {
    user_id: input.userId,
    reference: input.reference,
    amount_minor: prepared.amountMinor,
    currency,
    description: input.description ?? '',
    created_by: actorLabel(actor),
    placed_by_user_id: actorUserId(actor),
    created_at_ms: atMs,
    expires_at_ms: atMs + prepared.expiresInSeconds * 1000,
  });
  effects.about(`hold:${row.id}`, { userId: row.user_id, amountMinor: row.amount_minor });
  effects.emit('hold.placed', `hold:${row.id}`, holdView(row));
  return row;
}

/** Posts what the job cost (at most what is held) as a charge; the rest of the hold goes back. */
async function captureHold(tx: Tx, { input, actor, atMs }: Command<'hold.capture'>, amountMinor: number | null, money: (minor: number) => string, effects: Effects): Promise<store.ChargeRow | Refused> {
  const hold = await store.captureHold(tx, input.id, amountMinor, atMs);
  if (hold === undefined) return whyNotChanged(tx, input.id, atMs, effects, amountMinor === null ? undefined : { amountMinor, money });
  const capturedMinor = hold.captured_minor ?? hold.amount_minor;
  const entry = { kind: 'charge' as const, provider: SPEND_PROVIDER, paymentId: null, description: hold.description, actor, userId: hold.user_id, reference: hold.reference, amountMinor: -capturedMinor, releaseHeldMinor: hold.amount_minor };
  const record = store.chargeRecord({
    user_id: hold.user_id,
    reference: hold.reference,
    amount_minor: capturedMinor,
    currency: hold.currency,
    description: hold.description,
    external_id: null,
    hold_id: hold.id,
    created_by: actorLabel(actor),
    created_at_ms: atMs,
  });
  const { recorded: charge } = await postCreditRecorded(tx, entry, record, atMs);
  store.queueHoldCharge(tx, hold.id, charge.id);
  effects.about(`hold:${hold.id}`, { capturedMinor, chargeId: charge.id });
  effects.emit('hold.captured', `hold:${hold.id}`, holdView({ ...hold, charge_id: charge.id }));
  effects.emit('charge.posted', `charge:${charge.id}`, chargeView(charge));
  return charge;
}

async function releaseHold(tx: Tx, { input, atMs }: Command<'hold.release'>, _prepared: undefined, effects: Effects): Promise<store.HoldRow | Refused> {
  const hold = await store.closeHold(tx, input.id, 'released', atMs);
  if (hold === undefined) return whyNotChanged(tx, input.id, atMs, effects);
  await changeHeld(tx, hold.user_id, hold.reference, -hold.amount_minor, false);
  effects.about(`hold:${hold.id}`, { amountMinor: hold.amount_minor });
  effects.emit('hold.released', `hold:${hold.id}`, holdView(hold));
  return hold;
}

/**
 * Expires an overdue hold and gives back what it reserved; null when it was not overdue and held.
 * Inside another command (`alongside`) it gets an audit entry of its own.
 */
async function expireHold(tx: Tx, id: number, atMs: number, effects: Effects, alongside = false): Promise<store.HoldRow | null> {
  const hold = await store.closeHold(tx, id, 'expired', atMs);
  if (hold === undefined) return null;
  await changeHeld(tx, hold.user_id, hold.reference, -hold.amount_minor, false);
  if (alongside) effects.audit('hold.expire', `hold:${hold.id}`, { amountMinor: hold.amount_minor });
  else effects.about(`hold:${hold.id}`, { amountMinor: hold.amount_minor });
  effects.emit('hold.expired', `hold:${hold.id}`, holdView(hold));
  return hold;
}

/**
 * Runs a debit; when the available credit does not cover it but holds on the account are overdue
 * (the sweeper has not reached them yet), expires those in this transaction and tries once more.
 * The refusal path only: a debit that fits costs nothing extra.
 */
async function releasingOverdue<T>(tx: Tx, userId: number, reference: string, atMs: number, effects: Effects, debit: () => Promise<T>): Promise<T> {
  try {
    return await debit();
  } catch (error) {
    if (!(error instanceof InsufficientCredit)) throw error;
    const overdue = await store.overdueHoldsOf(tx, userId, reference, atMs);
    if (overdue.length === 0) throw error;
    for (const { id } of overdue) await expireHold(tx, id, atMs, effects, true);
    return debit();
  }
}

/**
 * Why a hold did not change: not there (404), no longer held (409 naming its state), overdue
 * (expired now, in this same transaction, and 409), or asked to capture more than it holds (400).
 */
async function whyNotChanged(tx: Tx, id: number, atMs: number, effects: Effects, capture?: { amountMinor: number; money: (minor: number) => string }): Promise<Refused> {
  const hold = await store.getHold(tx, id);
  if (hold === undefined) throw notFound(`hold ${id} not found`);
  if (hold.state !== 'held') throw conflict(`hold ${id} is ${hold.state}; only a held hold can be captured or released`, [{ field: 'state', problem: `is ${hold.state}` }]);
  if (hold.expires_at_ms <= atMs) {
    await expireHold(tx, id, atMs, effects);
    return refuse(conflict(`hold ${id} has expired`, [{ field: 'state', problem: 'is expired' }]));
  }
  if (capture !== undefined && capture.amountMinor > hold.amount_minor) {
    const held = capture.money(hold.amount_minor);
    throw invalid(`amount is more than the ${held} held`, [{ field: 'amount', problem: `at most ${held}` }]);
  }
  throw new Error(`hold ${id} is held and live, yet did not change`);
}

async function refundCharge(tx: Tx, { input, actor, atMs }: Command<'charge.refund'>, { amountMinor, maxBalanceMinor }: { amountMinor: number | null; maxBalanceMinor: number }, money: (minor: number) => string, effects: Effects): Promise<{ refund: store.ChargeRefundRow; charge: store.ChargeRow }> {
  const current = await store.lockCharge(tx, input.id);
  if (current === undefined) throw notFound(`charge ${input.id} not found`);
  const leftMinor = current.amount_minor - current.refunded_minor;
  if (leftMinor === 0) throw conflict(`charge ${input.id} is already refunded in full`, [{ field: 'amount', problem: `nothing is left to refund` }]);
  const refundMinor = amountMinor ?? leftMinor;
  const charge = await store.addRefunded(tx, input.id, refundMinor);
  if (charge === undefined) {
    const fresh = await store.getCharge(tx, input.id);
    const rest = fresh === undefined ? 0 : fresh.amount_minor - fresh.refunded_minor;
    throw conflict(`refunds would exceed the charge: ${money(rest)} left to refund`, [{ field: 'amount', problem: `at most ${money(rest)}` }]);
  }
  const description = input.reason === '' ? `refund of charge ${charge.id}` : input.reason;
  const posted = await postCredit(tx, { kind: 'chargeRefund', provider: SPEND_PROVIDER, paymentId: null, description, actor, userId: charge.user_id, reference: charge.reference, amountMinor: refundMinor, maxBalanceMinor }, atMs);
  const refund = await store.insertChargeRefund(tx, { charge_id: charge.id, amount_minor: refundMinor, reason: input.reason, ledger_transaction_id: posted.transactionId, created_by: actorLabel(actor), created_at_ms: atMs });
  effects.about(`charge:${charge.id}`, { refundId: refund.id, amountMinor: refundMinor });
  effects.emit('charge.refunded', `charge:${charge.id}`, { ...chargeRefundView(refund, charge.currency), charge: chargeView(charge) });
  return { refund, charge };
}

async function transfer(tx: Tx, { input, actor, atMs }: Command<'transfer.post'>, { amountMinor, maxBalanceMinor }: Amount & { maxBalanceMinor: number }, currency: string, effects: Effects): Promise<{ transfer: store.TransferRow; balanceMinor: number }> {
  const description = input.description ?? `transfer from user ${input.userId} to user ${input.toUserId}`;
  const entry = { fromUserId: input.userId, fromReference: input.reference, toUserId: input.toUserId, toReference: CREDIT_REFERENCE, amountMinor, description, actor, maxBalanceMinor };
  const posted = await releasingOverdue(tx, input.userId, input.reference, atMs, effects, () => postTransfer(tx, entry, atMs));
  const row = await store.insertTransfer(tx, {
    from_user_id: input.userId,
    from_reference: input.reference,
    to_user_id: input.toUserId,
    to_reference: CREDIT_REFERENCE,
    amount_minor: amountMinor,
    currency,
    description,
    ledger_transaction_id: posted.transactionId,
    created_by: actorLabel(actor),
    created_at_ms: atMs,
  });
  effects.about(`transfer:${row.id}`, { userId: input.userId, toUserId: input.toUserId, amountMinor });
  effects.emit('transfer.posted', `transfer:${row.id}`, transferView(row));
  return { transfer: row, balanceMinor: posted.fromBalanceMinor };
}

// ---- checks before the transaction --------------------------------------------------------------

function positiveAmount(value: unknown, { currency, maxAmountMinor }: SpendingDeps, field: string): number {
  if (value === undefined || value === null) throw invalid(`${field} is required`, [{ field, problem: 'is required' }]);
  return positiveMinor(value, currency, field, maxAmountMinor);
}

/** An amount that may be left out (or null): null then, meaning "all of it". */
function optionalAmount(value: unknown, deps: SpendingDeps): number | null {
  return value === undefined || value === null ? null : positiveAmount(value, deps, 'amount');
}

function holdSeconds(value: number | undefined): number {
  if (value === undefined) return DEFAULT_HOLD_SECONDS;
  if (!Number.isInteger(value) || value < 1 || value > MAX_HOLD_SECONDS) {
    throw invalid(`expiresInSeconds must be a whole number from 1 to ${MAX_HOLD_SECONDS} (7 days)`, [{ field: 'expiresInSeconds', problem: `must be 1–${MAX_HOLD_SECONDS}` }]);
  }
  return value;
}

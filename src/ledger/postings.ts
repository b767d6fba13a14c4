// The ledger's rules inside other commands' transactions: double entry (postings summing to zero),
// balances changed only together with their postings, a credit account never below its floor.
// Plain functions of a transaction: no cache, no clock, so that any command script can post.
import crypto from 'node:crypto';

import { actorLabel, type Actor } from '../auth/principal.js';
import type { Tx } from '../db/index.js';
import { AppError, conflict, invalid, notFound } from '../errors.js';
import { assertMinor, currencyExponent, formatMinor } from '../money.js';

import * as store from './store.js';

export const CREDIT_REFERENCE = 'credit';

/** Entry types as the statement shows them (a transfer shows as `transferOut` and `transferIn`). */
export type TransactionKind = 'recharge' | 'manual' | 'refund' | 'charge' | 'chargeRefund' | 'transfer';

/** Where charges go and refunds of charges come from: the credit that was spent. */
export const SPEND_PROVIDER = 'spend';

/**
 * The available credit does not cover a debit: a 402 whose message says both figures. Commands that
 * are not spending (a negative recharge by hand, a refund taking credit back) turn it into their own 409.
 */
export class InsufficientCredit extends AppError {
  /** "2.50 EUR available, 3.00 EUR requested", for other messages. */
  readonly figures: string;

  constructor(availableMinor: number, requestedMinor: number, currency: string) {
    const exponent = currencyExponent(currency) ?? 2;
    const available = `${formatMinor(availableMinor, exponent)} ${currency}`;
    const figures = `${available} available, ${formatMinor(requestedMinor, exponent)} ${currency} requested`;
    super('paymentRequired', `insufficient credit: ${figures}`, [{ field: 'amount', problem: `more than the ${available} available` }]);
    this.name = 'InsufficientCredit';
    this.figures = figures;
  }
}

export interface CreditEntry {
  kind: TransactionKind;
  /** The provider whose system account is the other side (external funding, vouchers, manual …). */
  provider: string;
  paymentId: number | null;
  description: string;
  actor: Actor;
  userId: number;
  /** The person's account; `credit` unless said otherwise. */
  reference?: string;
  /** Into the person's account; negative takes credit out, never below the account's floor. */
  amountMinor: number;
  /** Taken off what the account holds in the same update: a captured hold's whole amount. */
  releaseHeldMinor?: number;
  /** Refuse (409) unless the person is active. */
  activeOnly?: boolean;
}

export interface Posted {
  transactionId: number;
  /** The person's balance after the entry. */
  balanceMinor: number;
}

/** A system account's code: shard 0 is `system:<provider>`, others `system:<provider>#<n>`. */
export function systemAccountCode(provider: string, shard: number): string {
  return shard === 0 ? `system:${provider}` : `system:${provider}#${shard}`;
}

/** Every person has one credit account, opened in the transaction that creates them. */
export async function openCreditAccount(tx: Tx, userId: number, currency: string, atMs: number): Promise<void> {
  await store.ensureAccount(tx, { code: `user:${userId}:${CREDIT_REFERENCE}`, userId, reference: CREDIT_REFERENCE, kind: 'credit', name: 'Credit', currency, overdraftLimitMinor: 0 }, atMs);
}

/** A provider's system account (every shard), created when missing; at start and by first use. */
export async function ensureSystemAccounts(tx: Tx, provider: string, currency: string, atMs: number): Promise<void> {
  for (let shard = 0; shard < tx.dialect.hotRowShards; shard++) {
    await store.ensureAccount(tx, { code: systemAccountCode(provider, shard), userId: null, reference: provider, kind: 'system', name: `System: ${provider}`, currency, overdraftLimitMinor: null }, atMs);
  }
}

/**
 * Moves `amountMinor` between a provider's system account and a person's credit, as one balanced
 * transaction. The person's row is locked first and the system row last — one order for every
 * posting, so two postings on PostgreSQL cannot deadlock, and the busiest row (every recharge touches
 * its provider's system account, spread over `hotRowShards` rows picked at random) is held for the
 * shortest time. A debit the available credit does not cover throws InsufficientCredit (402), and the
 * whole command is undone; `releaseHeldMinor` takes a captured hold off the held amount in the same update.
 */
export async function postCredit(tx: Tx, entry: CreditEntry, atMs: number): Promise<Posted> {
  assertMinor(entry.amountMinor);
  if (entry.amountMinor === 0) throw new Error('a posting of zero');
  const reference = entry.reference ?? CREDIT_REFERENCE;
  const person = await changeAccount(tx, entry.userId, reference, { amountMinor: entry.amountMinor, heldMinor: -(entry.releaseHeldMinor ?? 0), activeOnly: entry.activeOnly === true });
  const transactionId = await store.insertTransaction(tx, { kind: entry.kind, provider: entry.provider, paymentId: entry.paymentId, description: entry.description, actor: actorLabel(entry.actor) }, atMs);
  const system = await systemSide(tx, entry.provider, -entry.amountMinor);
  store.queuePostings(
    tx,
    transactionId,
    [
      { accountId: person.id, amountMinor: entry.amountMinor, balanceAfterMinor: person.balance_minor },
      { accountId: system.id, amountMinor: -entry.amountMinor, balanceAfterMinor: system.balance_minor },
    ],
    atMs,
  );
  return { transactionId, balanceMinor: person.balance_minor };
}

/**
 * Many postings of one provider in one command (a bulk recharge), each its own balanced transaction.
 * Every person's row is changed first, in the order given (callers sort by byAccountLockOrder), and
 * the system account once, last, by the total: a bulk never holds a system row while it waits for
 * a person's, so it cannot deadlock with another bulk, a transfer, a charge or a commit. The system
 * postings' balances-after are the running sum up to that one update. A person's shortfall is
 * handed to `refused` with the entry's index, which answers the error to throw.
 */
export async function postCreditBatch(tx: Tx, provider: string, entries: readonly CreditEntry[], atMs: number, refused: (index: number, error: InsufficientCredit) => AppError): Promise<Posted[]> {
  const people: { entry: CreditEntry; accountId: number; posted: Posted }[] = [];
  for (const [index, entry] of entries.entries()) {
    assertMinor(entry.amountMinor);
    if (entry.amountMinor === 0 || entry.provider !== provider) throw new Error('a batch posting of zero, or of another provider');
    let person: { id: number; balance_minor: number };
    try {
      person = await changeAccount(tx, entry.userId, entry.reference ?? CREDIT_REFERENCE, { amountMinor: entry.amountMinor, heldMinor: 0, activeOnly: entry.activeOnly === true });
    } catch (error) {
      throw error instanceof InsufficientCredit ? refused(index, error) : error;
    }
    const transactionId = await store.insertTransaction(tx, { kind: entry.kind, provider, paymentId: entry.paymentId, description: entry.description, actor: actorLabel(entry.actor) }, atMs);
    people.push({ entry, accountId: person.id, posted: { transactionId, balanceMinor: person.balance_minor } });
  }
  const totalMinor = entries.reduce((sum, entry) => sum + entry.amountMinor, 0);
  const system = await systemSide(tx, provider, -totalMinor);
  let systemBalanceMinor = system.balance_minor + totalMinor;
  for (const { entry, accountId, posted } of people) {
    systemBalanceMinor -= entry.amountMinor;
    store.queuePostings(
      tx,
      posted.transactionId,
      [
        { accountId, amountMinor: entry.amountMinor, balanceAfterMinor: posted.balanceMinor },
        { accountId: system.id, amountMinor: -entry.amountMinor, balanceAfterMinor: systemBalanceMinor },
      ],
      atMs,
    );
  }
  return people.map((p) => p.posted);
}

/**
 * Serializes commands that decide from a person's recent history (a daily limit) on PostgreSQL:
 * the second waits for the first to commit and then sees what it wrote.
 */
export async function lockCreditAccount(tx: Tx, userId: number): Promise<void> {
  await store.lockUserAccount(tx, userId, CREDIT_REFERENCE);
}

/**
 * Reserves credit for a hold (`heldMinor` > 0) or gives it back (< 0): no posting, only the held
 * amount, guarded like a debit. Returns the account's figures after.
 */
export async function changeHeld(tx: Tx, userId: number, reference: string, heldMinor: number, activeOnly: boolean): Promise<{ id: number; balance_minor: number; held_minor: number }> {
  assertMinor(heldMinor);
  return changeAccount(tx, userId, reference, { amountMinor: 0, heldMinor, activeOnly });
}

export interface TransferEntry {
  fromUserId: number;
  fromReference: string;
  toUserId: number;
  toReference: string;
  amountMinor: number;
  description: string;
  actor: Actor;
}

/**
 * The one order in which a command takes several people's account rows on PostgreSQL: by user id,
 * then account reference. Transfers and bulk recharges both follow it, so whichever way the money
 * goes, two of them cannot wait on each other in a circle.
 */
export function byAccountLockOrder(a: { userId: number; reference?: string }, b: { userId: number; reference?: string }): number {
  return a.userId - b.userId || (a.reference ?? CREDIT_REFERENCE).localeCompare(b.reference ?? CREDIT_REFERENCE);
}

/**
 * Moves credit from one person to another as one balanced transaction. Both rows are locked in
 * the order of byAccountLockOrder whichever way the money goes, so two transfers between the same
 * people in opposite directions cannot deadlock on PostgreSQL.
 */
export async function postTransfer(tx: Tx, entry: TransferEntry, atMs: number): Promise<{ transactionId: number; fromBalanceMinor: number; toBalanceMinor: number }> {
  assertMinor(entry.amountMinor);
  if (entry.amountMinor <= 0) throw new Error('a transfer of nothing');
  const from = await accountOf(tx, entry.fromUserId, entry.fromReference);
  const to = await store.getUserAccount(tx, entry.toUserId, entry.toReference);
  if (to === undefined) throw invalid(`user ${entry.toUserId} does not exist`, [{ field: 'toUserId', problem: 'no such user' }]);
  if (from.id === to.id) throw new Error('a transfer to the same account');
  const sides = [
    { account: from, userId: entry.fromUserId, reference: entry.fromReference, change: { amountMinor: -entry.amountMinor, heldMinor: 0, activeOnly: true }, field: 'userId' },
    { account: to, userId: entry.toUserId, reference: entry.toReference, change: { amountMinor: entry.amountMinor, heldMinor: 0, activeOnly: true }, field: 'toUserId' },
  ].sort(byAccountLockOrder);
  const after = new Map<number, number>();
  for (const side of sides) after.set(side.account.id, (await changeAccount(tx, side.userId, side.reference, side.change, side.field)).balance_minor);
  const transactionId = await store.insertTransaction(tx, { kind: 'transfer', provider: 'transfer', paymentId: null, description: entry.description, actor: actorLabel(entry.actor) }, atMs);
  const fromBalanceMinor = after.get(from.id) ?? 0;
  const toBalanceMinor = after.get(to.id) ?? 0;
  store.queuePostings(
    tx,
    transactionId,
    [
      { accountId: from.id, amountMinor: -entry.amountMinor, balanceAfterMinor: fromBalanceMinor },
      { accountId: to.id, amountMinor: entry.amountMinor, balanceAfterMinor: toBalanceMinor },
    ],
    atMs,
  );
  return { transactionId, fromBalanceMinor, toBalanceMinor };
}

async function accountOf(tx: Tx, userId: number, reference: string): Promise<store.AccountRow> {
  const account = await store.getUserAccount(tx, userId, reference);
  if (account === undefined) throw notFound(`user ${userId} has no account "${reference}"`);
  return account;
}

/** One guarded change of a person's account, or the reason it was refused: 404, 409 or 402. */
async function changeAccount(tx: Tx, userId: number, reference: string, change: store.AccountChange, field = 'userId'): Promise<{ id: number; balance_minor: number; held_minor: number }> {
  const row = await store.changeUserAccount(tx, userId, reference, change);
  if (row !== undefined) return row;
  const account = await accountOf(tx, userId, reference);
  if (change.activeOnly && (await store.userActive(tx, userId)) !== true) throw conflict(`user ${userId} is not active`, [{ field, problem: 'is not active' }]);
  const availableMinor = account.balance_minor - account.held_minor + (account.overdraft_limit_minor ?? 0);
  throw new InsufficientCredit(availableMinor, -(change.amountMinor - change.heldMinor), account.currency);
}

async function systemSide(tx: Tx, provider: string, amountMinor: number): Promise<{ id: number; balance_minor: number }> {
  const shards = tx.dialect.hotRowShards;
  const code = systemAccountCode(provider, shards === 1 ? 0 : crypto.randomInt(shards));
  const row = await store.addToSystemBalance(tx, code, amountMinor);
  // Every provider's accounts are created at start (context.ts); missing here is a wiring mistake.
  if (row === undefined) throw new Error(`system account ${code} does not exist`);
  return row;
}

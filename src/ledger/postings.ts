// The ledger's rules inside other commands' transactions: double entry (postings summing to zero),
// balances changed only together with their postings, a credit account never below its floor nor
// above its ceiling, no account past what the books can hold (MAX_TOTAL_MINOR).
// Plain functions of a transaction: no cache, no clock, so that any command script can post.
import crypto from 'node:crypto';

import { actorLabel, type Actor } from '../auth/principal.js';
import type { ReadTx, Returning, Tx } from '../db/index.js';
import { AppError, conflict, invalid, notFound } from '../errors.js';
import { assertMinor, MAX_TOTAL_MINOR, moneyText } from '../money.js';

import * as store from './store.js';

export type { PostedFigures, PostingRecord } from './store.js';

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
    const available = moneyText(availableMinor, currency);
    const figures = `${available} available, ${moneyText(requestedMinor, currency)} requested`;
    super('paymentRequired', `insufficient credit: ${figures}`, [{ field: 'amount', problem: `more than the ${available} available` }]);
    this.name = 'InsufficientCredit';
    this.figures = figures;
  }
}

/** A change would take a balance over the ceiling it may hold: a 400 naming the ceiling. */
export class BalanceCeiling extends AppError {
  constructor(maxBalanceMinor: number, currency: string) {
    const limit = moneyText(maxBalanceMinor, currency);
    super('invalid', `the balance would be more than ${limit}, the most a credit account may hold`, [{ field: 'amount', problem: `would take the balance over ${limit}` }]);
    this.name = 'BalanceCeiling';
  }
}

/** Why a person's account refuses a change; only these two are the caller's to reword. */
export type Refusal = InsufficientCredit | BalanceCeiling;

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
  /**
   * The most the person's balance may hold after a credit (PURSE_MAX_BALANCE); without it only
   * the books' own limit, MAX_TOTAL_MINOR. Every command that raises a balance passes it.
   */
  maxBalanceMinor?: number;
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
  return (await postCreditWith(tx, entry, undefined, atMs)).posted;
}

/**
 * postCredit, and `record` (a charge's row) written with the posting's figures: in the same
 * statement as the posting on PostgreSQL, so that a charge is one round trip and its finish.
 */
export async function postCreditRecorded<R>(tx: Tx, entry: CreditEntry, record: store.PostingRecord<R>, atMs: number): Promise<{ posted: Posted; recorded: R }> {
  const { posted, recorded } = await postCreditWith(tx, entry, record, atMs);
  if (recorded === undefined) throw new Error('a posting was written and its record was not');
  return { posted, recorded };
}

async function postCreditWith<R>(tx: Tx, entry: CreditEntry, record: store.PostingRecord<R> | undefined, atMs: number): Promise<{ posted: Posted; recorded: R | undefined }> {
  assertMinor(entry.amountMinor);
  if (entry.amountMinor === 0) throw new Error('a posting of zero');
  const reference = entry.reference ?? CREDIT_REFERENCE;
  const change = { amountMinor: entry.amountMinor, heldMinor: -(entry.releaseHeldMinor ?? 0), activeOnly: entry.activeOnly === true, maxBalanceMinor: ceilingOf(entry) };
  const code = systemShard(tx, entry.provider);
  const { sides, recorded } = await store.postRecordedSides(tx, { userId: entry.userId, reference, change }, { ...transactionOf(entry), description: entry.description }, { code, amountMinor: -entry.amountMinor, maxMinor: MAX_TOTAL_MINOR }, atMs, record);
  return { posted: await booked(tx, sides, { userId: entry.userId, reference, change, code }, atMs), recorded };
}

/** A credit whose person, amount and description its source decides (postCreditFrom). */
export type SourcedCredit = Omit<CreditEntry, 'userId' | 'amountMinor' | 'description' | 'releaseHeldMinor' | 'activeOnly'>;

/**
 * postCredit into the person, of the amount (above zero) and with the description that `source`
 * returns: a data-modifying statement, such as a payment's state change, RETURNING at least
 * CreditSource's columns. Undefined, with nothing posted, when the source changed no row. On
 * PostgreSQL the source and the posting are one statement (one round trip for a payment's commit,
 * its state check and the ceiling inside it; store.postSidesFrom).
 */
export async function postCreditFrom<R extends store.CreditSource>(tx: Tx, source: Returning<R>, entry: SourcedCredit, atMs: number): Promise<{ row: R; posted: Posted } | undefined> {
  const reference = entry.reference ?? CREDIT_REFERENCE;
  const code = systemShard(tx, entry.provider);
  const { source: row, sides } = await store.postSidesFrom<R>(tx, source, { reference, maxBalanceMinor: ceilingOf(entry) }, transactionOf(entry), { code, maxMinor: MAX_TOTAL_MINOR }, atMs);
  if (row === undefined) return undefined;
  // The sides were written before the row could be checked here; a failed check undoes the whole command.
  assertCredit(row);
  const change = { amountMinor: row.amount_minor, heldMinor: 0, activeOnly: false, maxBalanceMinor: ceilingOf(entry) };
  return { row, posted: await booked(tx, sides, { userId: row.user_id, reference, change, code }, atMs) };
}

function assertCredit(row: store.CreditSource): void {
  assertMinor(row.amount_minor);
  if (row.amount_minor <= 0) throw new Error(`a credit of ${row.amount_minor} from its source: credits are above zero`);
}

function transactionOf(entry: Pick<CreditEntry, 'kind' | 'provider' | 'paymentId' | 'actor'>): Omit<store.NewTransaction, 'description'> {
  return { kind: entry.kind, provider: entry.provider, paymentId: entry.paymentId, actor: actorLabel(entry.actor) };
}

/**
 * A credit posting's sides as written, or why they were not: the person's refusal (404, 409, 402,
 * 400) or the books' limit on the system account; then its two postings, queued.
 */
async function booked(tx: Tx, sides: store.PostedSides, on: { userId: number; reference: string; change: store.AccountChange; code: string }, atMs: number): Promise<Posted> {
  if (sides.person === undefined || sides.transactionId === undefined) throw await refusalOfChange(tx, on.userId, on.reference, on.change);
  if (sides.system === undefined) throw await systemRefusal(tx, on.code);
  const [person, system, transactionId] = [sides.person, sides.system, sides.transactionId];
  store.queuePostings(
    tx,
    transactionId,
    [
      { accountId: person.id, amountMinor: on.change.amountMinor, balanceAfterMinor: person.balance_minor },
      { accountId: system.id, amountMinor: -on.change.amountMinor, balanceAfterMinor: system.balance_minor },
    ],
    atMs,
  );
  return { transactionId, balanceMinor: person.balance_minor };
}

/**
 * Many credit postings of one provider in one command (a bulk recharge), each its own balanced
 * transaction, set-based so that the command holds its locks briefly: the transactions are written
 * first; then the people's credit accounts are locked in user-id order (byAccountLockOrder's), a
 * thousand per statement; every entry is checked against its account's floor and ceiling in the
 * order given (one person's entries apply in that order); the balances and the people's postings are
 * written a thousand per statement, and the system account once, last, by the total. A bulk never holds a system row while
 * it waits for a person's, so it cannot deadlock with another bulk, a transfer, a charge or a
 * commit. Entries' descriptions must differ (a bulk's line numbers): they pair each transaction
 * with its id. A refused entry is handed to `refused` with its index, which answers the error to throw.
 */
export async function postCreditBatch(tx: Tx, provider: string, entries: readonly CreditEntry[], atMs: number, refused: (index: number, error: Refusal) => AppError): Promise<Posted[]> {
  assertBatch(provider, entries);
  // The transactions lock nothing: written before the accounts are locked, they hold no one up.
  const ids = await store.insertTransactions(tx, entries.map((e) => ({ kind: e.kind, provider, paymentId: e.paymentId, description: e.description, actor: actorLabel(e.actor) })), atMs);
  const locked = await store.lockUserAccounts(tx, entries.map((e) => e.userId), CREDIT_REFERENCE);
  const { planned, changes } = planBatch(locked, entries, refused);
  if ((await store.addToBalances(tx, changes)) !== changes.length) throw new Error('a locked account vanished during a batch posting');
  const posted = planned.map(({ entry, balanceAfterMinor }): Posted => ({ transactionId: idOf(ids, entry), balanceMinor: balanceAfterMinor }));
  store.queueManyPostings(tx, planned.map(({ entry, accountId, balanceAfterMinor }) => ({ transactionId: idOf(ids, entry), accountId, amountMinor: entry.amountMinor, balanceAfterMinor })), atMs);
  // The system row last and for the shortest time: every recharge of the provider may want it.
  await tx.flush();
  const totalMinor = entries.reduce((sum, entry) => sum + entry.amountMinor, 0);
  const system = await systemSide(tx, provider, -totalMinor);
  let systemBalanceMinor = system.balance_minor + totalMinor;
  const systemPostings = entries.map((entry) => {
    systemBalanceMinor -= entry.amountMinor;
    return { transactionId: idOf(ids, entry), accountId: system.id, amountMinor: -entry.amountMinor, balanceAfterMinor: systemBalanceMinor };
  });
  store.queueManyPostings(tx, systemPostings, atMs);
  return posted;
}

function idOf(ids: ReadonlyMap<string, number>, entry: CreditEntry): number {
  const id = ids.get(entry.description);
  if (id === undefined) throw new Error(`no transaction id came back for "${entry.description}"`);
  return id;
}

function assertBatch(provider: string, entries: readonly CreditEntry[]): void {
  for (const entry of entries) {
    assertMinor(entry.amountMinor);
    if (entry.amountMinor === 0 || entry.provider !== provider) throw new Error('a batch posting of zero, or of another provider');
    if ((entry.reference ?? CREDIT_REFERENCE) !== CREDIT_REFERENCE || entry.activeOnly === true || entry.releaseHeldMinor !== undefined) throw new Error('a batch posts to credit accounts only, with no other conditions');
  }
  if (new Set(entries.map((e) => e.description)).size !== entries.length) throw new Error('a batch posting needs a distinct description for each entry');
}

interface PlannedEntry {
  entry: CreditEntry;
  accountId: number;
  balanceAfterMinor: number;
}

/** Each entry against its account's floor and ceiling as the entries before it left it; what each account gains in all. */
function planBatch(locked: readonly store.AccountRow[], entries: readonly CreditEntry[], refused: (index: number, error: Refusal) => AppError): { planned: PlannedEntry[]; changes: { accountId: number; amountMinor: number }[] } {
  const byUser = new Map(locked.map((account) => [account.user_id, account]));
  const gainedMinor = new Map<number, number>();
  const planned = entries.map((entry, index): PlannedEntry => {
    const account = byUser.get(entry.userId);
    // Every person has a credit account from their creation on: without one, there is no such person.
    if (account === undefined) throw notFound(`user ${entry.userId} does not exist`);
    const now = { ...account, balance_minor: account.balance_minor + (gainedMinor.get(account.id) ?? 0) };
    const refusal = refusalOf(now, { amountMinor: entry.amountMinor, heldMinor: 0, activeOnly: false, maxBalanceMinor: ceilingOf(entry) });
    if (refusal !== undefined) throw refused(index, refusal);
    gainedMinor.set(account.id, (gainedMinor.get(account.id) ?? 0) + entry.amountMinor);
    return { entry, accountId: account.id, balanceAfterMinor: now.balance_minor + entry.amountMinor };
  });
  return { planned, changes: [...gainedMinor].map(([accountId, amountMinor]) => ({ accountId, amountMinor })) };
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
  return changeAccount(tx, userId, reference, { amountMinor: 0, heldMinor, activeOnly, maxBalanceMinor: MAX_TOTAL_MINOR });
}

export interface TransferEntry {
  fromUserId: number;
  fromReference: string;
  toUserId: number;
  toReference: string;
  amountMinor: number;
  description: string;
  actor: Actor;
  /** The most the receiving balance may hold after it (PURSE_MAX_BALANCE). */
  maxBalanceMinor?: number;
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
  const from = await requireAccount(tx, entry.fromUserId, entry.fromReference);
  const to = await store.getUserAccount(tx, entry.toUserId, entry.toReference);
  if (to === undefined) throw invalid(`user ${entry.toUserId} does not exist`, [{ field: 'toUserId', problem: 'no such user' }]);
  if (from.id === to.id) throw new Error('a transfer to the same account');
  const sides = [
    { account: from, userId: entry.fromUserId, reference: entry.fromReference, change: { amountMinor: -entry.amountMinor, heldMinor: 0, activeOnly: true, maxBalanceMinor: ceilingOf(entry) }, field: 'userId' },
    { account: to, userId: entry.toUserId, reference: entry.toReference, change: { amountMinor: entry.amountMinor, heldMinor: 0, activeOnly: true, maxBalanceMinor: ceilingOf(entry) }, field: 'toUserId' },
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

/** The person's account, or 404 saying whether the person or only the account is missing. */
export async function requireAccount(q: ReadTx, userId: number, reference: string): Promise<store.AccountRow> {
  const account = await store.getUserAccount(q, userId, reference);
  if (account === undefined) throw await missingAccount(q, userId, reference);
  return account;
}

/** The 404 for an account not found: most often the person is not there at all, and it says so. */
async function missingAccount(q: ReadTx, userId: number, reference: string): Promise<AppError> {
  if ((await store.userActive(q, userId)) === undefined) return notFound(`user ${userId} does not exist`);
  return notFound(`user ${userId} has no account "${reference}"`);
}

/** One guarded change of a person's account, or the reason it was refused: 404, 409, 402 or 400. */
async function changeAccount(tx: Tx, userId: number, reference: string, change: store.AccountChange, field = 'userId'): Promise<store.PersonSide> {
  const row = await store.changeUserAccount(tx, userId, reference, change);
  if (row !== undefined) return row;
  throw await refusalOfChange(tx, userId, reference, change, field);
}

/** Why the guarded change of a person's account changed no row: 404, 409, 402 or 400. */
async function refusalOfChange(tx: Tx, userId: number, reference: string, change: store.AccountChange, field = 'userId'): Promise<AppError> {
  const account = await requireAccount(tx, userId, reference);
  if (change.activeOnly && (await store.userActive(tx, userId)) !== true) return conflict(`user ${userId} is not active`, [{ field, problem: 'is not active' }]);
  return refusalOf(account, change) ?? insufficient(account, change);
}

/**
 * The rule of changeUserAccount's UPDATE, for a change checked before it is written (a batch) or
 * to say why the UPDATE refused one: a raised balance past its ceiling, or less available than the floor.
 */
function refusalOf(account: store.AccountRow, change: store.AccountChange): Refusal | undefined {
  if (change.amountMinor > 0 && account.balance_minor + change.amountMinor > change.maxBalanceMinor) return new BalanceCeiling(change.maxBalanceMinor, account.currency);
  const onlyRaises = change.amountMinor >= 0 && change.heldMinor <= 0;
  if (account.overdraft_limit_minor === null || onlyRaises) return undefined;
  const availableMinor = account.balance_minor - account.held_minor + account.overdraft_limit_minor;
  return availableMinor + change.amountMinor - change.heldMinor >= 0 ? undefined : insufficient(account, change);
}

function insufficient(account: store.AccountRow, change: store.AccountChange): InsufficientCredit {
  const availableMinor = account.balance_minor - account.held_minor + (account.overdraft_limit_minor ?? 0);
  return new InsufficientCredit(availableMinor, -(change.amountMinor - change.heldMinor), account.currency);
}

/** The ceiling an entry's account may reach: the configured one, never past the books' own. */
function ceilingOf(entry: { maxBalanceMinor?: number }): number {
  return Math.min(entry.maxBalanceMinor ?? MAX_TOTAL_MINOR, MAX_TOTAL_MINOR);
}

/** One of a provider's system-account shards, picked at random: parallel writers spread over them. */
function systemShard(tx: Tx, provider: string): string {
  const shards = tx.dialect.hotRowShards;
  return systemAccountCode(provider, shards === 1 ? 0 : crypto.randomInt(shards));
}

async function systemSide(tx: Tx, provider: string, amountMinor: number): Promise<store.SystemSide> {
  const code = systemShard(tx, provider);
  const row = await store.addToSystemBalance(tx, code, amountMinor, MAX_TOTAL_MINOR);
  if (row !== undefined) return row;
  throw await systemRefusal(tx, code);
}

/** Why a system account refused a change: the books cannot hold it (400). */
async function systemRefusal(tx: Tx, code: string): Promise<AppError> {
  const account = await store.getAccountByCode(tx, code);
  // Every provider's accounts are created at start (context.ts); missing here is a wiring mistake.
  if (account === undefined) throw new Error(`system account ${code} does not exist`);
  const limit = moneyText(MAX_TOTAL_MINOR, account.currency);
  return invalid(`the books cannot hold this: ${code} would pass ${limit}`, [{ field: 'amount', problem: `would take a system account past ${limit}` }]);
}

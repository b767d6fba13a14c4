// The ledger's rules: double entry (two or more postings summing to zero), balances changed only
// together with their postings, a credit account never below its floor. Other modules post through
// `post` inside their own write unit, so a payment's state and its money move in one transaction.
import crypto from 'node:crypto';

import { actorLabel, type Actor, type Principal } from '../auth/principal.js';
import { hasRight } from '../auth/scopes.js';
import type { Db, Tx } from '../db/index.js';
import { conflict, forbidden, notFound } from '../errors.js';
import { assertMinor, currencyExponent, fromMinor } from '../money.js';

import type { StatementEntry } from './schemas.js';
import * as store from './store.js';

export const CREDIT_REFERENCE = 'credit';

/** Entry types as the statement shows them. */
export type TransactionKind = 'recharge' | 'manual' | 'refund';

export interface Leg {
  accountId: number;
  amountMinor: number;
  /** A system account: busy (every recharge touches one), so its row lock is taken last. */
  system?: boolean;
}

export interface LedgerEntry {
  kind: TransactionKind;
  provider: string;
  paymentId: number | null;
  description: string;
  actor: Actor;
  legs: Leg[];
}

export interface Posted {
  transactionId: number;
  /** Balance after the entry, per account id. */
  balances: Map<number, number>;
}

/** Longest a single statement page may be; CSV export streams in pages of this size. */
const STATEMENT_PAGE_ROWS = 1000;

export class LedgerService {
  /** System account ids, known once they are committed (warmSystemAccounts); never dropped. */
  private readonly systemIds = new Map<string, number>();
  /**
   * Person → credit account id. The pair never changes once it exists, and ids are never reused,
   * so an entry can only be stale for a person whose creation failed — whom nothing can reference.
   */
  private readonly creditIds = new Map<number, number>();

  constructor(
    private readonly db: Db,
    readonly currency: string,
    private readonly systemShards = 1,
  ) {
    if (!Number.isSafeInteger(systemShards) || systemShards < 1 || systemShards > 64) throw new Error('systemShards must be 1–64');
    if (currencyExponent(currency) === undefined) throw new Error(`unknown currency ${currency}`);
  }

  // ---- inside other modules' write units --------------------------------------------------------

  /** Every person has one credit account, opened in the transaction that creates them. */
  async openCreditAccount(tx: Tx, userId: number, nowMs: number): Promise<void> {
    await store.ensureAccount(tx, { code: `user:${userId}:${CREDIT_REFERENCE}`, userId, reference: CREDIT_REFERENCE, kind: 'credit', name: 'Credit', currency: this.currency, overdraftLimitMinor: 0 }, nowMs);
  }

  /** The system account of a provider (external funding, voucher liability, manual adjustments …). */
  systemAccount(tx: Tx, provider: string, nowMs: number, shard = 0): Promise<store.AccountRow> {
    const code = shard === 0 ? `system:${provider}` : `system:${provider}#${shard}`;
    return store.ensureAccount(tx, { code, userId: null, reference: provider, kind: 'system', name: `System: ${provider}`, currency: this.currency, overdraftLimitMinor: null }, nowMs);
  }

  /** Creates the system accounts (every shard) of these providers and remembers their ids (at start). */
  async warmSystemAccounts(db: Db, providers: readonly string[], nowMs: number): Promise<void> {
    for (const provider of providers) {
      for (let shard = 0; shard < this.systemShards; shard++) {
        const row = await db.write((tx) => this.systemAccount(tx, provider, nowMs, shard));
        this.systemIds.set(row.code, row.id);
      }
    }
  }

  /**
   * The system side of a posting. Every recharge touches its provider's system account, so on
   * PostgreSQL — where writers run in parallel and a row lock serializes them — each provider has
   * `systemShards` of them and a posting picks one at random; their sum is the provider's balance.
   */
  private async systemAccountId(tx: Tx, provider: string, nowMs: number): Promise<number> {
    const shard = this.systemShards === 1 ? 0 : crypto.randomInt(this.systemShards);
    const code = shard === 0 ? `system:${provider}` : `system:${provider}#${shard}`;
    return this.systemIds.get(code) ?? (await this.systemAccount(tx, provider, nowMs, shard)).id;
  }

  async creditAccount(q: Tx, userId: number, reference = CREDIT_REFERENCE): Promise<store.AccountRow> {
    const account = await store.getUserAccount(q, userId, reference);
    if (account === undefined) throw notFound(`user ${userId} has no account "${reference}"`);
    return account;
  }

  /**
   * Posts one balanced transaction. Its legs are applied in one total order — people's accounts by
   * id, then system accounts by id — so two single postings on PostgreSQL take row locks in the same
   * order and cannot deadlock, and the busiest rows (system accounts) are locked last, for the
   * shortest time. A unit posting many transactions (a bulk recharge) can still meet a deadlock;
   * PostgreSQL detects it and the unit is retried (postgres.ts). A leg that would take an account
   * below its floor aborts the whole unit with a 409.
   */
  async post(tx: Tx, entry: LedgerEntry, nowMs: number): Promise<Posted> {
    if (entry.legs.length < 2) throw new Error('a ledger transaction needs at least two postings');
    let sum = 0;
    for (const leg of entry.legs) {
      assertMinor(leg.amountMinor);
      sum += leg.amountMinor;
    }
    if (sum !== 0) throw new Error(`ledger transaction does not balance: postings sum to ${sum}`);
    const transactionId = await store.insertTransaction(tx, { kind: entry.kind, provider: entry.provider, paymentId: entry.paymentId, description: entry.description, actor: actorLabel(entry.actor) }, nowMs);
    const balances = new Map<number, number>();
    for (const leg of [...entry.legs].sort(lockOrder)) {
      const balance = await store.addToBalance(tx, leg.accountId, leg.amountMinor);
      if (balance === undefined) {
        throw conflict('the credit balance is too low for this', [{ field: 'amount', problem: 'would take the credit below zero' }]);
      }
      balances.set(leg.accountId, balance);
    }
    await store.insertPostings(tx, transactionId, entry.legs.map((leg) => ({ ...leg, balanceAfterMinor: balances.get(leg.accountId) ?? 0 })), nowMs);
    return { transactionId, balances };
  }

  /** Moves `amountMinor` from the provider's system account to a person's credit (negative: back). */
  async creditUser(tx: Tx, input: Omit<LedgerEntry, 'legs'> & { userId: number; amountMinor: number }, nowMs: number): Promise<Posted & { balanceMinor: number }> {
    const accountId = await this.creditAccountId(tx, input.userId);
    const systemId = await this.systemAccountId(tx, input.provider, nowMs);
    const posted = await this.post(tx, { ...input, legs: [{ accountId, amountMinor: input.amountMinor }, { accountId: systemId, amountMinor: -input.amountMinor, system: true }] }, nowMs);
    const balanceMinor = posted.balances.get(accountId);
    if (balanceMinor === undefined) throw new Error('a posting lost its balance');
    return { ...posted, balanceMinor };
  }

  private async creditAccountId(tx: Tx, userId: number): Promise<number> {
    const known = this.creditIds.get(userId);
    if (known !== undefined) return known;
    const { id } = await this.creditAccount(tx, userId);
    if (this.creditIds.size >= 100_000) this.creditIds.clear();
    this.creditIds.set(userId, id);
    return id;
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** One's own accounts are readable; another's need manageUsers or managePayments. */
  assertMayRead(principal: Principal, userId: number): void {
    if (principal.userId === userId) return;
    if (hasRight(principal.rights, 'manageUsers') || hasRight(principal.rights, 'managePayments')) return;
    throw forbidden("reading another person's credit needs the right manageUsers or managePayments");
  }

  async accounts(userId: number): Promise<store.AccountRow[]> {
    return this.db.read((q) => store.listUserAccounts(q, userId));
  }

  async balanceMinor(userId: number, reference: string): Promise<number> {
    const account = await this.db.read((q) => this.creditAccount(q, userId, reference));
    return account.balance_minor;
  }

  async statement(userId: number, reference: string, filter: store.StatementFilter, limit = 100, start = 0): Promise<{ entries: StatementEntry[]; count: number }> {
    return this.db.read(async (q) => {
      const account = await this.creditAccount(q, userId, reference);
      const { rows, count } = await store.statementPage(q, account.id, filter, limit, start);
      return { entries: rows.map((row) => this.toEntry(row)), count };
    });
  }

  /** The whole statement, page by page: memory stays flat however long it is. */
  async *statementStream(userId: number, reference: string, filter: store.StatementFilter): AsyncGenerator<StatementEntry> {
    const account = await this.db.read((q) => this.creditAccount(q, userId, reference));
    let afterId = 0;
    for (;;) {
      const rows = await this.db.read((q) => store.statementAfter(q, account.id, filter, afterId, STATEMENT_PAGE_ROWS));
      for (const row of rows) yield this.toEntry(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < STATEMENT_PAGE_ROWS) return;
      afterId = last.id;
    }
  }

  private toEntry(row: store.StatementRow): StatementEntry {
    return {
      id: row.id,
      date: new Date(row.created_at_ms).toISOString(),
      type: row.kind,
      balance: fromMinor(row.balance_after_minor, this.currency),
      value: fromMinor(row.amount_minor, this.currency),
      provider: row.provider,
      paymentId: row.payment_id === null ? null : String(row.payment_id),
      description: row.description,
    };
  }

  /** Recomputes everything from the postings; every problem found, as a readable line. */
  async verify(): Promise<string[]> {
    return this.db.read(async (q) => [
      ...(await store.unbalancedTransactions(q)).map((t) => `transaction ${t.id}: ${t.postings} postings summing to ${t.total} (needs ≥ 2 summing to 0)`),
      ...(await store.balanceMismatches(q)).map((a) => `account ${a.code}: stored balance ${a.stored}, postings sum to ${a.computed}`),
      ...(await store.brokenRunningBalances(q)).map((p) => `account ${p.code}: posting ${p.posting_id} has a wrong balance-after`),
      ...(await store.overdrawnAccounts(q)).map((a) => `account ${a.code}: went down to ${a.lowest}, below its floor`),
    ]);
  }
}

function lockOrder(a: Leg, b: Leg): number {
  return Number(a.system === true) - Number(b.system === true) || a.accountId - b.accountId;
}

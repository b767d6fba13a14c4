// Reading the ledger: accounts, balances, statements, verification. What writes it is postings.ts,
// inside the commands of other modules, so a payment's state and its money move in one transaction.
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import { hasRight } from '../auth/scopes.js';
import type { Db } from '../db/index.js';
import { forbidden, notFound } from '../errors.js';
import { currencyExponent, fromMinor } from '../money.js';
import { msToIso } from '../time.js';

import { requireAccount } from './postings.js';
import type { StatementEntry } from './schemas.js';
import * as store from './store.js';

/** Longest a single statement page may be; CSV export streams in pages of this size. */
const STATEMENT_PAGE_ROWS = 1000;

/**
 * One's own credit — accounts, statement, charges, holds — is readable; another person's needs
 * manageUsers, managePayments or chargeCredit (the kiosk that charged it).
 */
export function mayReadCredit(principal: Principal, userId: number): boolean {
  if (principal.userId === userId) return true;
  return hasRight(principal.rights, 'manageUsers') || hasRight(principal.rights, 'managePayments') || hasRight(principal.rights, 'chargeCredit');
}

export class LedgerService {
  constructor(
    private readonly db: Db,
    readonly currency: string,
    private readonly clock: Clock,
  ) {
    if (currencyExponent(currency) === undefined) throw new Error(`unknown currency ${currency}`);
  }

  // ---- reads ----------------------------------------------------------------------------------

  assertMayRead(principal: Principal, userId: number): void {
    if (mayReadCredit(principal, userId)) return;
    throw forbidden("reading another person's credit needs the right manageUsers, managePayments or chargeCredit");
  }

  async accounts(userId: number): Promise<store.AccountRow[]> {
    return this.db.read(async (q) => {
      const accounts = await store.listUserAccounts(q, userId);
      // Every person has a credit account from creation: none means no such person.
      if (accounts.length === 0 && (await store.userActive(q, userId)) === undefined) throw notFound(`user ${userId} does not exist`);
      return accounts;
    });
  }

  async balanceMinor(userId: number, reference: string): Promise<number> {
    return (await this.balance(userId, reference)).amountMinor;
  }

  /**
   * The posted balance, what open holds reserve, and what is left to spend. A hold past its expiry
   * no longer counts, even before the sweeper expires it: the next debit that needs it releases it.
   */
  async balance(userId: number, reference: string): Promise<{ amountMinor: number; heldMinor: number; availableMinor: number }> {
    return this.db.read(async (q) => {
      const account = await requireAccount(q, userId, reference);
      const heldMinor = account.held_minor === 0 ? 0 : account.held_minor - (await store.overdueHeldMinor(q, userId, reference, this.clock.nowMs()));
      return { amountMinor: account.balance_minor, heldMinor, availableMinor: account.balance_minor - heldMinor + (account.overdraft_limit_minor ?? 0) };
    });
  }

  async statement(userId: number, reference: string, filter: store.StatementFilter, limit = 100, start = 0): Promise<{ entries: StatementEntry[]; count: number }> {
    const page = await store.statementPageOfUser(this.db, userId, reference, filter, limit, start);
    if (page !== undefined) return { entries: page.rows.map((row) => this.toEntry(row)), count: page.count };
    // An empty page, or no such account: the snapshot read counts it, or says which 404 it is.
    return this.db.read(async (q) => {
      const account = await requireAccount(q, userId, reference);
      const { rows, count } = await store.statementPage(q, account.id, filter, limit, start);
      return { entries: rows.map((row) => this.toEntry(row)), count };
    });
  }

  /** The whole statement, page by page: memory stays flat however long it is. */
  async *statementStream(userId: number, reference: string, filter: store.StatementFilter): AsyncGenerator<StatementEntry> {
    const account = await this.db.read((q) => requireAccount(q, userId, reference));
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
      date: msToIso(row.created_at_ms),
      type: row.kind === 'transfer' ? (row.amount_minor < 0 ? 'transferOut' : 'transferIn') : row.kind,
      balance: fromMinor(row.balance_after_minor, this.currency),
      value: fromMinor(row.amount_minor, this.currency),
      provider: row.provider,
      paymentId: row.payment_id === null ? null : String(row.payment_id),
      description: row.description,
    };
  }

  /** Outstanding credit (the operator's liability) and what open holds reserve of it, in minor units. */
  async liabilities(): Promise<{ outstandingMinor: number; heldMinor: number }> {
    const row = await this.db.read((q) => store.liabilities(q));
    return { outstandingMinor: row.balance_minor, heldMinor: row.held_minor };
  }

  /** Recomputes everything from the postings; every problem found, as a readable line. */
  async verify(): Promise<string[]> {
    return this.db.read(async (q) => [
      ...(await store.unbalancedTransactions(q)).map((t) => `transaction ${t.id}: ${t.postings} postings summing to ${t.total} (needs ≥ 2 summing to 0)`),
      ...(await store.balanceMismatches(q)).map((a) => `account ${a.code}: stored balance ${a.stored}, postings sum to ${a.computed}`),
      ...(await store.brokenRunningBalances(q)).map((p) => `account ${p.code}: posting ${p.posting_id} has a wrong balance-after`),
      ...(await store.overdrawnAccounts(q)).map((a) => `account ${a.code}: went down to ${a.lowest}, below its floor`),
      ...(await store.heldMismatches(q)).map((a) => `account ${a.code}: holds ${a.stored} but its open holds sum to ${a.computed}`),
    ]);
  }
}

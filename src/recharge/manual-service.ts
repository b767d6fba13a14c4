// Recharges by hand (right rechargeCredit): one person, or many from MyQ's CSV of
// `user<delimiter>amount` rows — all rows or none, every bad row reported with its line number.
import { parse } from 'csv-parse/sync';

import type { Actor } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import { AppError, invalid, type ErrorDetail } from '../errors.js';
import type { Afterward } from '../idempotency/plugin.js';
import type { LedgerService } from '../ledger/service.js';
import { toMinor } from '../money.js';
import type { UsersService } from '../users/service.js';

export const MANUAL_PROVIDER = 'manual';

/** Largest bulk file, in rows: bounds the one transaction that posts it. */
export const MAX_BULK_ROWS = 100_000;

export interface ManualResult {
  transactionId: number;
  amountMinor: number;
  balanceMinor: number;
}

interface ParsedRow {
  line: number;
  user: string;
  amountMinor: number;
}

interface BulkRow {
  line: number;
  userId: number;
  amountMinor: number;
}

export class ManualRechargeService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ledger: LedgerService,
    private readonly users: UsersService,
  ) {}

  /** A negative amount lowers the credit, never below the account's floor (409). */
  async recharge(userId: number, reference: string, amount: unknown, description: string, actor: Actor, afterward?: Afterward<ManualResult>): Promise<ManualResult> {
    const amountMinor = toMinor(amount, this.ledger.currency, 'amount');
    if (amountMinor === 0) throw invalid('amount must not be zero', [{ field: 'amount', problem: 'must not be zero' }]);
    await this.users.getAny(userId);
    return this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      await this.ledger.creditAccount(tx, userId, reference);
      const posted = await this.ledger.creditUser(tx, { kind: 'manual', provider: MANUAL_PROVIDER, paymentId: null, description, actor, userId, amountMinor }, now);
      const result = { transactionId: posted.transactionId, amountMinor, balanceMinor: posted.balanceMinor };
      await afterward?.(tx, result);
      return result;
    });
  }

  /** Posts every row of the CSV in one transaction, or none of them. */
  async bulk(csv: string, actor: Actor, afterward?: Afterward<{ count: number; totalMinor: number }>): Promise<{ count: number; totalMinor: number }> {
    const rows = await this.parseBulk(csv);
    return this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      let totalMinor = 0;
      for (const row of rows) {
        try {
          await this.ledger.creditUser(tx, { kind: 'manual', provider: MANUAL_PROVIDER, paymentId: null, description: `bulk recharge, line ${row.line}`, actor, userId: row.userId, amountMinor: row.amountMinor }, now);
        } catch (error) {
          if (error instanceof AppError && error.kind === 'conflict') throw new AppError('conflict', `line ${row.line}: the credit balance is too low for this`, [{ field: `line ${row.line}`, problem: 'would take the credit below zero' }]);
          throw error;
        }
        totalMinor += row.amountMinor;
      }
      const result = { count: rows.length, totalMinor };
      await afterward?.(tx, result);
      return result;
    });
  }

  private async parseBulk(csv: string): Promise<BulkRow[]> {
    const firstLine = csv.split(/\r?\n/, 1)[0] ?? '';
    const delimiter = firstLine.includes(';') ? ';' : ',';
    let records: { record: string[]; info: { lines: number } }[];
    try {
      records = parse(csv, { delimiter, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as typeof records;
    } catch (error) {
      throw invalid(`the CSV cannot be read: ${error instanceof Error ? error.message : String(error)}`, [{ field: 'body', problem: 'is not valid CSV' }]);
    }
    if (records.length > MAX_BULK_ROWS + 1) throw invalid(`at most ${MAX_BULK_ROWS} rows`, [{ field: 'body', problem: `has more than ${MAX_BULK_ROWS} rows` }]);
    const problems: ErrorDetail[] = [];
    const parsed: ParsedRow[] = [];
    records.forEach(({ record, info }, index) => {
      const row = this.parseRow(record, info.lines, delimiter, index === 0);
      if (typeof row === 'string') problems.push({ field: `line ${info.lines}`, problem: row });
      else if (row !== null) parsed.push(row);
    });
    const ids = await this.users.idsByUsername(parsed.map((r) => r.user));
    const rows: BulkRow[] = [];
    for (const row of parsed) {
      const userId = ids.get(row.user);
      if (userId === undefined) problems.push({ field: `line ${row.line}`, problem: `no user "${row.user}"` });
      else rows.push({ line: row.line, userId, amountMinor: row.amountMinor });
    }
    if (problems.length > 0) throw invalid(`${problems.length} bad row${problems.length === 1 ? '' : 's'}; nothing was recharged`, problems);
    if (rows.length === 0) throw invalid('the CSV has no rows', [{ field: 'body', problem: 'no user;amount rows' }]);
    return rows;
  }

  /** A row, the problem with it, or null for the optional header. */
  private parseRow(record: string[], line: number, delimiter: string, first: boolean): ParsedRow | string | null {
    const [user = '', amount = ''] = record;
    if (record.length !== 2) return `needs 2 columns (user${delimiter}amount), has ${record.length}`;
    let amountMinor: number;
    try {
      amountMinor = toMinor(amount, this.ledger.currency, 'amount');
    } catch (error) {
      // A first row whose amount is not a number is the optional header.
      if (first) return null;
      return error instanceof AppError ? error.message : 'amount is not valid';
    }
    if (user === '') return 'user is empty';
    if (amountMinor === 0) return 'amount must not be zero';
    return { line, user, amountMinor };
  }
}

// Recharges by hand (right rechargeCredit): one person, or many from MyQ's CSV of
// `user<delimiter>amount` rows — all rows or none, every bad row reported with its line number.
import { parse } from 'csv-parse/sync';

import { actorHasRight } from '../auth/principal.js';
import type { Actor } from '../auth/principal.js';
import type { Command, CommandDefinition } from '../commands/types.js';
import type { ReadTx, Tx } from '../db/index.js';
import { AppError, forbidden, invalid, type ErrorDetail } from '../errors.js';
import { byAccountLockOrder, InsufficientCredit, postCredit, postCreditBatch, type CreditEntry, type Posted } from '../ledger/postings.js';
import { fromMinor, toMinor } from '../money.js';
import type { UsersService } from '../users/service.js';

declare module '../commands/types.js' {
  interface CommandMap {
    'credit.recharge': { input: { userId: number; reference: string; amount: unknown; description: string }; output: ManualResult };
    'credit.bulkRecharge': { input: { csv: string }; output: { count: number; totalMinor: number } };
  }
}

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

/** The manual recharge commands; parsing and the people's lookup happen before the transaction. */
export class ManualRecharge {
  constructor(
    private readonly currency: string,
    private readonly users: UsersService,
  ) {}

  /** A negative amount lowers the credit, never below the account's floor (409). */
  get recharge(): CommandDefinition<'credit.recharge', { amountMinor: number }> {
    return {
      name: 'credit.recharge',
      prepare: async ({ input }) => {
        const amountMinor = toMinor(input.amount, this.currency, 'amount');
        if (amountMinor === 0) throw invalid('amount must not be zero', [{ field: 'amount', problem: 'must not be zero' }]);
        await this.users.getAny(input.userId);
        return { amountMinor };
      },
      authorize: authorizeRecharge,
      run: async (tx, { input, actor, atMs }, { amountMinor }, effects) => {
        const posted = await postManual(tx, { kind: 'manual', provider: MANUAL_PROVIDER, paymentId: null, description: input.description, actor, userId: input.userId, reference: input.reference, amountMinor }, atMs, '');
        const result = { transactionId: posted.transactionId, amountMinor, balanceMinor: posted.balanceMinor };
        effects.about(`user:${input.userId}`, { amountMinor });
        effects.emit('recharge.manual', `user:${input.userId}`, {
          userId: input.userId,
          account: input.reference,
          transactionId: posted.transactionId,
          amount: fromMinor(amountMinor, this.currency),
          balance: fromMinor(posted.balanceMinor, this.currency),
          description: input.description,
        });
        return result;
      },
    };
  }

  /** Posts every row of the CSV in one transaction, or none of them. */
  get bulk(): CommandDefinition<'credit.bulkRecharge', BulkRow[]> {
    return {
      name: 'credit.bulkRecharge',
      prepare: ({ input }) => this.parseBulk(input.csv),
      authorize: authorizeRecharge,
      run: async (tx, { actor, atMs }, rows, effects) => {
        const totalMinor = await postBulk(tx, rows, actor, atMs);
        effects.about('bulkRecharge', { count: rows.length, totalMinor });
        effects.emit('recharge.bulk', 'bulkRecharge', { count: rows.length, total: fromMinor(totalMinor, this.currency), people: new Set(rows.map((r) => r.userId)).size });
        return { count: rows.length, totalMinor };
      },
    };
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
      amountMinor = toMinor(amount, this.currency, 'amount');
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

async function authorizeRecharge(_q: ReadTx, { actor }: Command<'credit.recharge' | 'credit.bulkRecharge'>): Promise<void> {
  if (!actorHasRight(actor, 'rechargeCredit')) throw forbidden('this needs the right "rechargeCredit"');
}

/** Rows go in lock order (one person's rows keep their order), so that a bulk cannot deadlock with anything. */
async function postBulk(tx: Tx, rows: readonly BulkRow[], actor: Actor, atMs: number): Promise<number> {
  const ordered = [...rows].sort(byAccountLockOrder);
  const entries = ordered.map((row): CreditEntry => ({ kind: 'manual', provider: MANUAL_PROVIDER, paymentId: null, description: `bulk recharge, line ${row.line}`, actor, userId: row.userId, amountMinor: row.amountMinor }));
  await postCreditBatch(tx, MANUAL_PROVIDER, entries, atMs, (index, error) => tooLow(error, `line ${ordered[index]?.line ?? '?'}`));
  return rows.reduce((sum, row) => sum + row.amountMinor, 0);
}

/** A recharge by hand that would take more than the available credit is a 409 (not the 402 of spending). */
async function postManual(tx: Tx, entry: CreditEntry, atMs: number, line: string): Promise<Posted> {
  try {
    return await postCredit(tx, entry, atMs);
  } catch (error) {
    throw error instanceof InsufficientCredit ? tooLow(error, line) : error;
  }
}

function tooLow(error: InsufficientCredit, line: string): AppError {
  const where = line === '' ? '' : `${line}: `;
  return new AppError('conflict', `${where}the credit balance is too low for this: ${error.figures}`, [{ field: line === '' ? 'amount' : line, problem: 'would take the available credit below zero' }]);
}

// Recharges by hand (right rechargeCredit): one person, or many from MyQ's CSV of
// `user<delimiter>amount` rows — all rows or none, every bad row reported with its line number.
import { actorHasRight } from '../auth/principal.js';
import type { Actor } from '../auth/principal.js';
import type { Command, CommandDefinition } from '../commands/types.js';
import type { ReadTx, Tx } from '../db/index.js';
import { AppError, forbidden, invalid, type ErrorDetail } from '../errors.js';
import { readCsvRecords } from '../csv.js';
import { byAccountLockOrder, InsufficientCredit, postCredit, postCreditBatch, type CreditEntry, type Posted, type Refusal } from '../ledger/postings.js';
import { fromMinor, MAX_TOTAL_MINOR, moneyText, toMinor } from '../money.js';
import type { UsersService } from '../users/service.js';

declare module '../commands/types.js' {
  interface CommandMap {
    'credit.recharge': { input: { userId: number; reference: string; amount: unknown; description: string }; output: ManualResult };
    'credit.bulkRecharge': { input: { csv: string }; output: { count: number; totalMinor: number } };
  }
}

export const MANUAL_PROVIDER = 'manual';

/** The longest line a bulk file may have: a user name (at most 128 characters) and an amount, with room to spare. */
export const MAX_BULK_LINE_CHARS = 256;

/** Bad lines a refusal lists; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 100;

/** How much of a bad user name a message repeats. */
const ECHOED_CHARS = 32;

const MAX_USERNAME_CHARS = 128;

export interface ManualResult {
  transactionId: number;
  amountMinor: number;
  balanceMinor: number;
}

/** The ceilings a recharge by hand keeps to (PURSE_MAX_AMOUNT, PURSE_MAX_BALANCE, PURSE_BULK_MAX_ROWS). */
export interface ManualLimits {
  maxAmountMinor: number;
  maxBalanceMinor: number;
  bulkMaxRows: number;
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
    private readonly limits: ManualLimits,
  ) {}

  /** A negative amount lowers the credit, never below the account's floor (409). */
  get recharge(): CommandDefinition<'credit.recharge', { amountMinor: number }> {
    return {
      name: 'credit.recharge',
      prepare: async ({ input }) => {
        const amountMinor = toMinor(input.amount, this.currency, 'amount', this.limits.maxAmountMinor);
        if (amountMinor === 0) throw invalid('amount must not be zero', [{ field: 'amount', problem: 'must not be zero' }]);
        await this.users.getAny(input.userId);
        return { amountMinor };
      },
      authorize: authorizeRecharge,
      run: async (tx, { input, actor, atMs }, { amountMinor }, effects) => {
        const entry: CreditEntry = { kind: 'manual', provider: MANUAL_PROVIDER, paymentId: null, description: input.description, actor, userId: input.userId, reference: input.reference, amountMinor, maxBalanceMinor: this.limits.maxBalanceMinor };
        const posted = await postManual(tx, entry, atMs);
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
        const totalMinor = await postBulk(tx, rows, actor, atMs, this.limits.maxBalanceMinor);
        effects.about('bulkRecharge', { count: rows.length, totalMinor });
        effects.emit('recharge.bulk', 'bulkRecharge', { count: rows.length, total: fromMinor(totalMinor, this.currency), people: new Set(rows.map((r) => r.userId)).size });
        return { count: rows.length, totalMinor };
      },
    };
  }

  /** Every check that needs no transaction: the file's size and syntax, each row, the people, the sums. */
  private async parseBulk(csv: string): Promise<BulkRow[]> {
    const delimiter = delimiterOf(csv);
    const parsed = await this.readRows(csv, delimiter);
    const problems = new Problems();
    const rows: ParsedRow[] = [];
    for (const [index, { fields, line }] of parsed.entries()) {
      const row = this.parseRow(fields, line, delimiter, index === 0);
      if (typeof row === 'string') problems.add(line, row);
      else if (row !== null) rows.push(row);
    }
    if (rows.length > this.limits.bulkMaxRows) throw this.tooManyRows();
    const found = await this.withUsers(rows, problems);
    this.checkSums(found, problems);
    problems.throwIfAny();
    if (found.length === 0) throw invalid('the CSV has no rows', [{ field: 'body', problem: 'no user;amount rows' }]);
    return found;
  }

  /** The records, one more than the row limit at most (a header), or a 400 naming the limit. */
  private async readRows(csv: string, delimiter: string): Promise<{ fields: string[]; line: number }[]> {
    try {
      const { records, more } = await readCsvRecords(csv, { delimiter, maxRecords: this.limits.bulkMaxRows + 1, maxRecordChars: MAX_BULK_LINE_CHARS });
      if (more) throw this.tooManyRows();
      return records;
    } catch (error) {
      if (error instanceof AppError) throw error;
      const message = (error instanceof Error ? error.message : String(error)).slice(0, 200);
      throw invalid(`the CSV cannot be read: ${message}`, [{ field: 'body', problem: `is not valid CSV with lines of at most ${MAX_BULK_LINE_CHARS} characters` }]);
    }
  }

  private tooManyRows(): AppError {
    const most = this.limits.bulkMaxRows;
    return invalid(`the CSV has more than ${most} rows, the most one bulk recharge may have`, [{ field: 'body', problem: `at most ${most} rows` }]);
  }

  /** A row, the problem with it, or null for the optional header. */
  private parseRow(record: string[], line: number, delimiter: string, first: boolean): ParsedRow | string | null {
    const [user = '', amount = ''] = record;
    if (record.length !== 2) return `needs 2 columns (user${delimiter}amount), has ${record.length}`;
    let amountMinor: number;
    try {
      amountMinor = toMinor(amount, this.currency, 'amount', this.limits.maxAmountMinor);
    } catch (error) {
      // A first row whose amount has no digit at all ("amount", "Betrag") is the optional header;
      // anything with a digit ("5 EUR", "€5", "1e2") is a bad amount, so that no row is skipped unseen.
      if (first && !HAS_DIGIT.test(amount)) return null;
      return error instanceof AppError ? error.message : 'amount is not valid';
    }
    if (user === '') return 'user is empty';
    if (user.length > MAX_USERNAME_CHARS) return `user is longer than ${MAX_USERNAME_CHARS} characters`;
    if (amountMinor === 0) return 'amount must not be zero';
    return { line, user, amountMinor };
  }

  /** The rows whose people exist, by id; a problem for each of the others. */
  private async withUsers(rows: readonly ParsedRow[], problems: Problems): Promise<BulkRow[]> {
    const ids = await this.users.idsByUsername(rows.map((r) => r.user));
    const found: BulkRow[] = [];
    for (const row of rows) {
      const userId = ids.get(row.user);
      if (userId === undefined) problems.add(row.line, `no user "${echo(row.user)}"`);
      else found.push({ line: row.line, userId, amountMinor: row.amountMinor });
    }
    return found;
  }

  /** What one person gets stays within what a balance may hold, and the whole file within what the books can add up. */
  private checkSums(rows: readonly BulkRow[], problems: Problems): void {
    const perPersonMinor = new Map<number, number>();
    let grossMinor = 0;
    for (const row of rows) {
      const sumMinor = (perPersonMinor.get(row.userId) ?? 0) + row.amountMinor;
      perPersonMinor.set(row.userId, sumMinor);
      if (sumMinor > this.limits.maxBalanceMinor && sumMinor - row.amountMinor <= this.limits.maxBalanceMinor) {
        problems.add(row.line, `brings this person's recharges in the file to more than ${moneyText(this.limits.maxBalanceMinor, this.currency)}, the most a credit account may hold`);
      }
      grossMinor += Math.abs(row.amountMinor);
      if (grossMinor > MAX_TOTAL_MINOR) {
        const limit = moneyText(MAX_TOTAL_MINOR, this.currency);
        throw invalid(`the amounts of the CSV add up to more than ${limit}, the most one bulk recharge may move`, [{ field: 'body', problem: `amounts adding up to at most ${limit}` }]);
      }
    }
  }
}

const HAS_DIGIT = /\d/;

/** `;` when the first line has one, else `,`; only the first line's first characters are looked at. */
function delimiterOf(csv: string): string {
  const end = csv.indexOf('\n');
  const firstLine = csv.slice(0, Math.min(end === -1 ? csv.length : end, MAX_BULK_LINE_CHARS + 1));
  return firstLine.includes(';') ? ';' : ',';
}

/** The start of what someone sent, for a message: never more than a few characters of it. */
function echo(text: string): string {
  return text.length <= ECHOED_CHARS ? text : `${text.slice(0, ECHOED_CHARS)}…`;
}

/** Bad lines of a file: the first MAX_LISTED_PROBLEMS listed, the rest counted. */
class Problems {
  private readonly listed: ErrorDetail[] = [];
  private count = 0;

  add(line: number, problem: string): void {
    this.count++;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push({ field: `line ${line}`, problem });
  }

  throwIfAny(): void {
    if (this.count === 0) return;
    const rows = `${this.count} bad row${this.count === 1 ? '' : 's'}`;
    const unlisted = this.count - this.listed.length;
    const more = unlisted > 0 ? ` (the first ${this.listed.length} are listed, ${unlisted} more are not)` : '';
    throw invalid(`${rows}${more}; nothing was recharged`, this.listed);
  }
}

async function authorizeRecharge(_q: ReadTx, { actor }: Command<'credit.recharge' | 'credit.bulkRecharge'>): Promise<void> {
  if (!actorHasRight(actor, 'rechargeCredit')) throw forbidden('this needs the right "rechargeCredit"');
}

/** Rows go in lock order (one person's rows keep their order), so that a bulk cannot deadlock with anything. */
async function postBulk(tx: Tx, rows: readonly BulkRow[], actor: Actor, atMs: number, maxBalanceMinor: number): Promise<number> {
  const ordered = [...rows].sort(byAccountLockOrder);
  const entries = ordered.map((row): CreditEntry => ({ kind: 'manual', provider: MANUAL_PROVIDER, paymentId: null, description: `bulk recharge, line ${row.line}`, actor, userId: row.userId, amountMinor: row.amountMinor, maxBalanceMinor }));
  await postCreditBatch(tx, MANUAL_PROVIDER, entries, atMs, (index, error) => refusedAt(error, `line ${ordered[index]?.line ?? '?'}`));
  return rows.reduce((sum, row) => sum + row.amountMinor, 0);
}

/** A recharge by hand that would take more than the available credit is a 409 (not the 402 of spending). */
async function postManual(tx: Tx, entry: CreditEntry, atMs: number): Promise<Posted> {
  try {
    return await postCredit(tx, entry, atMs);
  } catch (error) {
    throw error instanceof InsufficientCredit ? tooLow(error, '') : error;
  }
}

/** A bulk's refused row, named by its line. */
function refusedAt(error: Refusal, line: string): AppError {
  if (error instanceof InsufficientCredit) return tooLow(error, line);
  return new AppError(error.kind, `${line}: ${error.message}`, error.data.map((d) => ({ ...d, field: line })));
}

function tooLow(error: InsufficientCredit, line: string): AppError {
  const where = line === '' ? '' : `${line}: `;
  return new AppError('conflict', `${where}the credit balance is too low for this: ${error.figures}`, [{ field: line === '' ? 'amount' : line, problem: 'would take the available credit below zero' }]);
}

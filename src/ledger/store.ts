// SQL of the ledger: accounts, transactions, postings. The only SQL in Purse that writes a balance.
import type { Db, ReadTx, Returning, Row, SqlValue, Statement, Tx } from '../db/index.js';
import { pageWithCount } from '../db/page.js';
import { where } from '../db/where.js';

export interface AccountRow {
  id: number;
  code: string;
  user_id: number | null;
  reference: string;
  kind: string;
  name: string;
  currency: string;
  balance_minor: number;
  /** What open holds reserve: `available = balance − held + overdraft`. */
  held_minor: number;
  overdraft_limit_minor: number | null;
}

const ACCOUNT_COLUMNS = 'id, code, user_id, reference, kind, name, currency, balance_minor, held_minor, overdraft_limit_minor';

export interface NewAccount {
  code: string;
  userId: number | null;
  reference: string;
  kind: 'credit' | 'system';
  name: string;
  currency: string;
  /** null: no floor (system accounts); 0: never below zero (credit accounts). */
  overdraftLimitMinor: number | null;
}

/** Inserts the account unless its code exists; either way returns it. */
export async function ensureAccount(tx: Tx, account: NewAccount, nowMs: number): Promise<AccountRow> {
  await tx.run(
    `INSERT INTO ledger_accounts (code, user_id, reference, kind, name, currency, balance_minor, overdraft_limit_minor, created_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (code) DO NOTHING`,
    [account.code, account.userId, account.reference, account.kind, account.name, account.currency, account.overdraftLimitMinor, nowMs],
  );
  const row = await getAccountByCode(tx, account.code);
  if (row === undefined) throw new Error(`account ${account.code} vanished after insert`);
  return row;
}

export function getAccountByCode(q: ReadTx, code: string): Promise<AccountRow | undefined> {
  return q.get<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE code = ?`, [code]);
}

export function getUserAccount(q: ReadTx, userId: number, reference: string): Promise<AccountRow | undefined> {
  return q.get<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE user_id = ? AND reference = ?`, [userId, reference]);
}

export function listUserAccounts(q: ReadTx, userId: number): Promise<AccountRow[]> {
  return q.all<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE user_id = ? ORDER BY id`, [userId]);
}

export interface AccountChange {
  /** Added to the posted balance. */
  amountMinor: number;
  /** Added to the held amount: a hold placed (+), released, expired or captured (−). */
  heldMinor: number;
  /** Refuse unless the account's person is active (new charges and holds; not captures or refunds). */
  activeOnly: boolean;
  /** A change that raises the balance must leave it at most this. */
  maxBalanceMinor: number;
}

/**
 * Changes a person's balance and held amount together, unless the available credit would fall below
 * the floor or a raised balance would pass its ceiling; returns the new figures, or undefined when
 * refused (or the person is not active, when asked). A change that only raises what is available
 * is never refused by the floor. One conditional UPDATE: on PostgreSQL it takes the row lock, so
 * charges, holds, transfers and negative recharges racing on one account serialize here and can
 * never overdraw it. The CASTs keep SQLite's arithmetic in integers (it binds numbers as REAL).
 */
export function changeUserAccount(tx: Tx, userId: number, reference: string, change: AccountChange): Promise<PersonSide | undefined> {
  const statement = changeUserAccountStatement(userId, reference, change);
  return tx.get<PersonSide>(statement.sql, statement.params);
}

export interface PersonSide {
  id: number;
  balance_minor: number;
  held_minor: number;
}

function changeUserAccountStatement(userId: number, reference: string, change: AccountChange): Statement {
  return guardedChange({ sql: '?', params: [userId] }, reference, bound(change.amountMinor), guardsOf(change));
}

/** Which of the account's guards a change needs, by its sign: known even when SQL holds the figure. */
interface Guards {
  /** Only raises what is available: the floor cannot refuse it. */
  onlyRaises: boolean;
  /** Raises the balance: its ceiling can. */
  raisesBalance: boolean;
  heldMinor: number;
  activeOnly: boolean;
  maxBalanceMinor: number;
}

function guardsOf(change: AccountChange): Guards {
  return { onlyRaises: change.amountMinor >= 0 && change.heldMinor <= 0, raisesBalance: change.amountMinor > 0, heldMinor: change.heldMinor, activeOnly: change.activeOnly, maxBalanceMinor: change.maxBalanceMinor };
}

/** changeUserAccount's one conditional UPDATE, its person and amount given as SQL. */
function guardedChange(userId: Statement, reference: string, amount: Statement, guards: Guards): Statement {
  return {
    sql: `UPDATE ledger_accounts SET balance_minor = balance_minor + ${amount.sql}, held_minor = held_minor + CAST(? AS BIGINT)
     WHERE user_id = ${userId.sql} AND reference = ?
       AND (overdraft_limit_minor IS NULL OR ? = 1 OR balance_minor + ${amount.sql} - held_minor - ? >= -overdraft_limit_minor)
       AND (? = 0 OR balance_minor + ${amount.sql} <= ?)
       AND (? = 0 OR EXISTS (SELECT 1 FROM users u WHERE u.id = ledger_accounts.user_id AND u.active = 1))
     RETURNING id, balance_minor, held_minor`,
    params: [
      ...amount.params,
      guards.heldMinor,
      ...userId.params,
      reference,
      Number(guards.onlyRaises),
      ...amount.params,
      guards.heldMinor,
      Number(guards.raisesBalance),
      ...amount.params,
      guards.maxBalanceMinor,
      Number(guards.activeOnly),
    ],
  };
}

/** What a credit posting changed before its postings: undefined from the first side that refused. */
export interface PostedSides {
  person: PersonSide | undefined;
  transactionId: number | undefined;
  system: SystemSide | undefined;
}

/** A posting whose person's side refused: nothing written. */
const NO_SIDES: PostedSides = { person: undefined, transactionId: undefined, system: undefined };

/**
 * A credit posting's three dependent writes — the person's guarded change, the ledger transaction,
 * the system account — in this order (people's rows are locked before system rows, everywhere). On
 * PostgreSQL one statement: the transaction and the system side read the person's side, so they run
 * only after it and only when it changed a row. Elsewhere three statements, stopping at a refusal.
 */
export async function postSides(tx: Tx, person: { userId: number; reference: string; change: AccountChange }, transaction: NewTransaction, system: { code: string; amountMinor: number; maxMinor: number }, nowMs: number): Promise<PostedSides> {
  return (await postRecordedSides(tx, person, transaction, system, nowMs, undefined)).sides;
}

/** A posting's figures as SQL, for the statement that records it in a table of its own (postRecordedSides). */
export interface PostedFigures {
  /** The person's balance after the posting. */
  balanceMinor: Statement;
  transactionId: Statement;
  /** True only when every side was written: the record is an INSERT … SELECT … WHERE this. */
  written: string;
}

/** The statement that records a posting (a charge's row), given the posting's figures as SQL. */
export type PostingRecord<R> = (posted: PostedFigures) => Returning<R>;

/**
 * postSides, and then `record` reading its figures: on PostgreSQL one statement with the sides (a
 * charge is one round trip and its finish); elsewhere one more, after the sides. Nothing is
 * recorded when a side refused.
 */
export async function postRecordedSides<R>(tx: Tx, person: { userId: number; reference: string; change: AccountChange }, transaction: NewTransaction, system: { code: string; amountMinor: number; maxMinor: number }, nowMs: number, record: PostingRecord<R> | undefined): Promise<{ sides: PostedSides; recorded: R | undefined }> {
  if (!tx.dialect.combinesWrites) {
    const personSide = await changeUserAccount(tx, person.userId, person.reference, person.change);
    if (personSide === undefined) return { sides: NO_SIDES, recorded: undefined };
    const transactionId = await insertTransaction(tx, transaction, nowMs);
    const sides = { person: personSide, transactionId, system: await addToSystemBalance(tx, system.code, system.amountMinor, system.maxMinor) };
    if (sides.system === undefined || record === undefined) return { sides, recorded: undefined };
    const { statement, rowOf } = record({ balanceMinor: bound(personSide.balance_minor), transactionId: bound(transactionId), written: '1 = 1' });
    const row = await tx.get(statement.sql, statement.params);
    return { sides, recorded: row === undefined ? undefined : rowOf(row) };
  }
  const p = changeUserAccountStatement(person.userId, person.reference, person.change);
  const recordStatement = record?.({ balanceMinor: { sql: '(SELECT balance_minor FROM p)', params: [] }, transactionId: { sql: '(SELECT id FROM t)', params: [] }, written: 'EXISTS (SELECT 1 FROM s)' });
  const statement = sidesSql({ after: recordStatement?.statement }, p, { ...transaction, description: bound(transaction.description) }, { ...system, amount: bound(system.amountMinor) }, nowMs);
  const { sides, rest } = splitSides(await tx.get<SidesRow & Row>(statement.sql, statement.params));
  return { sides, recorded: recordStatement === undefined || rest.id === null ? undefined : recordStatement.rowOf(rest) };
}

/** A value as SQL: its placeholder, cast so that SQLite keeps integer arithmetic in integers. */
function bound(value: SqlValue): Statement {
  return { sql: typeof value === 'number' ? 'CAST(? AS BIGINT)' : '?', params: [value] };
}

/** The columns a source of a credit (`postSidesFrom`) returns: whose it is, how much, and why. */
export interface CreditSource {
  user_id: number;
  amount_minor: number;
  description: string;
}

/**
 * postSides for a credit whose person, amount and description the statement before it decides:
 * `source`, a data-modifying statement (a payment's state change) RETURNING at least CreditSource's
 * columns, with an amount above zero; nothing is posted when it changed no row, and its row comes
 * back with the sides. On PostgreSQL (combinesWrites) the source and the three sides are one
 * statement, the state check, the ceiling and the books' limit all inside it; elsewhere the source
 * runs first, then postSides with its figures.
 */
export async function postSidesFrom<R extends CreditSource>(tx: Tx, source: Returning<R>, person: { reference: string; maxBalanceMinor: number }, transaction: Omit<NewTransaction, 'description'>, system: { code: string; maxMinor: number }, nowMs: number): Promise<{ source: R | undefined; sides: PostedSides }> {
  if (!tx.dialect.combinesWrites) {
    const found = await tx.get(source.statement.sql, source.statement.params);
    if (found === undefined) return { source: undefined, sides: NO_SIDES };
    const row = source.rowOf(found);
    const change = { amountMinor: row.amount_minor, heldMinor: 0, activeOnly: false, maxBalanceMinor: person.maxBalanceMinor };
    return { source: row, sides: await postSides(tx, { userId: row.user_id, reference: person.reference, change }, { ...transaction, description: row.description }, { ...system, amountMinor: -row.amount_minor }, nowMs) };
  }
  const amount = { sql: '(SELECT amount_minor FROM src)', params: [] };
  const guards = { onlyRaises: true, raisesBalance: true, heldMinor: 0, activeOnly: false, maxBalanceMinor: person.maxBalanceMinor };
  const p = guardedChange({ sql: '(SELECT user_id FROM src)', params: [] }, person.reference, amount, guards);
  const statement = sidesSql({ before: source.statement }, p, { ...transaction, description: { sql: '(SELECT description FROM src)', params: [] } }, { ...system, amount: { sql: '-(SELECT amount_minor FROM src)', params: [] } }, nowMs);
  const { sides, rest } = splitSides(await tx.get<SidesRow & Row>(statement.sql, statement.params));
  // No source row (its columns NULL), no sides: every side reads the source's row.
  return { source: rest.amount_minor === null ? undefined : source.rowOf(rest), sides };
}

/** The sides of sidesSql's one row, and the columns of its source or record. */
function splitSides(row: (SidesRow & Row) | undefined): { sides: PostedSides; rest: Row } {
  if (row === undefined) throw new Error('a statement of one row gave none');
  const { person_id, person_balance_minor, person_held_minor, transaction_id, system_id, system_balance_minor, ...rest } = row;
  return { sides: sidesOf({ person_id, person_balance_minor, person_held_minor, transaction_id, system_id, system_balance_minor }), rest };
}

interface SidesRow {
  person_id: number | null;
  person_balance_minor: number | null;
  person_held_minor: number | null;
  transaction_id: number | null;
  system_id: number | null;
  system_balance_minor: number | null;
}

/**
 * The three sides as data-modifying CTEs in one statement with one row: each side's columns, NULL
 * from the first that changed nothing. `before`, a source (CTE src) whose row the sides read, or
 * `after`, a record (CTE k) that reads them; then that statement's own columns.
 */
function sidesSql(around: { before?: Statement; after?: Statement }, person: Statement, transaction: Omit<NewTransaction, 'description'> & { description: Statement }, system: { code: string; amount: Statement; maxMinor: number }, nowMs: number): Statement {
  const { before, after } = around;
  if (before !== undefined && after !== undefined) throw new Error('a posting has a source or a record, not both: their columns would collide');
  return {
    sql: `WITH ${before === undefined ? '' : `src AS (${before.sql}),`}
          p AS (${person.sql}),
          t AS (INSERT INTO ledger_transactions (kind, provider, payment_id, description, actor, created_at_ms)
                SELECT ?, ?, ?, ${transaction.description.sql}, ?, ? FROM p RETURNING id),
          s AS (UPDATE ledger_accounts SET balance_minor = balance_minor + ${system.amount.sql}
                WHERE code = ? AND ABS(balance_minor + ${system.amount.sql}) <= ? AND EXISTS (SELECT 1 FROM p) RETURNING id, balance_minor)
          ${after === undefined ? '' : `, k AS (${after.sql})`}
     SELECT p.id AS person_id, p.balance_minor AS person_balance_minor, p.held_minor AS person_held_minor, t.id AS transaction_id, s.id AS system_id, s.balance_minor AS system_balance_minor${before === undefined ? '' : ', src.*'}${after === undefined ? '' : ', k.*'}
     FROM (SELECT 1) one ${before === undefined ? '' : 'LEFT JOIN src ON TRUE'} LEFT JOIN p ON TRUE LEFT JOIN t ON TRUE LEFT JOIN s ON TRUE ${after === undefined ? '' : 'LEFT JOIN k ON TRUE'}`,
    params: [
      ...(before?.params ?? []),
      ...person.params,
      transaction.kind,
      transaction.provider,
      transaction.paymentId,
      ...transaction.description.params,
      transaction.actor,
      nowMs,
      ...system.amount.params,
      system.code,
      ...system.amount.params,
      system.maxMinor,
      ...(after?.params ?? []),
    ],
  };
}

function sidesOf(row: SidesRow | undefined): PostedSides {
  if (row === undefined || row.person_id === null) return NO_SIDES;
  const personSide = { id: row.person_id, balance_minor: present(row.person_balance_minor), held_minor: present(row.person_held_minor) };
  const systemSide = row.system_id === null ? undefined : { id: row.system_id, balance_minor: present(row.system_balance_minor) };
  return { person: personSide, transactionId: present(row.transaction_id), system: systemSide };
}

/** A column of a row that RETURNING gave: NOT NULL in the table, so never null when its row is there. */
function present(value: number | null): number {
  if (value === null) throw new Error('a returned NOT NULL column was null');
  return value;
}

/** Rows per statement of the set-based writes below: far under both engines' parameter limits. */
const ROWS_PER_STATEMENT = 1_000;

function chunksOf<T>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) chunks.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return chunks;
}

/**
 * Several people's accounts of one reference, locked until the transaction ends where writers run
 * in parallel: in user-id order (the order of byAccountLockOrder), a thousand per statement.
 */
export async function lockUserAccounts(tx: Tx, userIds: readonly number[], reference: string): Promise<AccountRow[]> {
  const rows: AccountRow[] = [];
  for (const chunk of chunksOf([...userIds].sort((a, b) => a - b))) {
    const found = await tx.all<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE reference = ? AND user_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY user_id${tx.dialect.forUpdate}`,
      [reference, ...chunk],
    );
    rows.push(...found);
  }
  return rows;
}

/** Adds to many accounts' balances, a thousand per statement; the caller holds their locks and checked the figures. */
export async function addToBalances(tx: Tx, changes: readonly { accountId: number; amountMinor: number }[]): Promise<number> {
  let changed = 0;
  for (const chunk of chunksOf(changes)) {
    const result = await tx.run(
      `UPDATE ledger_accounts SET balance_minor = balance_minor + v.column2
       FROM (VALUES ${chunk.map(() => '(CAST(? AS BIGINT), CAST(? AS BIGINT))').join(', ')}) AS v WHERE ledger_accounts.id = v.column1`,
      chunk.flatMap((c) => [c.accountId, c.amountMinor]),
    );
    changed += result.changes;
  }
  return changed;
}

/** Locks a person's account row until the transaction ends (where writers run in parallel). */
export async function lockUserAccount(tx: Tx, userId: number, reference: string): Promise<void> {
  await tx.get(`SELECT id FROM ledger_accounts WHERE user_id = ? AND reference = ?${tx.dialect.forUpdate}`, [userId, reference]);
}

/** Whether the person behind a user id is active; undefined when there is no such person. */
export async function userActive(q: ReadTx, userId: number): Promise<boolean | undefined> {
  const row = await q.get<{ active: number }>('SELECT active FROM users WHERE id = ?', [userId]);
  return row === undefined ? undefined : row.active === 1;
}

/**
 * The same for a system account, by code: no floor, but never past ±`maxMinor`; undefined when
 * refused or missing.
 */
export interface SystemSide {
  id: number;
  balance_minor: number;
}

export function addToSystemBalance(tx: Tx, code: string, amountMinor: number, maxMinor: number): Promise<SystemSide | undefined> {
  return tx.get<SystemSide>(
    'UPDATE ledger_accounts SET balance_minor = balance_minor + CAST(? AS BIGINT) WHERE code = ? AND ABS(balance_minor + ?) <= ? RETURNING id, balance_minor',
    [amountMinor, code, amountMinor, maxMinor],
  );
}

export interface NewTransaction {
  kind: string;
  provider: string;
  paymentId: number | null;
  description: string;
  actor: string;
}

/**
 * Many transactions, a thousand per statement; answers their ids by description, which the caller
 * keeps distinct (RETURNING promises no order on SQLite).
 */
export async function insertTransactions(tx: Tx, transactions: readonly NewTransaction[], nowMs: number): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const chunk of chunksOf(transactions)) {
    const rows = await tx.all<{ id: number; description: string }>(
      `INSERT INTO ledger_transactions (kind, provider, payment_id, description, actor, created_at_ms) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')} RETURNING id, description`,
      chunk.flatMap((t) => [t.kind, t.provider, t.paymentId, t.description, t.actor, nowMs]),
    );
    for (const row of rows) ids.set(row.description, row.id);
  }
  return ids;
}

export async function insertTransaction(tx: Tx, t: NewTransaction, nowMs: number): Promise<number> {
  const row = await tx.get<{ id: number }>(
    'INSERT INTO ledger_transactions (kind, provider, payment_id, description, actor, created_at_ms) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
    [t.kind, t.provider, t.paymentId, t.description, t.actor, nowMs],
  );
  if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
  return row.id;
}

/**
 * All postings of a transaction in one statement, queued: nothing in the command needs its result,
 * so it rides on the command's last round trip (Tx.later).
 */
export function queuePostings(tx: Tx, transactionId: number, postings: readonly NewPosting[], nowMs: number): void {
  queueManyPostings(tx, postings.map((p) => ({ ...p, transactionId })), nowMs);
}

export interface NewPosting {
  accountId: number;
  amountMinor: number;
  balanceAfterMinor: number;
}

/** Postings of many transactions, queued a thousand per statement. */
export function queueManyPostings(tx: Tx, postings: readonly (NewPosting & { transactionId: number })[], nowMs: number): void {
  for (const chunk of chunksOf(postings)) {
    tx.later(
      `INSERT INTO ledger_postings (transaction_id, account_id, amount_minor, balance_after_minor, created_at_ms) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
      chunk.flatMap((p) => [p.transactionId, p.accountId, p.amountMinor, p.balanceAfterMinor, nowMs]),
    );
  }
}

export interface StatementFilter {
  fromMs?: number;
  toMs?: number;
  provider?: string;
  type?: string;
}

export interface StatementRow {
  id: number;
  created_at_ms: number;
  kind: string;
  balance_after_minor: number;
  amount_minor: number;
  provider: string;
  payment_id: number | null;
  description: string;
}

/** A transfer is one transaction; the statement shows its two sides as `transferOut` and `transferIn`. */
const TRANSFER_SIDES: Readonly<Record<string, string>> = { transferOut: 'p.amount_minor < 0', transferIn: 'p.amount_minor > 0' };

/** The account as an id, or as a person's account named by its reference (looked up by the statement itself). */
type AccountKey = number | { userId: number; reference: string };

function statementWhere(account: AccountKey, filter: StatementFilter): { sql: string; params: SqlValue[] } {
  const side = filter.type === undefined ? undefined : TRANSFER_SIDES[filter.type];
  const byId = typeof account === 'number';
  const clause = where([
    [byId ? 'p.account_id = ?' : 'p.account_id = (SELECT id FROM ledger_accounts WHERE user_id = ? AND reference = ?)', byId ? account : account.userId],
    ['p.created_at_ms >= ?', filter.fromMs],
    ['p.created_at_ms <= ?', filter.toMs],
    ['t.provider = ?', filter.provider],
    ['t.kind = ?', side === undefined ? filter.type : 'transfer'],
  ]);
  // The account's condition is always first, and by reference it takes two values, not one.
  const params = byId ? clause.params : [account.userId, account.reference, ...clause.params.slice(1)];
  return { sql: side === undefined ? clause.sql : `${clause.sql} AND ${side}`, params };
}

const STATEMENT_SELECT = `SELECT p.id, p.created_at_ms, t.kind, p.balance_after_minor, p.amount_minor, t.provider, t.payment_id, t.description
  FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id`;

export async function statementPage(q: ReadTx, accountId: number, filter: StatementFilter, limit: number, start: number): Promise<{ rows: StatementRow[]; count: number }> {
  const where = statementWhere(accountId, filter);
  const rows = await q.all<StatementRow>(`${STATEMENT_SELECT} WHERE ${where.sql} ORDER BY p.id LIMIT ? OFFSET ?`, [...where.params, limit, start]);
  const count = statementCount(where, filter);
  const total = await q.get<{ n: number }>(count.sql, count.params);
  return { rows, count: total?.n ?? 0 };
}

function statementRowOf(v: readonly SqlValue[], at: number): StatementRow {
  return {
    id: v[at] as number,
    created_at_ms: v[at + 1] as number,
    kind: v[at + 2] as string,
    balance_after_minor: v[at + 3] as number,
    amount_minor: v[at + 4] as number,
    provider: v[at + 5] as string,
    payment_id: v[at + 6] as number | null,
    description: v[at + 7] as string,
  };
}

/**
 * statementPage for a person's account named by its reference, in one statement that also finds
 * the account. Undefined when the page is empty (or there is no such account): statementPage in a
 * read says which.
 */
export function statementPageOfUser(db: Db, userId: number, reference: string, filter: StatementFilter, limit: number, start: number): Promise<{ rows: StatementRow[]; count: number } | undefined> {
  const where = statementWhere({ userId, reference }, filter);
  return pageWithCount(db, { sql: `${STATEMENT_SELECT} WHERE ${where.sql} ORDER BY p.id LIMIT ? OFFSET ?`, params: [...where.params, limit, start] }, statementCount(where, filter), statementRowOf);
}

/** Without a provider or type filter the count needs no join: the postings index answers it. */
function statementCount(where: { sql: string; params: SqlValue[] }, filter: StatementFilter): { sql: string; params: SqlValue[] } {
  const needsJoin = filter.provider !== undefined || filter.type !== undefined;
  const from = needsJoin ? 'ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id' : 'ledger_postings p';
  return { sql: `SELECT COUNT(*) AS n FROM ${from} WHERE ${where.sql}`, params: where.params };
}

/** Entries after `afterId`, in id order: keyset pages for streaming however long the statement is. */
export function statementAfter(q: ReadTx, accountId: number, filter: StatementFilter, afterId: number, limit: number): Promise<StatementRow[]> {
  const where = statementWhere(accountId, filter);
  return q.all<StatementRow>(`${STATEMENT_SELECT} WHERE ${where.sql} AND p.id > ? ORDER BY p.id LIMIT ?`, [...where.params, afterId, limit]);
}

// ---- verification: recompute everything from the postings -----------------------------------

export function unbalancedTransactions(q: ReadTx): Promise<{ id: number; total: number; postings: number }[]> {
  return q.all(
    `SELECT t.id, COALESCE(SUM(p.amount_minor), 0) AS total, COUNT(p.id) AS postings
     FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
     GROUP BY t.id HAVING COALESCE(SUM(p.amount_minor), 0) <> 0 OR COUNT(p.id) < 2`,
  );
}

export function balanceMismatches(q: ReadTx): Promise<{ code: string; stored: number; computed: number }[]> {
  return q.all(
    `SELECT a.code, a.balance_minor AS stored, COALESCE(SUM(p.amount_minor), 0) AS computed
     FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
     GROUP BY a.id, a.code, a.balance_minor HAVING a.balance_minor <> COALESCE(SUM(p.amount_minor), 0)`,
  );
}

/** Postings whose balance-after is not the running sum of the account's postings up to them. */
export function brokenRunningBalances(q: ReadTx): Promise<{ code: string; posting_id: number }[]> {
  return q.all(
    `SELECT code, posting_id FROM (
       SELECT a.code, p.id AS posting_id, p.balance_after_minor,
              SUM(p.amount_minor) OVER (PARTITION BY p.account_id ORDER BY p.id) AS running_minor
       FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
     ) x WHERE balance_after_minor <> running_minor`,
  );
}

/** What Purse owes people (the sum of their balances) and what holds reserve of it. */
export async function liabilities(q: ReadTx): Promise<{ balance_minor: number; held_minor: number }> {
  const row = await q.get<{ balance_minor: number | null; held_minor: number | null }>('SELECT SUM(balance_minor) AS balance_minor, SUM(held_minor) AS held_minor FROM ledger_accounts WHERE user_id IS NOT NULL');
  return { balance_minor: row?.balance_minor ?? 0, held_minor: row?.held_minor ?? 0 };
}

/** What an account's holds that are past their expiry, not yet expired by the sweeper, still reserve. */
export async function overdueHeldMinor(q: ReadTx, userId: number, reference: string, nowMs: number): Promise<number> {
  const row = await q.get<{ total: number | null }>("SELECT SUM(amount_minor) AS total FROM holds WHERE user_id = ? AND reference = ? AND state = 'held' AND expires_at_ms <= ?", [userId, reference, nowMs]);
  return row?.total ?? 0;
}

/** Accounts whose held amount is not the sum of their open holds. */
export function heldMismatches(q: ReadTx): Promise<{ code: string; stored: number; computed: number }[]> {
  return q.all(
    `SELECT a.code, a.held_minor AS stored, COALESCE(SUM(h.amount_minor), 0) AS computed
     FROM ledger_accounts a LEFT JOIN holds h ON h.user_id = a.user_id AND h.reference = a.reference AND h.state = 'held'
     WHERE a.user_id IS NOT NULL
     GROUP BY a.id, a.code, a.held_minor HAVING a.held_minor <> COALESCE(SUM(h.amount_minor), 0)`,
  );
}

export function overdrawnAccounts(q: ReadTx): Promise<{ code: string; lowest: number }[]> {
  return q.all(
    `SELECT a.code, MIN(p.balance_after_minor) AS lowest FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
     WHERE a.overdraft_limit_minor IS NOT NULL
     GROUP BY a.id, a.code, a.overdraft_limit_minor HAVING MIN(p.balance_after_minor) < -a.overdraft_limit_minor`,
  );
}

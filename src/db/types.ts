// The one interface the rest of Purse sees; nothing outside db/ knows which engine runs.

export type SqlValue = string | number | null;
export type Row = Record<string, SqlValue>;

/**
 * What differs between the engines and matters to SQL written once for both, decided here so that
 * no module has to ask which engine runs.
 */
export interface Dialect {
  /**
   * A SQL expression: every transaction whose `tx_order` (an events column, filled in by the
   * engine when the row is written) is below this value has finished. PostgreSQL hands out
   * identity values at insert, not at commit, so a reader must not read past a transaction that
   * is still running; SQLite has one writer and commits in order, so nothing is ever pending.
   */
  readonly settledHorizon: string;
  /**
   * How many rows a hot counter (a system account every recharge touches) is spread over: one
   * where a single writer runs anyway, several where parallel writers would queue on its row lock.
   */
  readonly hotRowShards: number;
  /**
   * Appended to a SELECT that must lock the rows it reads until the transaction ends: ` FOR UPDATE`
   * where writers run in parallel, nothing where the single writer already excludes everyone else.
   */
  readonly forUpdate: string;
  /**
   * The same, letting other transactions share the lock: rows that must not change until the
   * transaction ends, which many transactions read at once (a voucher batch that its vouchers' uses
   * need unexpired). Nothing on SQLite.
   */
  readonly forShare: string;
  /**
   * The same, skipping rows another transaction has locked: several processes claiming work from
   * one table each take different rows. Nothing on SQLite, whose single writer claims alone.
   */
  readonly skipLocked: string;
  /**
   * Whether statements that depend on each other's results may run as one (data-modifying WITH …
   * RETURNING): on PostgreSQL, where every statement is a round trip, the ledger's hot path is one
   * statement; SQLite has no such WITH, and its statements cost no round trip.
   */
  readonly combinesWrites: boolean;
}

/** A read-only handle: SQL uses `?` placeholders. It has no `run`: reads never write. */
export interface ReadTx {
  readonly dialect: Dialect;
  all<T extends object = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T extends object = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
}

export interface Statement {
  sql: string;
  params: readonly SqlValue[];
}

/** A queued write, and for laterOne's the error its unit fails with when it does not change one row. */
export interface QueuedWrite extends Statement {
  otherwise?: Error;
}

/**
 * A statement with RETURNING (a state change) that another module's statement runs first and reads
 * (a posting), with its row as the statement's own module types it.
 */
export interface Returning<R> {
  statement: Statement;
  rowOf: (row: Row) => R;
}

/** A connection inside a write transaction. */
export interface Tx extends ReadTx {
  /** Runs a statement; `changes` is the number of rows it inserted, updated or deleted. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /**
   * Queues an INSERT, UPDATE or DELETE (without RETURNING) whose result the unit does not need now:
   * postings, audit entries, events. Queued writes run at the next `flush` — at the latest when the
   * unit ends, before its transaction commits — all in one round trip on PostgreSQL. A unit never
   * reads back what it queued (the statements before the flush do not see it); past
   * `MAX_QUEUED_STATEMENTS` or `MAX_QUEUED_PARAMS` the next statement flushes the queue first.
   */
  later(sql: string, params?: readonly SqlValue[]): void;
  /**
   * later(), for a write that must change exactly one row (a voucher still reserved, a captured
   * card payment); when it changes none, the unit fails with `otherwise`. The check is inside the
   * statement that runs the write (a failed requirement on PostgreSQL), so that it can leave with
   * `finish`'s COMMIT: a voucher's commit waits for no answer of its own. Like every queued write
   * it must not touch a row another write of its flush touches: on PostgreSQL the parts of one
   * statement see one snapshot, and the second change of a row changes nothing.
   */
  laterOne(sql: string, params: readonly SqlValue[], otherwise: Error): void;
  /**
   * Runs the queued writes, in order, and then `read` (a SELECT, or a write with RETURNING): the
   * rows each write changed, and the read's first row. One statement on PostgreSQL (data-modifying
   * CTEs), one after another on SQLite.
   */
  flush(read?: Statement): Promise<{ changes: number[]; row: Row | undefined }>;
  /**
   * The unit's last statements: a flush after which the unit writes nothing and decides nothing
   * more, its last checks being inside the SQL (requireThat, unique keys). PostgreSQL sends the
   * COMMIT behind them without waiting for their answer — one round trip for both — and a failed
   * check aborts the transaction that COMMIT then only ends; SQLite, where a statement costs no
   * round trip, flushes. No statement may run on the transaction after it.
   */
  finish(read: Statement): Promise<{ changes: number[]; row: Row | undefined }>;
  /**
   * Tells every process listening on `channel` (Db.listen) `payload`, when and only if this
   * transaction commits. Nothing on SQLite, whose one process knows its own commits.
   */
  notify(channel: string, payload: string): Promise<void>;
}

/**
 * A unit of work: database statements only. It may run again (PostgreSQL retries serialization
 * failures) and, on SQLite, shares a transaction with the units that arrived with it, so it must
 * not do slow or external work (hash passwords before, not inside).
 */
export type WriteUnit<T> = (tx: Tx) => Promise<T>;

export type Engine = 'sqlite' | 'postgres';

export interface Db {
  readonly engine: Engine;
  readonly dialect: Dialect;
  /**
   * Reads committed data as one snapshot: every statement of `fn` sees the same state, however
   * many it runs (rows and their count, a verification across tables).
   */
  read<T>(fn: (q: ReadTx) => Promise<T>): Promise<T>;
  /**
   * One SELECT on a snapshot of its own, without a transaction around it (one round trip on
   * PostgreSQL instead of three), its rows as arrays of values in the order of its columns (no
   * object per row for the driver to build): for hot reads that fit in one statement, such as a
   * page and its count. Only a SELECT: unlike `read`, nothing stops a statement here from writing.
   */
  selectValues(sql: string, params?: readonly SqlValue[]): Promise<SqlValue[][]>;
  /** Runs the unit in a transaction; resolves only once its effects are durably committed. */
  write<T>(unit: WriteUnit<T>): Promise<T>;
  ping(): Promise<void>;
  /**
   * Copies the whole database as one consistent snapshot, taken while it serves, into `file`: a new
   * file (never over one that exists) readable by its owner only. An engine with tools of its own
   * for this (PostgreSQL: pg_dump) refuses and names them.
   */
  backup(file: string): Promise<void>;
  /**
   * Hears what other processes' transactions `notify` on `channel` (this process's too), on a
   * connection of its own that comes back after a drop: `onMessage` per notification, `onGap`
   * whenever some may have been missed (the connection dropped). SQLite has no other process to
   * hear: nothing is ever called.
   */
  listen(channel: string, onMessage: (payload: string) => void, onGap: () => void): Listening;
  close(): Promise<void>;
}

export interface Listening {
  stop(): Promise<void>;
}

/** Bounds on queued writes: one flush stays far below PostgreSQL's 65,535 parameters a statement. */
export const MAX_QUEUED_STATEMENTS = 64;
export const MAX_QUEUED_PARAMS = 20_000;

/** Whether a queue of writes is due for a flush before the next statement. */
export function queueIsFull(queued: readonly QueuedWrite[]): boolean {
  return queued.length > MAX_QUEUED_STATEMENTS || queued.reduce((n, s) => n + s.params.length, 0) > MAX_QUEUED_PARAMS;
}

/** The read side of a connection and nothing else: a read cannot write, not even by a cast. */
export function readOnly(tx: ReadTx): ReadTx {
  return { dialect: tx.dialect, all: (sql, params) => tx.all(sql, params), get: (sql, params) => tx.get(sql, params) };
}

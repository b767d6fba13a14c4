// A SQLite connection as Purse uses it: how it is opened, and the Tx its statements run through —
// the writer's, and each reader's (read-only).
import Database from 'better-sqlite3';

import { defineRequireFunction } from './requirements.js';
import { queueIsFull, type Dialect, type QueuedWrite, type Row, type SqlValue, type Statement, type Tx } from './types.js';

// One writer commits in order, so no transaction is ever pending for a reader: the horizon is
// past every position.
export const DIALECT: Dialect = { settledHorizon: String(Number.MAX_SAFE_INTEGER), hotRowShards: 1, forUpdate: '', forShare: '', skipLocked: '', combinesWrites: false };

/** Distinct SQL texts kept prepared; multi-row INSERTs vary with their row count. */
const MAX_PREPARED = 2_000;

export class SqliteTx implements Tx {
  readonly dialect = DIALECT;
  // Prepared statements are cached per SQL text: the same few dozen statements run all day.
  private readonly statements = new Map<string, Database.Statement>();
  private readonly rawStatements = new Map<string, Database.Statement>();
  private queued: QueuedWrite[] = [];

  constructor(private readonly conn: Database.Database) {}

  /** The statement for `sql`, prepared once; raw ones (rows as arrays) are kept apart, raw being a mode of the statement. */
  private prepare(sql: string, raw = false): Database.Statement {
    const cache = raw ? this.rawStatements : this.statements;
    let statement = cache.get(sql);
    if (statement === undefined) {
      if (cache.size >= MAX_PREPARED) cache.clear();
      statement = raw ? this.conn.prepare(sql).raw(true) : this.conn.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }

  later(sql: string, params: readonly SqlValue[] = []): void {
    this.queued.push({ sql, params });
  }

  laterOne(sql: string, params: readonly SqlValue[], otherwise: Error): void {
    this.queued.push({ sql, params, otherwise });
  }

  // One process: its own commits are all it could hear of.
  notify(): Promise<void> {
    return Promise.resolve();
  }

  flush(read?: Statement): Promise<{ changes: number[]; row: Row | undefined }> {
    const writes = this.queued;
    this.queued = [];
    const changes = writes.map((write) => {
      const changed = this.execute(write.sql, write.params);
      // The unit fails here, and its SAVEPOINT (runBatch) undoes what it wrote before.
      if (write.otherwise !== undefined && changed !== 1) throw write.otherwise;
      return changed;
    });
    return Promise.resolve({ changes, row: read === undefined ? undefined : (this.prepare(read.sql).get(...read.params) as Row | undefined) });
  }

  // The batch's COMMIT comes later, for every unit at once.
  finish(read: Statement): Promise<{ changes: number[]; row: Row | undefined }> {
    return this.flush(read);
  }

  /** Queued writes first, when there are too many to keep. */
  private drainIfFull(): void {
    if (this.queued.length > 0 && queueIsFull(this.queued)) void this.flush();
  }

  /** A unit that failed leaves nothing queued for the next one. */
  forgetQueued(): void {
    this.queued = [];
  }

  all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.drainIfFull();
    return Promise.resolve(this.prepare(sql).all(...params) as T[]);
  }

  get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    this.drainIfFull();
    return Promise.resolve(this.prepare(sql).get(...params) as T | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    this.drainIfFull();
    return Promise.resolve({ changes: this.execute(sql, params) });
  }

  /** Rows as arrays (better-sqlite3's raw mode). */
  values(sql: string, params: readonly SqlValue[]): SqlValue[][] {
    return this.prepare(sql, true).all(...params) as SqlValue[][];
  }

  private execute(sql: string, params: readonly SqlValue[]): number {
    const statement = this.prepare(sql);
    if (!statement.reader) return statement.run(...params).changes;
    // A statement with RETURNING is a "reader" to better-sqlite3; run it through all().
    return statement.all(...params).length;
  }
}

export function open(file: string, readonly: boolean): Database.Database {
  const conn = new Database(file, { readonly, fileMustExist: readonly });
  conn.pragma('busy_timeout = 5000');
  defineRequireFunction(conn);
  if (!readonly) {
    conn.pragma('journal_mode = WAL');
    // COMMIT only writes the log; its fsync is WalSync's, on the thread pool (wal-sync.ts).
    conn.pragma('synchronous = NORMAL');
    conn.pragma('foreign_keys = ON');
  }
  return conn;
}

// Embedded SQLite: one writer connection with group commit, one reader connection.
//
// Group commit (DESIGN.md "Writes"): the units that are queued when the writer wakes up run in one
// transaction, each inside its own SAVEPOINT so that a failing unit undoes only itself, and they
// share the one fsync of the COMMIT. No caller's promise settles before that COMMIT has returned, so
// a 2xx always means "on disk" (WAL + synchronous=FULL).
import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import type { Db, SqlValue, Tx, WriteUnit } from './types.js';

/** Upper bound on units per transaction: bounds the work a failed COMMIT can throw away. */
export const MAX_UNITS_PER_BATCH = 256;

interface Pending {
  unit: WriteUnit<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

class SqliteTx implements Tx {
  // Prepared statements are cached per SQL text: the same few dozen statements run all day.
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly conn: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.conn.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return Promise.resolve(this.prepare(sql).all(...params) as T[]);
  }

  get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return Promise.resolve(this.prepare(sql).get(...params) as T | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    const statement = this.prepare(sql);
    if (!statement.reader) return Promise.resolve({ changes: statement.run(...params).changes });
    // A statement with RETURNING is a "reader" to better-sqlite3; run it through all().
    return Promise.resolve({ changes: statement.all(...params).length });
  }
}

function open(file: string, readonly: boolean): Database.Database {
  const conn = new Database(file, { readonly, fileMustExist: readonly });
  conn.pragma('busy_timeout = 5000');
  if (!readonly) {
    conn.pragma('journal_mode = WAL');
    conn.pragma('synchronous = FULL');
    conn.pragma('foreign_keys = ON');
  }
  return conn;
}

export class SqliteDb implements Db {
  readonly engine = 'sqlite' as const;
  private readonly writer: Database.Database;
  private readonly reader: Database.Database;
  private readonly writeTx: SqliteTx;
  private readonly readTx: SqliteTx;
  // Transaction control, prepared once: it runs for every unit and every batch.
  private readonly control: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;
  private queue: Pending[] = [];
  private draining = false;
  private closed = false;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.writer = open(file, false);
    this.reader = open(file, true);
    this.writeTx = new SqliteTx(this.writer);
    this.readTx = new SqliteTx(this.reader);
    const prepare = (sql: string): Database.Statement => this.writer.prepare(sql);
    this.control = {
      begin: prepare('BEGIN IMMEDIATE'),
      commit: prepare('COMMIT'),
      rollback: prepare('ROLLBACK'),
      savepoint: prepare('SAVEPOINT unit'),
      release: prepare('RELEASE unit'),
      rollbackTo: prepare('ROLLBACK TO unit'),
    };
  }

  read<T>(fn: (q: Tx) => Promise<T>): Promise<T> {
    return fn(this.readTx);
  }

  write<T>(unit: WriteUnit<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('database is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ unit, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleDrain();
    });
  }

  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    // Wait for the current I/O phase to end so that units arriving together share a batch.
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      await this.drainQueue();
    } finally {
      this.draining = false;
      // Callers woken by the last batch may have queued more while this function was returning.
      if (this.queue.length > 0) this.scheduleDrain();
    }
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_UNITS_PER_BATCH);
      const outcomes = await this.runBatch(batch);
      batch.forEach((pending, i) => {
        const outcome = outcomes[i];
        if (outcome === undefined) throw new Error('group commit lost an outcome');
        if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
    }
  }

  /** Runs one batch; on a failed COMMIT every unit in it fails, none is acknowledged. */
  private async runBatch(batch: Pending[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    try {
      this.control.begin.run();
    } catch (error) {
      return batch.map(() => ({ ok: false, error }));
    }
    try {
      for (const pending of batch) outcomes.push(await this.runUnit(pending.unit));
    } catch (error) {
      // A unit could not even be undone (SQLite rolled the whole transaction back, e.g. disk full):
      // nothing of this batch is kept, so nobody in it hears success.
      if (this.writer.inTransaction) this.control.rollback.run();
      return batch.map(() => ({ ok: false, error }));
    }
    try {
      this.control.commit.run();
    } catch (error) {
      if (this.writer.inTransaction) this.control.rollback.run();
      return batch.map(() => ({ ok: false, error }));
    }
    return outcomes;
  }

  private async runUnit(unit: WriteUnit<unknown>): Promise<Outcome> {
    this.control.savepoint.run();
    try {
      const value = await unit(this.writeTx);
      this.control.release.run();
      return { ok: true, value };
    } catch (error) {
      this.control.rollbackTo.run();
      this.control.release.run();
      return { ok: false, error };
    }
  }

  ping(): Promise<void> {
    this.reader.prepare('SELECT 1').get();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await new Promise((resolve) => setImmediate(resolve));
    this.reader.close();
    this.writer.close();
  }
}

// Embedded SQLite: one writer connection with group commit, a few reader connections.
//
// Group commit (docs/architecture.md): the units that are queued when the writer wakes up run in one
// transaction — each inside its own SAVEPOINT once one of them has failed, so that a failing unit
// undoes only itself (see runBatch) — and they share one fsync of the log, run off the event loop
// (wal-sync.ts) while the next batch runs. No caller's promise settles before that fsync has
// returned, so a 2xx always means "on disk"; and no read answers with what is not on disk yet.
import fs from 'node:fs';
import path from 'node:path';

import type Database from 'better-sqlite3';

import { Checkpointer } from './checkpointer.js';
import type { CommitHorizon } from './commit-horizon.js';
import { SqliteReaders } from './sqlite-readers.js';
import { DIALECT, open, SqliteTx } from './sqlite-tx.js';
import { WalSync } from './wal-sync.js';
import type { Db, Listening, ReadTx, SqlValue, WriteUnit } from './types.js';

/** Upper bound on units per transaction: bounds the work a failed COMMIT can throw away. */
export const MAX_UNITS_PER_BATCH = 256;

interface Pending {
  unit: WriteUnit<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** SQLite's own default, for when the writer takes its checkpoints back. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

export class SqliteDb implements Db {
  readonly engine = 'sqlite' as const;
  readonly dialect = DIALECT;
  private readonly writer: Database.Database;
  private readonly writeTx: SqliteTx;
  private readonly readers: SqliteReaders;
  // Transaction control, prepared once: it runs for every unit and every batch.
  private readonly control: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;
  private queue: Pending[] = [];
  private draining = false;
  private closed = false;
  /** Whether the next batch runs without savepoints (see runBatch). */
  private optimistic = true;
  private readonly wal: WalSync;
  private readonly checkpointer: Checkpointer;
  /** Whether the thread's checkpoint has ended and the writer copies the rest before its next batch. */
  private restDue = false;
  /** Resolves once every batch committed so far is on disk: what a read waits for before it answers. */
  private committedDurable: Promise<void> = Promise.resolve();
  /** The number `horizon` gave the last COMMIT (0 without one). */
  private batchNumber = 0n;

  constructor(
    file: string,
    /** Told of every batch, when the readers are another thread's (sqlite-thread.ts). */
    private readonly horizon?: CommitHorizon,
  ) {
    // Credit balances and keyed hashes are nobody else's business: the directory 0700, the file
    // 0600 (SQLite gives its -wal and -shm files the database file's mode).
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
    this.writer = open(file, false);
    // Where SQLite keeps the log: beside the database file it resolved, symbolic links followed.
    this.wal = new WalSync(`${walBase(this.writer)}-wal`);
    // Checkpoints run on a thread of their own (checkpointer.ts), unless that thread fails.
    this.writer.pragma('wal_autocheckpoint = 0');
    this.checkpointer = new Checkpointer(file, {
      checkpointed: () => {
        this.restDue = true;
      },
      fallBack: (reason) => {
        this.writer.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
        process.emitWarning(`SQLite checkpoints are back on the writer: ${reason}`, { code: 'PURSE_CHECKPOINT' });
      },
    });
    this.writeTx = new SqliteTx(this.writer);
    this.readers = new SqliteReaders(file, () => this.committedDurable);
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

  read<T>(fn: (q: ReadTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('database is closed'));
    return this.readers.read(fn);
  }

  selectValues(sql: string, params: readonly SqlValue[] = []): Promise<SqlValue[][]> {
    if (this.closed) return Promise.reject(new Error('database is closed'));
    return this.readers.selectValues(sql, params);
  }

  write<T>(unit: WriteUnit<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('database is closed'));
    if (this.wal.failure !== undefined) return Promise.reject(this.wal.failure);
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
      const failure = this.wal.failure;
      if (failure !== undefined) {
        // Nothing more is written, nor copied, over a log that may not be on disk (wal-sync.ts).
        for (const pending of this.queue.splice(0)) pending.reject(failure);
        return;
      }
      if (this.restDue) this.checkpointRest();
      const batch = this.queue.splice(0, MAX_UNITS_PER_BATCH);
      const outcomes = await this.runBatch(batch);
      if (outcomes.length !== batch.length) throw new Error('group commit lost an outcome');
      const number = this.batchNumber;
      // The next batch runs while this one's fsync does; its callers hear back once it is done. A
      // batch that kept nothing waits for the batches before it: its refusals may rest on them.
      this.committedDurable.then(
        () => {
          this.horizon?.settled(number);
          batch.forEach((pending, i) => {
            settle(pending, outcomes[i]);
          });
        },
        (error: unknown) => {
          this.horizon?.settled(number, true);
          for (const pending of batch) pending.reject(error);
        },
      );
    }
  }

  /**
   * Copies into the database file what was committed while the thread checkpointed, so that the
   * whole log is copied and the next batch starts it over (checkpointer.ts). Between batches: no
   * transaction of the writer's is open.
   */
  private checkpointRest(): void {
    this.restDue = false;
    this.writer.pragma('wal_checkpoint(PASSIVE)');
  }

  /**
   * Runs one batch; on a failed COMMIT every unit in it fails, none is acknowledged. Units seldom
   * fail, so a batch first runs without a SAVEPOINT per unit (two statements fewer each); when a
   * unit does fail, the whole batch is undone and run again with savepoints, so that the failure
   * undoes only itself (a unit may run again: see WriteUnit). After a failed batch the next one
   * starts with savepoints straight away, so a run of failures does not pay twice.
   */
  private async runBatch(batch: Pending[]): Promise<Outcome[]> {
    if (this.optimistic) {
      const outcomes = await this.runBatchWithout(batch);
      if (outcomes !== undefined) return this.commitBatch(outcomes);
      this.optimistic = false;
    } else {
      this.optimistic = true;
    }
    return this.runBatchWithSavepoints(batch);
  }

  /** All units in one transaction and nothing between them; undefined (all undone) if one fails. */
  private async runBatchWithout(batch: Pending[]): Promise<Outcome[] | undefined> {
    try {
      this.control.begin.run();
    } catch {
      return undefined;
    }
    const outcomes: Outcome[] = [];
    for (const pending of batch) {
      try {
        outcomes.push({ ok: true, value: await this.runToEnd(pending.unit) });
      } catch {
        this.writeTx.forgetQueued();
        if (this.writer.inTransaction) this.control.rollback.run();
        return undefined;
      }
    }
    return outcomes;
  }

  private async runBatchWithSavepoints(batch: Pending[]): Promise<Outcome[]> {
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
    return this.commitBatch(outcomes);
  }

  private commitBatch(outcomes: Outcome[]): Outcome[] {
    try {
      if (this.horizon !== undefined) this.batchNumber = this.horizon.committing();
      this.control.commit.run();
      // In the same step as the COMMIT: no read can see it before its fsync is what it waits for.
      if (outcomes.some((outcome) => outcome.ok)) {
        this.committedDurable = this.wal.durable();
        this.checkpointer.committed();
      }
    } catch (error) {
      if (this.writer.inTransaction) this.control.rollback.run();
      return outcomes.map(() => ({ ok: false, error }));
    }
    return outcomes;
  }

  /** A unit and the writes it queued: nothing it queued waits past its end. */
  private async runToEnd(unit: WriteUnit<unknown>): Promise<unknown> {
    this.writeTx.forgetQueued();
    const value = await unit(this.writeTx);
    await this.writeTx.flush();
    return value;
  }

  private async runUnit(unit: WriteUnit<unknown>): Promise<Outcome> {
    this.control.savepoint.run();
    try {
      const value = await this.runToEnd(unit);
      this.control.release.run();
      return { ok: true, value };
    } catch (error) {
      this.writeTx.forgetQueued();
      this.control.rollbackTo.run();
      this.control.release.run();
      return { ok: false, error };
    }
  }

  ping(): Promise<void> {
    return this.read(async (q) => {
      await q.get('SELECT 1');
    });
  }

  listen(): Listening {
    return { stop: () => Promise.resolve() };
  }

  /** A connection of its own: the copy reads one snapshot and never waits on, or holds up, the writer. */
  backup(file: string): Promise<void> {
    return this.readers.backup(file);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await new Promise((resolve) => setImmediate(resolve));
    await this.readers.close();
    await this.wal.close();
    await this.checkpointer.close();
    this.writer.close();
  }
}

function walBase(conn: Database.Database): string {
  const main = (conn.pragma('database_list') as { name: string; file: string }[]).find((db) => db.name === 'main');
  if (main === undefined || main.file === '') throw new Error('SQLite names no file for the database');
  return main.file;
}

function settle(pending: Pending, outcome: Outcome | undefined): void {
  if (outcome === undefined) pending.reject(new Error('group commit lost an outcome'));
  else if (outcome.ok) pending.resolve(outcome.value);
  else pending.reject(outcome.error);
}

// Embedded SQLite: one writer connection with group commit, a few reader connections.
//
// Group commit (docs/architecture.md): the units that are queued when the writer wakes up run in one
// transaction — each inside its own SAVEPOINT once one of them has failed, so that a failing unit
// undoes only itself (see runBatch) — and they share one fsync of the log, run off the event loop
// (wal-sync.ts) while the next batch runs. No caller's promise settles before that fsync has
// returned, so a 2xx always means "on disk"; and no read answers with what is not on disk yet.
import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import { PrivateFile } from '../files.js';

import { Checkpointer } from './checkpointer.js';
import { defineRequireFunction } from './requirements.js';
import { WalSync } from './wal-sync.js';
import { queueIsFull, readOnly, type Db, type Dialect, type Listening, type QueuedWrite, type ReadTx, type Row, type SqlValue, type Statement, type Tx, type WriteUnit } from './types.js';

/** Upper bound on units per transaction: bounds the work a failed COMMIT can throw away. */
export const MAX_UNITS_PER_BATCH = 256;

/**
 * Reader connections, opened as reads need them. Each read holds one for its whole snapshot, and
 * reads interleave on the event loop (a streamed export pauses between pages), so one is not enough.
 */
const MAX_READERS = 8;

/**
 * Pages a backup copies per step: all of them. One step reads one snapshot; smaller steps would let
 * a write by the serving process start the copy over, again and again while it is busy.
 */
const BACKUP_PAGES_PER_STEP = 0x7fffffff;

// One writer commits in order, so no transaction is ever pending for a reader: the horizon is
// past every position.
const DIALECT: Dialect = { settledHorizon: String(Number.MAX_SAFE_INTEGER), hotRowShards: 1, forUpdate: '', forShare: '', skipLocked: '', combinesWrites: false };

interface Pending {
  unit: WriteUnit<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** SQLite's own default, for when the writer takes its checkpoints back. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/** Distinct SQL texts kept prepared; multi-row INSERTs vary with their row count. */
const MAX_PREPARED = 2_000;

class SqliteTx implements Tx {
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

function open(file: string, readonly: boolean): Database.Database {
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

/** A reader connection and its prepared statements; a read holds it from BEGIN to COMMIT. */
interface Reader {
  conn: Database.Database;
  tx: ReadTx;
  values: (sql: string, params: readonly SqlValue[]) => SqlValue[][];
  begin: Database.Statement;
  commit: Database.Statement;
}

export class SqliteDb implements Db {
  readonly engine = 'sqlite' as const;
  readonly dialect = DIALECT;
  private readonly writer: Database.Database;
  private readonly writeTx: SqliteTx;
  private readonly idleReaders: Reader[] = [];
  private readerCount = 0;
  private readonly waitingForReader: ((reader: Reader) => void)[] = [];
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

  constructor(private readonly file: string) {
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

  /** One snapshot per read: BEGIN … COMMIT on a reader connection of its own (WAL readers never block the writer). */
  async read<T>(fn: (q: ReadTx) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('database is closed');
    const reader = await this.acquireReader();
    reader.begin.run();
    let answer: PromiseSettledResult<T>;
    try {
      // A refusal read from a commit (a 404 for what was just deleted) is an answer too.
      [answer] = await Promise.allSettled([fn(reader.tx)]);
    } finally {
      reader.commit.run();
      this.releaseReader(reader);
    }
    return this.whenDurable(answer);
  }

  /** A lone statement outside BEGIN … COMMIT: SQLite reads it from one snapshot all the same. */
  async selectValues(sql: string, params: readonly SqlValue[] = []): Promise<SqlValue[][]> {
    if (this.closed) throw new Error('database is closed');
    const reader = await this.acquireReader();
    let answer: PromiseSettledResult<SqlValue[][]>;
    try {
      [answer] = await Promise.allSettled([Promise.resolve().then(() => reader.values(sql, params))]);
    } finally {
      this.releaseReader(reader);
    }
    return this.whenDurable(answer);
  }

  /**
   * A read's answer (or its failure), once every commit it could have seen is on disk: nothing a
   * client is shown can vanish in a power cut. A failed fsync fails the read instead. The reader
   * connection is already back: a snapshot is not held while a disk works.
   */
  private async whenDurable<T>(answer: PromiseSettledResult<T> | undefined): Promise<T> {
    await this.committedDurable;
    if (answer === undefined) throw new Error('a read lost its answer');
    if (answer.status === 'rejected') throw answer.reason;
    return answer.value;
  }

  private acquireReader(): Promise<Reader> {
    const idle = this.idleReaders.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (this.readerCount < MAX_READERS) {
      this.readerCount++;
      const conn = open(this.file, true);
      const tx = new SqliteTx(conn);
      return Promise.resolve({ conn, tx: readOnly(tx), values: (sql, params) => tx.values(sql, params), begin: conn.prepare('BEGIN'), commit: conn.prepare('COMMIT') });
    }
    return new Promise((resolve) => this.waitingForReader.push(resolve));
  }

  private releaseReader(reader: Reader): void {
    const next = this.waitingForReader.shift();
    if (next !== undefined) next(reader);
    else this.idleReaders.push(reader);
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
      // The next batch runs while this one's fsync does; its callers hear back once it is done. A
      // batch that kept nothing waits for the batches before it: its refusals may rest on them.
      this.committedDurable.then(
        () => {
          batch.forEach((pending, i) => {
            settle(pending, outcomes[i]);
          });
        },
        (error: unknown) => {
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

  async backup(file: string): Promise<void> {
    const target = PrivateFile.create(file, 'backup');
    target.close();
    // A connection of its own: the copy reads one snapshot and never waits on, or holds up, the writer.
    const source = open(this.file, true);
    try {
      await source.backup(file, { progress: () => BACKUP_PAGES_PER_STEP });
    } catch (error) {
      target.remove();
      throw error;
    } finally {
      source.close();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.draining || this.idleReaders.length < this.readerCount) await new Promise((resolve) => setImmediate(resolve));
    await this.wal.close();
    await this.checkpointer.close();
    for (const reader of this.idleReaders) reader.conn.close();
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

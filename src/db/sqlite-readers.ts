// SQLite's reader connections: each read a snapshot of its own (BEGIN … COMMIT on a connection
// opened read-only), never waiting on the writer, wherever the writer runs (sqlite.ts: on the event
// loop; sqlite-thread.ts: on a thread of its own).
import type Database from 'better-sqlite3';

import { PrivateFile } from '../files.js';

import { open, SqliteTx } from './sqlite-tx.js';
import { readOnly, type ReadTx, type SqlValue } from './types.js';

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

/** A reader connection and its prepared statements; a read holds it from BEGIN to COMMIT. */
interface Reader {
  conn: Database.Database;
  tx: ReadTx;
  values: (sql: string, params: readonly SqlValue[]) => SqlValue[][];
  begin: Database.Statement;
  commit: Database.Statement;
}

export class SqliteReaders {
  private readonly idle: Reader[] = [];
  private count = 0;
  private readonly waiting: ((reader: Reader) => void)[] = [];

  constructor(
    private readonly file: string,
    /**
     * Resolves once every commit a read started now could see is on disk (rejects when the log's
     * fsync failed): what a read waits for before it answers.
     */
    private readonly durable: () => Promise<void>,
  ) {}

  /** One snapshot per read: BEGIN … COMMIT on a reader connection of its own (WAL readers never block the writer). */
  async read<T>(fn: (q: ReadTx) => Promise<T>): Promise<T> {
    const reader = await this.acquire();
    reader.begin.run();
    let answer: PromiseSettledResult<T>;
    try {
      // A refusal read from a commit (a 404 for what was just deleted) is an answer too.
      [answer] = await Promise.allSettled([fn(reader.tx)]);
    } finally {
      reader.commit.run();
      this.release(reader);
    }
    return this.whenDurable(answer);
  }

  /** A lone statement outside BEGIN … COMMIT: SQLite reads it from one snapshot all the same. */
  async selectValues(sql: string, params: readonly SqlValue[] = []): Promise<SqlValue[][]> {
    const reader = await this.acquire();
    let answer: PromiseSettledResult<SqlValue[][]>;
    try {
      [answer] = await Promise.allSettled([Promise.resolve().then(() => reader.values(sql, params))]);
    } finally {
      this.release(reader);
    }
    return this.whenDurable(answer);
  }

  /** Copies the database from one snapshot, on a connection of its own: never waits on, nor holds up, the writer. */
  async backup(file: string): Promise<void> {
    const target = PrivateFile.create(file, 'backup');
    target.close();
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

  /** Waits for the reads under way, then closes every connection. */
  async close(): Promise<void> {
    while (this.idle.length < this.count) await new Promise((resolve) => setImmediate(resolve));
    for (const reader of this.idle) reader.conn.close();
  }

  /**
   * A read's answer (or its failure), once every commit it could have seen is on disk: nothing a
   * client is shown can vanish in a power cut. A failed fsync fails the read instead. The reader
   * connection is already back: a snapshot is not held while a disk works.
   */
  private async whenDurable<T>(answer: PromiseSettledResult<T> | undefined): Promise<T> {
    await this.durable();
    if (answer === undefined) throw new Error('a read lost its answer');
    if (answer.status === 'rejected') throw answer.reason;
    return answer.value;
  }

  private acquire(): Promise<Reader> {
    const idle = this.idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (this.count < MAX_READERS) {
      this.count++;
      const conn = open(this.file, true);
      const tx = new SqliteTx(conn);
      return Promise.resolve({ conn, tx: readOnly(tx), values: (sql, params) => tx.values(sql, params), begin: conn.prepare('BEGIN'), commit: conn.prepare('COMMIT') });
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(reader: Reader): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(reader);
    else this.idle.push(reader);
  }
}

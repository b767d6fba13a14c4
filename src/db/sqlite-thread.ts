// Embedded SQLite with its writer on a thread of its own (docs/architecture.md, "The writer thread").
//
// On the event loop the writer's statements and COMMIT took about a third of a busy server's time
// (BENCHMARKS.md). Here the writer — SqliteDb, its group commit, its fsync and its checkpoints
// unchanged — runs on a worker thread (sqlite-thread-host.ts), and the event loop keeps HTTP and the
// reads:
// - a command's transaction goes to the thread as data (`call`: the command, what `prepare` made),
//   runs there whole, and comes back as its outcome and events: one message each way;
// - a write unit given as a function (`write`: start-up, webhook claims, sweeps) stays here, and its
//   statements go to the thread one message each, inside a batch like any other unit;
// - reads run here, on reader connections of their own, and wait for every batch committed before
//   them to be on disk (commit-horizon.ts), as they do with the writer on the loop.
import { Worker } from 'node:worker_threads';

import { CommitHorizon } from './commit-horizon.js';
import { SqliteReaders } from './sqlite-readers.js';
import { errorFromData, Outbox, type FromWriter, type Op, type ToWriter } from './sqlite-thread-protocol.js';
import { DIALECT } from './sqlite-tx.js';
import type { Db, Listening, ReadTx, Row, SqlValue, Statement, Tx, WriteUnit } from './types.js';

/** What the thread is handed at its start: its database, the shared horizon, and whatever its entry needs. */
export interface WriterThreadData {
  file: string;
  horizon: SharedArrayBuffer;
  [key: string]: unknown;
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A write unit given as a function: its code runs here, once per run the thread begins. */
interface UnitState extends Waiting {
  unit: WriteUnit<unknown>;
  value?: unknown;
  failure?: unknown;
  /** The current run's laterOne errors, by place: the thread names them by it. */
  otherwise: Error[];
}

export class SqliteThreadDb implements Db {
  readonly engine = 'sqlite' as const;
  readonly dialect = DIALECT;
  private readonly horizon = new CommitHorizon();
  private readonly readers: SqliteReaders;
  private readonly worker: Worker;
  /** What the thread is sent, one post per turn of the event loop: the commands of one turn share a batch. */
  private readonly outbox: Outbox<ToWriter>;
  private readonly ready: Promise<void>;
  private readonly exited: Promise<void>;
  private nextId = 1;
  private nextReply = 1;
  private readonly units = new Map<number, UnitState>();
  private readonly calls = new Map<number, Waiting>();
  private readonly replies = new Map<number, Waiting & { unit: UnitState }>();
  /** Why the thread can no longer write (it failed to start, or stopped); undefined while it can. */
  private failure: Error | undefined;
  private closed = false;
  /** Reads, writes and calls begun and not yet answered; close() waits for none to be left. */
  private inFlight = 0;
  private readonly idle: (() => void)[] = [];

  /** `entry`: the thread's module, which builds what `call` runs and serves the writer (sqlite-thread-host.ts). */
  constructor(file: string, entry: URL, data: Record<string, unknown>) {
    this.readers = new SqliteReaders(file, () => this.horizon.reached());
    this.worker = startWorker(entry, { ...data, file, horizon: this.horizon.share() });
    this.outbox = new Outbox(this.worker, setImmediate);
    let started: () => void = () => undefined;
    let notStarted: (error: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      notStarted = reject;
    });
    // Whoever writes or reads first hears why it failed; nobody may hear it as unhandled.
    this.ready.catch(() => undefined);
    this.worker.on('message', (messages: FromWriter[]) => {
      for (const message of messages) {
        if (message.t === 'ready') started();
        else if (message.t === 'failed') notStarted(this.fail(errorFromData(message.error)));
        else this.receive(message);
      }
    });
    this.worker.on('error', (error) => {
      notStarted(this.fail(error));
    });
    // A message that cannot be read leaves someone waiting on it, no one knows whom: the thread is
    // given up, and everyone hears so.
    this.worker.on('messageerror', (error) => {
      notStarted(this.fail(error));
      void this.worker.terminate();
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', () => {
        notStarted(this.fail(new Error('the SQLite writer thread stopped')));
        resolve();
      });
    });
  }

  read<T>(fn: (q: ReadTx) => Promise<T>): Promise<T> {
    return this.tracked(() => this.readers.read(fn));
  }

  selectValues(sql: string, params: readonly SqlValue[] = []): Promise<SqlValue[][]> {
    return this.tracked(() => this.readers.selectValues(sql, params));
  }

  write<T>(unit: WriteUnit<T>): Promise<T> {
    return this.tracked(
      () =>
        new Promise<T>((resolve, reject) => {
          const id = this.nextId++;
          this.units.set(id, { unit, resolve: resolve as (value: unknown) => void, reject, otherwise: [] });
          this.send({ t: 'unit', id }, () => this.units.delete(id), reject);
        }),
    );
  }

  /** Sends `payload` to the thread's own handler (a command's transaction) and answers what it answered. */
  call(payload: unknown): Promise<unknown> {
    return this.tracked(
      () =>
        new Promise((resolve, reject) => {
          const id = this.nextId++;
          this.calls.set(id, { resolve, reject });
          this.send({ t: 'call', id, payload }, () => this.calls.delete(id), reject);
        }),
    );
  }

  ping(): Promise<void> {
    return this.read(async (q) => {
      await q.get('SELECT 1');
    });
  }

  listen(): Listening {
    return { stop: () => Promise.resolve() };
  }

  backup(file: string): Promise<void> {
    return this.tracked(() => this.readers.backup(file));
  }

  async close(): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    // Everything asked for before close() ends first, as with the writer on the loop.
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    // The thread closes the writer (its last fsync, its checkpoint thread) and then ends.
    this.outbox.post({ t: 'close' });
    await this.exited;
    await this.readers.close();
  }

  /** Sends a remote unit's statement; resolves with the thread's answer, or its error made again. */
  request(run: number, unit: UnitState, body: Op): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const reply = this.nextReply++;
      this.replies.set(reply, { resolve, reject, unit });
      this.send({ t: 'op', run, reply, body }, () => this.replies.delete(reply), reject);
    });
  }

  /** A queued statement of a remote unit: the thread answers nothing (its failure comes with a flush). */
  queue(run: number, body: Op): void {
    if (this.failure !== undefined) throw this.failure;
    this.outbox.post({ t: 'op', run, reply: 0, body });
  }

  /**
   * Counts `work` as in flight from this call on, before anything is awaited, so that close() waits
   * for it; refused once closing has begun or the thread has failed.
   */
  private async tracked<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('database is closed');
    this.inFlight++;
    try {
      await this.ready;
      if (this.failure !== undefined) throw this.failure;
      return await work();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Sends `message`; one that cannot be copied (a value that is no plain data) is forgotten and refused. */
  private send(message: ToWriter, forget: () => void, reject: (error: unknown) => void): void {
    this.outbox.post(message, (error) => {
      forget();
      reject(error);
    });
  }

  private post(message: ToWriter): void {
    this.outbox.post(message);
  }

  private receive(message: FromWriter): void {
    switch (message.t) {
      case 'begin':
        this.begin(message.id, message.run);
        return;
      case 'reply': {
        const waiting = this.replies.get(message.reply);
        this.replies.delete(message.reply);
        if (message.ok) waiting?.resolve(message.value);
        else waiting?.reject(errorFromData(message.error, waiting.unit.otherwise));
        return;
      }
      case 'done':
        this.done(message);
        return;
      default:
        return;
    }
  }

  /** The thread runs unit `id` (again): its code runs here, its statements there. */
  private begin(id: number, run: number): void {
    const state = this.units.get(id);
    if (state === undefined) return;
    state.otherwise = [];
    state.value = undefined;
    state.failure = undefined;
    // Through a promise from the start: a unit that throws at once fails like one that rejects.
    // Its value stays here; the thread hears only that it ended, and how.
    Promise.resolve()
      .then(() => state.unit(new RemoteTx(this, run, state)))
      .then(
        (value) => {
          state.value = value;
          this.post({ t: 'end', run, ok: true });
        },
        (error: unknown) => {
          state.failure = error;
          this.post({ t: 'end', run, ok: false });
        },
      );
  }

  private done(message: Extract<FromWriter, { t: 'done' }>): void {
    const unit = this.units.get(message.id);
    if (unit !== undefined) {
      this.units.delete(message.id);
      if (message.ok) unit.resolve(unit.value);
      else unit.reject(message.own === true ? unit.failure : errorFromData(message.error, unit.otherwise));
      return;
    }
    const call = this.calls.get(message.id);
    this.calls.delete(message.id);
    if (message.ok) call?.resolve(message.value);
    else call?.reject(errorFromData(message.error));
  }

  /** The thread is gone or never came: everyone waiting hears why, and so does every later write. */
  private fail(error: Error): Error {
    this.failure ??= error;
    const failure = this.failure;
    this.horizon.abandon();
    for (const waiting of [...this.units.values(), ...this.calls.values(), ...this.replies.values()]) waiting.reject(failure);
    this.units.clear();
    this.calls.clear();
    this.replies.clear();
    return failure;
  }
}

/** A remote unit's transaction as its code sees it: each statement a message to the thread. */
class RemoteTx implements Tx {
  readonly dialect = DIALECT;

  constructor(
    private readonly db: SqliteThreadDb,
    private readonly runNumber: number,
    private readonly unit: UnitState,
  ) {}

  get<T extends object = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.db.request(this.runNumber, this.unit, { op: 'get', sql, params }) as Promise<T | undefined>;
  }

  all<T extends object = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.db.request(this.runNumber, this.unit, { op: 'all', sql, params }) as Promise<T[]>;
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return this.db.request(this.runNumber, this.unit, { op: 'run', sql, params }) as Promise<{ changes: number }>;
  }

  later(sql: string, params: readonly SqlValue[] = []): void {
    sqlValues(params);
    this.db.queue(this.runNumber, { op: 'later', sql, params });
  }

  laterOne(sql: string, params: readonly SqlValue[], otherwise: Error): void {
    sqlValues(params);
    this.unit.otherwise.push(otherwise);
    this.db.queue(this.runNumber, { op: 'laterOne', sql, params, otherwise: this.unit.otherwise.length - 1 });
  }

  flush(read?: Statement): Promise<{ changes: number[]; row: Row | undefined }> {
    return this.db.request(this.runNumber, this.unit, read === undefined ? { op: 'flush' } : { op: 'flush', read }) as Promise<{ changes: number[]; row: Row | undefined }>;
  }

  finish(read: Statement): Promise<{ changes: number[]; row: Row | undefined }> {
    return this.db.request(this.runNumber, this.unit, { op: 'finish', read }) as Promise<{ changes: number[]; row: Row | undefined }>;
  }

  // One process: its own commits are all it could hear of.
  notify(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Throws unless every parameter is a value SQL takes. A queued statement has no answer to carry a
 * failure back, and one that could not be copied to the thread would be lost: it fails here instead.
 */
function sqlValues(params: readonly SqlValue[]): void {
  const wrong = params.findIndex((value) => value !== null && typeof value !== 'string' && typeof value !== 'number');
  if (wrong >= 0) throw new TypeError(`parameter ${wrong + 1} of a queued statement is a ${typeof params[wrong]}, not a string, a number or null`);
}

/**
 * The thread, from its built module; from a TypeScript source (tests, `tsx`), a thread does not
 * inherit the loader that runs it, so the thread registers tsx's before it imports the entry.
 */
function startWorker(entry: URL, workerData: WriterThreadData): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const source = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(source, { eval: true, workerData });
}

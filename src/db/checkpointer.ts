// SQLite's checkpoints — copying the write-ahead log into the database file, with an fsync of each —
// on a thread of their own. Left to SQLite, the writer runs one inside the COMMIT that passes 1,000
// log pages: several milliseconds of copying and two fsyncs on the event loop, every second or so
// under load, which was a third of the writer's time in a profile and the p99 of every write.
//
// The writer runs with wal_autocheckpoint=0 and tells this class of each commit; a connection on a
// worker thread runs a PASSIVE checkpoint (it never waits for, nor blocks, readers or the writer) at
// most every CHECKPOINT_INTERVAL_MS while commits come in. That copies the bulk, but never the whole
// log: commits go on while it runs. SQLite starts the log over only once all of it is copied, so the
// writer copies the rest itself, between two batches (`checkpointed`) — a few pages and two short
// fsyncs, where SQLite's own checkpoint copied a thousand pages and flushed them. If the thread
// fails, the writer takes its checkpoints back (`fallBack`), so the log never grows without bound.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

/**
 * The most time between checkpoints while commits come in: at ~2 KB of log per write and a few
 * thousand writes a second, a few MB each time, about what SQLite's own 1,000 pages would be.
 */
export const CHECKPOINT_INTERVAL_MS = 250;

/**
 * Log frames (pages) committed during a checkpoint that the writer may be left to copy: about a
 * millisecond of its event loop. More, and the thread checkpoints again first.
 */
const REST_FRAMES = 64;
/** Checkpoints the thread runs in a row at most, when commits come in faster than they shrink. */
const MAX_PASSES = 8;

// Plain JavaScript evaluated by the worker: a file of its own would need one path under the
// TypeScript sources and another once built. It loads the very driver the writer uses.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// Errors travel as text: the driver's own do not survive the copy to the other thread.
const messageOf = (error) => (error instanceof Error ? error.message : String(error));
let conn;
let openFailure;
try {
  conn = new Database(workerData.file, { fileMustExist: true });
  conn.pragma('synchronous = FULL');
} catch (error) {
  openFailure = 'cannot open the database: ' + messageOf(error);
}
parentPort.on('message', (message) => {
  if (message === 'close') {
    conn?.close();
    process.exit(0);
  }
  if (conn === undefined) {
    parentPort.postMessage({ ok: false, message: openFailure });
    return;
  }
  try {
    // Again while the last pass left more behind than the writer should copy on its event loop:
    // each pass is shorter than the one before, and so is what is committed meanwhile.
    let [{ log }] = conn.pragma('wal_checkpoint(PASSIVE)');
    for (let pass = 1; pass < workerData.maxPasses; pass++) {
      const [{ log: next }] = conn.pragma('wal_checkpoint(PASSIVE)');
      if (next - log <= workerData.restFrames) break;
      log = next;
    }
    parentPort.postMessage({ ok: true });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: messageOf(error) });
  }
});
`;

const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');

interface Reply {
  ok: boolean;
  message?: string;
}

export class Checkpointer {
  private worker: Worker | undefined;
  private running = false;
  private lastStartedMs = Number.NEGATIVE_INFINITY;
  /** Why checkpoints went back to the writer; undefined while this thread takes them. */
  private failed: string | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly writer: {
      /** A checkpoint has ended: the writer copies what was committed meanwhile (`SqliteDb`). */
      checkpointed(): void;
      /** The thread failed: the writer takes its own checkpoints back (wal_autocheckpoint), once. */
      fallBack(reason: string): void;
    },
  ) {}

  get failure(): string | undefined {
    return this.failed;
  }

  /** After each commit: a checkpoint starts unless one runs or the last began less than an interval ago. */
  committed(nowMs = performance.now()): void {
    if (this.failed !== undefined || this.running || nowMs - this.lastStartedMs < CHECKPOINT_INTERVAL_MS) return;
    this.running = true;
    this.lastStartedMs = nowMs;
    try {
      const worker = this.ensureWorker();
      worker.ref();
      worker.postMessage('checkpoint');
    } catch (error) {
      this.fail(`the checkpoint thread could not start: ${messageOf(error)}`);
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker === undefined) return;
    worker.ref();
    worker.postMessage('close');
    await this.exited;
  }

  /** Started at the first commit: a database that is only read needs no thread. */
  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.file, driver: driverPath, restFrames: REST_FRAMES, maxPasses: MAX_PASSES } });
    // An idle thread never keeps the process alive (only one at work or closing does): close()
    // ends it, and so does the end of the process.
    worker.on('message', (reply: Reply) => {
      this.running = false;
      if (this.worker === worker) worker.unref();
      if (reply.ok) this.writer.checkpointed();
      else this.fail(reply.message ?? 'a checkpoint failed');
    });
    worker.on('error', (error) => {
      this.fail(messageOf(error));
    });
    this.exited = new Promise((resolve) => {
      worker.once('exit', () => {
        // Only close() may end it; a thread gone otherwise would leave `running` set for good.
        if (this.worker === worker) this.fail('the checkpoint thread stopped');
        resolve();
      });
    });
    this.worker = worker;
    return worker;
  }

  private fail(reason: string): void {
    if (this.failed !== undefined) return;
    this.failed = reason;
    this.running = false;
    this.writer.fallBack(reason);
  }
}

/** An error's message; one thrown on the thread arrives as a copy, not always an Error any more. */
function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') return error.message;
  return String(error);
}

// What the event loop's readers wait for when SQLite's writer runs on a thread of its own
// (sqlite-thread.ts): two counters in memory both threads share, with no message between them.
//
// The writer counts a batch as begun *before* its COMMIT, and as settled once the batch is on disk
// (or failed) — in order, so `settled` only grows. A read that saw a commit finished after that
// COMMIT ran, so the begun count it loads afterwards covers it; waiting until `settled` reaches that
// count means nothing it answers with can vanish in a power cut. It may wait for a batch it did not
// see (begun, not yet committed): a few hundred microseconds, never a wrong answer.
//
// 64-bit counters: at thousands of batches a second a 32-bit one would wrap within days.

const BEGUN = 0;
const SETTLED = 1;
/** Why no read may answer any more: the log's fsync failed (wal-sync.ts says why), or the writer is gone. */
const FAILED = 2;
const LOG_LOST = 1n;
const WRITER_GONE = 2n;

export class CommitHorizon {
  private readonly counters: BigInt64Array;

  /** Over `buffer` (from `share()`, passed to the other thread), or a new one. */
  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT)) {
    this.counters = new BigInt64Array(buffer);
  }

  share(): SharedArrayBuffer {
    if (!(this.counters.buffer instanceof SharedArrayBuffer)) throw new Error('the horizon is not shared memory');
    return this.counters.buffer;
  }

  /** The writer, just before a COMMIT: the batch's number, for `settled`. */
  committing(): bigint {
    return Atomics.add(this.counters, BEGUN, 1n) + 1n;
  }

  /** The writer, once batch `batch` is on disk, or has failed (`logLost`: its fsync failed). */
  settled(batch: bigint, logLost = false): void {
    if (logLost) Atomics.store(this.counters, FAILED, LOG_LOST);
    // Only the writer's thread stores here, so a load and a store cannot race.
    if (batch > Atomics.load(this.counters, SETTLED)) Atomics.store(this.counters, SETTLED, batch);
    Atomics.notify(this.counters, SETTLED);
  }

  /**
   * The readers' side, once the writer's thread is gone: a batch it began will never settle, so the
   * reads waiting for one fail instead of waiting for ever, and so does every read after them.
   */
  abandon(): void {
    Atomics.compareExchange(this.counters, FAILED, 0n, WRITER_GONE);
    // Past every batch, so that a reader between its check and its wait does not wait either.
    Atomics.store(this.counters, SETTLED, BigInt.asIntN(64, (1n << 63n) - 1n));
    Atomics.notify(this.counters, SETTLED);
  }

  /** A reader, after its snapshot: resolves once every batch begun so far has settled. */
  async reached(): Promise<void> {
    const target = Atomics.load(this.counters, BEGUN);
    let settled = Atomics.load(this.counters, SETTLED);
    while (settled < target && Atomics.load(this.counters, FAILED) === 0n) {
      const wait = Atomics.waitAsync(this.counters, SETTLED, settled);
      if (wait.async) await wait.value;
      settled = Atomics.load(this.counters, SETTLED);
    }
    const failed = Atomics.load(this.counters, FAILED);
    if (failed === LOG_LOST) throw new Error('the write-ahead log could not be synced to disk; restart Purse');
    if (failed === WRITER_GONE) throw new Error('the SQLite writer thread stopped; restart Purse');
  }
}

// The fsync of SQLite's write-ahead log, done on libuv's thread pool instead of inside COMMIT.
//
// The writer runs with synchronous=NORMAL: its COMMIT writes the transaction's WAL frames to the
// page cache and returns, so the event loop goes back to HTTP at once, where synchronous=FULL held
// it for the whole fsync (about 0.6 ms here, once per batch). No caller hears back before `durable`
// resolves, which happens only after an fdatasync of the WAL that started after its COMMIT: a 2xx
// still means on disk. Checkpoints stay SQLite's own: under NORMAL it syncs the WAL before copying
// it into the database file and the database file before the WAL starts over, so nothing an
// acknowledged commit wrote is ever overwritten before it is on disk twice over.
import fs from 'node:fs/promises';

export class WalSync {
  private handle: fs.FileHandle | undefined;
  /** The fdatasync running now, if any. */
  private inFlight: Promise<void> | undefined;
  /** The one that starts when it ends: it covers everyone who asks meanwhile. */
  private queued: Promise<void> | undefined;
  /** Set by the first failed fsync, for good (see `failure`). */
  private failed: Error | undefined;

  constructor(private readonly file: string) {}

  /**
   * Why the log can no longer be trusted to be on disk: after a failed fsync Linux may have dropped
   * the pages it could not write and reports the failure only once, so a later fsync that succeeds
   * proves nothing (PostgreSQL stops for the same reason). Undefined while all is well.
   */
  get failure(): Error | undefined {
    return this.failed;
  }

  /** Resolves once everything written to the log before this call is on disk. */
  durable(): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.inFlight === undefined) return this.start();
    // The sync under way may have started before the caller's writes: the next one covers them.
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    return this.queued;
  }

  /** Resolves once no fsync is running or waiting (failed ones included). */
  async idle(): Promise<void> {
    while (this.inFlight !== undefined || this.queued !== undefined) await (this.queued ?? this.inFlight)?.catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.handle?.close();
    this.handle = undefined;
  }

  private start(): Promise<void> {
    const sync = this.syncOnce().finally(() => {
      if (this.inFlight === sync) this.inFlight = undefined;
    });
    this.inFlight = sync;
    return sync;
  }

  private async syncOnce(): Promise<void> {
    if (this.failed !== undefined) throw this.failed;
    try {
      // Opened at the first commit, when SQLite has created the file; it keeps the same file (a
      // checkpoint truncates it, never replaces it) for as long as the writer has it open. Any
      // descriptor of a file syncs all of its written pages, not only its own.
      this.handle ??= await fs.open(this.file, 'r+');
      await this.handle.datasync();
    } catch (error) {
      this.failed = error instanceof Error ? error : new Error(String(error));
      throw this.failed;
    }
  }
}

// A failure limiter's windows in the database, for several Purse processes on one PostgreSQL: each
// process counts in the same rows, so N processes allow what one allows. A window is one row per
// (limiter, key): when it started, the failures counted in it, and the attempts under way. Taking
// places is one multi-row upsert that fails, taking none, when any key is full; ending an attempt is
// one UPDATE; each is one round trip with its COMMIT. Windows that ran out are deleted by the sweeper.
import { failedRequirement, requireThat, type Db, type SqlValue } from '../db/index.js';

/** What taking places for an attempt came to. */
export type Taken = { ok: true } | { ok: false; full: 'failures'; retryAfterMs: number } | { ok: false; full: 'pending' };

interface WindowRow {
  window_start_ms: number;
  failures: number;
  pending: number;
}

export class FailureWindows {
  constructor(
    private readonly db: Db,
    /** Which limiter: token failures and voucher guesses keep apart counts for the same key. */
    private readonly scope: string,
  ) {}

  /**
   * One place for the attempt against every key, or none: a window that ran out starts again (and
   * forgets the places of attempts that were under way in it, so that a process that died with
   * attempts under way blocks a key for one window at most).
   */
  async take(keys: readonly string[], nowMs: number, failuresPerWindow: number, windowMs: number): Promise<Taken> {
    const sorted = [...keys].sort(); // one lock order for every process: no deadlock between two takes
    const values = sorted.map(() => '(?, ?, ?, 0, 1)').join(', ');
    const params: SqlValue[] = [...sorted.flatMap((key) => [this.scope, key, nowMs]), nowMs - windowMs, nowMs - windowMs, nowMs - windowMs, failuresPerWindow, failuresPerWindow];
    // The places are taken and committed in one round trip (COMMIT leaves behind the statement), so
    // that the rows stay locked for as short a time as can be: every attempt at one client's tokens
    // takes that client's row. A key that is full fails the statement, and no place is taken.
    try {
      await this.db.write((tx) =>
        tx.finish({
          sql: `WITH taken AS (
             INSERT INTO failure_windows (scope, key, window_start_ms, failures, pending) VALUES ${values}
             ON CONFLICT (scope, key) DO UPDATE SET
               window_start_ms = CASE WHEN failure_windows.window_start_ms <= ? THEN excluded.window_start_ms ELSE failure_windows.window_start_ms END,
               failures = CASE WHEN failure_windows.window_start_ms <= ? THEN 0 ELSE failure_windows.failures END,
               pending = CASE WHEN failure_windows.window_start_ms <= ? THEN 1 ELSE failure_windows.pending + 1 END
             RETURNING window_start_ms, failures, pending)
           SELECT ${requireThat('NOT EXISTS (SELECT 1 FROM taken WHERE failures >= ? OR failures + pending > ?)', 'window full')} AS taken`,
          params,
        }),
      );
      return { ok: true };
    } catch (error) {
      if (failedRequirement(error) !== 'window full') throw error;
      return this.whyFull(sorted, nowMs, failuresPerWindow, windowMs);
    }
  }

  /**
   * Why a take found a key full, read after it: a window that has had its failures (the latest
   * such window decides when all have ended), else places all held by attempts under way (pending
   * counts this attempt too: full when the places held before it were all there were) — also when
   * they have ended meanwhile, and the limiter simply asks again.
   */
  private async whyFull(keys: readonly string[], nowMs: number, failuresPerWindow: number, windowMs: number): Promise<Taken> {
    const rows = await this.db.read((q) =>
      q.all<WindowRow>(`SELECT window_start_ms, failures, pending FROM failure_windows WHERE scope = ? AND key IN (${keys.map(() => '?').join(', ')})`, [this.scope, ...keys]),
    );
    const exhausted = rows.filter((row) => row.window_start_ms > nowMs - windowMs && row.failures >= failuresPerWindow);
    if (exhausted.length > 0) return { ok: false, full: 'failures', retryAfterMs: Math.max(...exhausted.map((row) => row.window_start_ms + windowMs - nowMs)) };
    return { ok: false, full: 'pending' };
  }

  /** Gives back the attempt's places, counting a failure against the keys in `counted`. */
  async end(keys: readonly string[], counted: readonly string[]): Promise<void> {
    const countedSet = new Set(counted);
    const failed = keys.filter((key) => countedSet.has(key));
    const failedList = failed.length === 0 ? 'NULL' : failed.map(() => '?').join(', ');
    await this.db.write((tx) =>
      tx.finish({
        sql: `UPDATE failure_windows SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END,
           failures = failures + CASE WHEN key IN (${failedList}) THEN 1 ELSE 0 END
         WHERE scope = ? AND key IN (${keys.map(() => '?').join(', ')})`,
        params: [...failed, this.scope, ...keys],
      }),
    );
  }

  /** Deletes the windows that ran out before `nowMs`; returns how many. */
  async prune(nowMs: number, windowMs: number): Promise<number> {
    const { changes } = await this.db.write((tx) => tx.run('DELETE FROM failure_windows WHERE scope = ? AND window_start_ms <= ?', [this.scope, nowMs - windowMs]));
    return changes;
  }
}

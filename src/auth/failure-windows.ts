// A failure limiter's windows in the database, for several Purse processes on one PostgreSQL: each
// process counts in the same rows, so N processes allow what one allows. A window is one row per
// (limiter, key): when it started, the failures counted in it, and the attempts under way. Taking
// places is one multi-row upsert in a transaction that is undone when any key refuses; ending an
// attempt is one UPDATE. Windows that ran out are deleted by the sweeper.
import type { Db, SqlValue } from '../db/index.js';

/** What taking places for an attempt came to. */
export type Taken = { ok: true } | { ok: false; full: 'failures'; retryAfterMs: number } | { ok: false; full: 'pending' };

class Refused extends Error {
  constructor(readonly taken: Taken) {
    super('failure window full');
  }
}

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
    const params: SqlValue[] = [...sorted.flatMap((key) => [this.scope, key, nowMs]), nowMs - windowMs, nowMs - windowMs, nowMs - windowMs];
    try {
      return await this.db.write(async (tx) => {
        const rows = await tx.all<WindowRow>(
          `INSERT INTO failure_windows (scope, key, window_start_ms, failures, pending) VALUES ${values}
           ON CONFLICT (scope, key) DO UPDATE SET
             window_start_ms = CASE WHEN failure_windows.window_start_ms <= ? THEN excluded.window_start_ms ELSE failure_windows.window_start_ms END,
             failures = CASE WHEN failure_windows.window_start_ms <= ? THEN 0 ELSE failure_windows.failures END,
             pending = CASE WHEN failure_windows.window_start_ms <= ? THEN 1 ELSE failure_windows.pending + 1 END
           RETURNING window_start_ms, failures, pending`,
          params,
        );
        const exhausted = rows.filter((row) => row.failures >= failuresPerWindow);
        if (exhausted.length > 0) throw new Refused({ ok: false, full: 'failures', retryAfterMs: Math.max(...exhausted.map((row) => row.window_start_ms + windowMs - nowMs)) });
        // pending counts this attempt too: full when the places held before it were all there were.
        if (rows.some((row) => row.failures + row.pending > failuresPerWindow)) throw new Refused({ ok: false, full: 'pending' });
        return { ok: true } as const;
      });
    } catch (error) {
      if (error instanceof Refused) return error.taken;
      throw error;
    }
  }

  /** Gives back the attempt's places, counting a failure against the keys in `counted`. */
  async end(keys: readonly string[], counted: readonly string[]): Promise<void> {
    const countedSet = new Set(counted);
    const failed = keys.filter((key) => countedSet.has(key));
    const failedList = failed.length === 0 ? 'NULL' : failed.map(() => '?').join(', ');
    await this.db.write((tx) =>
      tx.run(
        `UPDATE failure_windows SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END,
           failures = failures + CASE WHEN key IN (${failedList}) THEN 1 ELSE 0 END
         WHERE scope = ? AND key IN (${keys.map(() => '?').join(', ')})`,
        [...failed, this.scope, ...keys],
      ),
    );
  }

  /** Deletes the windows that ran out before `nowMs`; returns how many. */
  async prune(nowMs: number, windowMs: number): Promise<number> {
    const { changes } = await this.db.write((tx) => tx.run('DELETE FROM failure_windows WHERE scope = ? AND window_start_ms <= ?', [this.scope, nowMs - windowMs]));
    return changes;
  }
}

// A failure limiter's windows in the database, for several Purse processes on one PostgreSQL: each
// process counts in the same rows, so N processes allow what one allows. A window is one row per
// (limiter, key): when it started, the failures counted in it, and the attempts under way. Taking
// places is one multi-row upsert that takes none when any key is full; ending an attempt is one
// UPDATE; each is one round trip with its COMMIT. Windows that ran out are deleted by the sweeper.
import { failedRequirement, requireThat, type Db } from '../db/index.js';

/** What taking places for an attempt came to. */
export type Taken = { ok: true } | { ok: false; full: 'failures'; retryAfterMs: number } | { ok: false; full: 'pending' };

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
    const list = sorted.map(() => '?').join(', ');
    const endedBeforeMs = nowMs - windowMs;
    const limit = failuresPerWindow;
    // One statement, sent with its COMMIT, so that the rows stay locked for one round trip: every
    // attempt at one client's tokens takes that client's row. A key already full (as the statement's
    // snapshot has it) stops every insert and update, and a key found full once locked (its latest
    // version) is not updated; a refusal is a statement that changed nothing, never an error that
    // an anonymous caller could make PostgreSQL log a thousand times a second. Only a race, some keys
    // taken and one found full meanwhile, fails the statement, so that none is kept.
    const { row } = await this.db.write((tx) =>
      tx.finish({
        sql: `WITH full_keys AS (
           SELECT 1 FROM failure_windows
           WHERE scope = ? AND key IN (${list}) AND window_start_ms > ? AND (failures >= ? OR failures + pending >= ?)),
         taken AS (
           INSERT INTO failure_windows (scope, key, window_start_ms, failures, pending)
           SELECT v.scope, v.key, v.start_ms, 0, 1 FROM (VALUES ${sorted.map(() => '(?, ?, CAST(? AS BIGINT))').join(', ')}) AS v (scope, key, start_ms)
           WHERE NOT EXISTS (SELECT 1 FROM full_keys)
           ON CONFLICT (scope, key) DO UPDATE SET
             window_start_ms = CASE WHEN failure_windows.window_start_ms <= ? THEN excluded.window_start_ms ELSE failure_windows.window_start_ms END,
             failures = CASE WHEN failure_windows.window_start_ms <= ? THEN 0 ELSE failure_windows.failures END,
             pending = CASE WHEN failure_windows.window_start_ms <= ? THEN 1 ELSE failure_windows.pending + 1 END
           WHERE failure_windows.window_start_ms <= ? OR (failure_windows.failures < ? AND failure_windows.failures + failure_windows.pending < ?)
           RETURNING 1)
         SELECT COUNT(*) AS taken, ${requireThat(`COUNT(*) IN (0, ${sorted.length})`, 'window full')} AS whole FROM taken`,
        params: [this.scope, ...sorted, endedBeforeMs, limit, limit, ...sorted.flatMap((key) => [this.scope, key, nowMs]), endedBeforeMs, endedBeforeMs, endedBeforeMs, endedBeforeMs, limit, limit],
      }),
    ).catch((error: unknown) => {
      if (failedRequirement(error) === 'window full') return { row: { taken: 0 } };
      throw error;
    });
    return Number(row?.taken) === sorted.length ? { ok: true } : this.whyFull(sorted, nowMs, failuresPerWindow, windowMs);
  }

  /**
   * Why a take found a key full, read after it: a window that has had its failures (the latest
   * such window decides when all have ended), else places all held by attempts under way — also
   * when they have ended meanwhile, and the limiter simply asks again.
   */
  private async whyFull(keys: readonly string[], nowMs: number, failuresPerWindow: number, windowMs: number): Promise<Taken> {
    const rows = await this.db.selectValues(`SELECT window_start_ms, failures FROM failure_windows WHERE scope = ? AND key IN (${keys.map(() => '?').join(', ')})`, [this.scope, ...keys]);
    const exhaustedStartsMs = rows.filter(([startMs, failures]) => Number(startMs) > nowMs - windowMs && Number(failures) >= failuresPerWindow).map(([startMs]) => Number(startMs));
    if (exhaustedStartsMs.length > 0) return { ok: false, full: 'failures', retryAfterMs: Math.max(...exhaustedStartsMs) + windowMs - nowMs };
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

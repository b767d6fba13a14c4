// Counts failures per key (an address, a login name at a client, a user) in fixed windows and
// refuses a key that has had too many. An attempt takes its place in the count BEFORE the slow
// check it guards (argon2, a lookup), so that attempts running at the same time cannot together
// pass the limit; a success gives its place back. Memory is bounded: past MAX_KEYS the windows
// touched longest ago are forgotten first, and at most MAX_WAITING attempts wait for a place.
import type { Clock } from '../clock.js';
import { rateLimited } from '../errors.js';

const MAX_KEYS = 100_000;
const MAX_WAITING = 1_000;

interface Window {
  startMs: number;
  failures: number;
  /** Attempts under way, not yet known to have failed or succeeded. */
  pending: number;
}

/** How a checked attempt ended: what the check returned, or what it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Ends an attempt: it counts as a failure against these of its keys; its other places are given back. */
type End = (counted: readonly string[]) => void;

export class FailureLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly waiting = new Set<() => void>();
  /** Failures recorded since start, for /metrics. */
  failuresTotal = 0;

  constructor(
    private readonly failuresPerWindow: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {
    if (!(failuresPerWindow >= 1 && windowMs >= 1)) throw new Error('limiter needs a positive limit and window');
  }

  /**
   * Runs `check` as one attempt: first takes a place for it against every key, then counts it as a
   * failure against the keys `countedOf` names for its outcome, and gives the other places back
   * (all of them on a success). Throws a 429 (`refusal`, with Retry-After) when any key has had its
   * failures; when the only places left are held by attempts under way, waits for those to end:
   * their failures may use the limit up, their successes free a place.
   */
  async attempt<T>(keys: readonly string[], refusal: string, check: () => Promise<T>, countedOf: (outcome: Outcome<T>) => readonly string[]): Promise<T> {
    const end = await this.begin([...new Set(keys)], refusal);
    try {
      const value = await check();
      end(countedOf({ ok: true, value }));
      return value;
    } catch (error) {
      end(countedOf({ ok: false, error }));
      throw error;
    }
  }

  private async begin(keys: readonly string[], refusal: string): Promise<End> {
    for (;;) {
      const now = this.clock.nowMs();
      const waitSeconds = this.retryAfterSeconds(keys, now);
      if (waitSeconds > 0) throw rateLimited(refusal, waitSeconds);
      if (!keys.some((key) => this.full(key, now))) return this.take(keys, now);
      // Attempts under way end within a slow check; a second is an honest guess at the wait.
      if (this.waiting.size >= MAX_WAITING) throw rateLimited(refusal, 1);
      await new Promise<void>((resolve) => this.waiting.add(resolve));
    }
  }

  /** Seconds until no key has had its failures; 0 when none has. */
  private retryAfterSeconds(keys: readonly string[], now: number): number {
    let waitMs = 0;
    for (const key of keys) {
      const window = this.current(key, now);
      if (window.failures >= this.failuresPerWindow) waitMs = Math.max(waitMs, window.startMs + this.windowMs - now);
    }
    return Math.ceil(waitMs / 1000);
  }

  private full(key: string, now: number): boolean {
    const window = this.current(key, now);
    return window.failures + window.pending >= this.failuresPerWindow;
  }

  private take(keys: readonly string[], now: number): End {
    for (const key of keys) {
      const window = this.current(key, now);
      window.pending += 1;
      this.windows.delete(key); // re-insert so that Map order stays oldest-first
      this.windows.set(key, window);
    }
    this.evict();
    let open = true;
    return (counted) => {
      if (!open) return;
      open = false;
      this.end(keys, counted);
    };
  }

  private end(keys: readonly string[], counted: readonly string[]): void {
    const now = this.clock.nowMs();
    if (counted.length > 0) this.failuresTotal += 1;
    for (const key of keys) {
      // An evicted key has forgotten its places; a window that ran out carried them over.
      const window = this.windows.get(key);
      if (window === undefined) continue;
      window.pending = Math.max(0, window.pending - 1);
      if (counted.includes(key)) this.current(key, now).failures += 1;
      if (window.pending === 0 && window.failures === 0) this.windows.delete(key); // nothing left to remember
    }
    const waiters = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiters) wake();
  }

  /** The key's window now: a window that ran out starts again, keeping the attempts still under way. */
  private current(key: string, now: number): Window {
    const window = this.windows.get(key);
    if (window === undefined) return { startMs: now, failures: 0, pending: 0 };
    if (now - window.startMs >= this.windowMs) {
      window.startMs = now;
      window.failures = 0;
    }
    return window;
  }

  private evict(): void {
    for (const key of this.windows.keys()) {
      if (this.windows.size <= MAX_KEYS) return;
      this.windows.delete(key);
    }
  }
}

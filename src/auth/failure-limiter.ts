// Counts failures per key (a client id, an address, a user) in fixed windows and says when a key
// has had too many. Memory is bounded: past MAX_KEYS the oldest windows are forgotten first.
import type { Clock } from '../clock.js';

const MAX_KEYS = 100_000;

interface Window {
  startMs: number;
  failures: number;
}

export class FailureLimiter {
  private readonly windows = new Map<string, Window>();
  /** Failures recorded since start, for /metrics. */
  failuresTotal = 0;

  constructor(
    private readonly failuresPerWindow: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {
    if (!(failuresPerWindow >= 1 && windowMs >= 1)) throw new Error('limiter needs a positive limit and window');
  }

  /** Seconds until every one of these keys may try again; 0 when none is blocked. */
  retryAfterSeconds(keys: readonly string[]): number {
    const now = this.clock.nowMs();
    let waitMs = 0;
    for (const key of keys) {
      const window = this.current(key, now);
      if (window !== undefined && window.failures >= this.failuresPerWindow) {
        waitMs = Math.max(waitMs, window.startMs + this.windowMs - now);
      }
    }
    return Math.ceil(waitMs / 1000);
  }

  recordFailure(keys: readonly string[]): void {
    this.failuresTotal += 1;
    const now = this.clock.nowMs();
    for (const key of keys) {
      const window = this.current(key, now) ?? { startMs: now, failures: 0 };
      window.failures += 1;
      this.windows.delete(key); // re-insert so that Map order stays oldest-first
      this.windows.set(key, window);
    }
    this.evict();
  }

  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    return window !== undefined && now - window.startMs < this.windowMs ? window : undefined;
  }

  private evict(): void {
    for (const key of this.windows.keys()) {
      if (this.windows.size <= MAX_KEYS) return;
      this.windows.delete(key);
    }
  }
}

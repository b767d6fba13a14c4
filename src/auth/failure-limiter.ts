// Counts failures per key (an address, a login name at a client, a user) in fixed windows and
// refuses a key that has had too many. An attempt takes its place in the count BEFORE the slow
// check it guards (argon2, a lookup), so that attempts running at the same time cannot together
// pass the limit; a success gives its place back. Memory is bounded: past MAX_KEYS the windows
// touched longest ago are forgotten first, and at most MAX_WAITING attempts wait for a place.
// Given shared windows (failure-windows.ts: rows in PostgreSQL), it counts there instead, so that
// every process sharing the database allows together what one process allows.
import type { Clock } from '../clock.js';
import { rateLimited } from '../errors.js';

import type { FailureWindows } from './failure-windows.js';

const MAX_KEYS = 100_000;
const MAX_WAITING = 1_000;
/** Shared windows full of attempts under way are asked again this often … */
const SHARED_POLL_MS = 20;
/** … for at most this long: the attempts holding the places end within a slow check. */
const SHARED_WAIT_MS = 10_000;

interface Window {
  startMs: number;
  failures: number;
  /** Attempts under way, not yet known to have failed or succeeded. */
  pending: number;
}

/** How a checked attempt ended: what the check returned, or what it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Ends an attempt: it counts as a failure against these of its keys; its other places are given back. */
type End = (counted: readonly string[]) => void | Promise<void>;

export class FailureLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly waiting = new Set<() => void>();
  /** Failures recorded since start, for /metrics. */
  failuresTotal = 0;

  constructor(
    private readonly failuresPerWindow: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
    /** Where the windows live when several processes share them; this process's memory when not given. */
    private readonly shared?: FailureWindows,
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
    const unique = [...new Set(keys)];
    const end = this.shared === undefined ? await this.begin(unique, refusal) : await this.beginShared(this.shared, unique, refusal);
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: await check() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    await end(countedOf(outcome));
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** Forgets windows that ran out (the sweeper): shared rows are deleted; memory forgets by itself. */
  async prune(): Promise<number> {
    return this.shared === undefined ? 0 : this.shared.prune(this.clock.nowMs(), this.windowMs);
  }

  private async beginShared(shared: FailureWindows, keys: readonly string[], refusal: string): Promise<End> {
    if (this.waiting.size >= MAX_WAITING) throw rateLimited(refusal, 1);
    const giveUpAtMs = Date.now() + SHARED_WAIT_MS;
    for (;;) {
      const taken = await shared.take(keys, this.clock.nowMs(), this.failuresPerWindow, this.windowMs);
      if (taken.ok) break;
      if (taken.full === 'failures') throw rateLimited(refusal, Math.max(1, Math.ceil(taken.retryAfterMs / 1000)));
      if (Date.now() >= giveUpAtMs) throw rateLimited(refusal, 1);
      await this.pause(SHARED_POLL_MS);
    }
    return async (counted) => {
      if (counted.length > 0) this.failuresTotal += 1;
      await shared.end(keys, counted);
      this.wakeWaiters(); // a place this process held is free: its waiters ask again now
    };
  }

  /** A wait that counts against MAX_WAITING like the in-memory waiters. */
  private async pause(ms: number): Promise<void> {
    let wake = (): void => undefined;
    const waited = new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, ms);
    });
    this.waiting.add(wake);
    await waited;
    this.waiting.delete(wake);
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
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
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

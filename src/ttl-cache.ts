// A small cache for what every request reads and almost nothing changes: entries live TTL_MS,
// the owner clears it whenever it changes the underlying rows, and it never grows past MAX_ENTRIES.
// Other Purse processes on the same PostgreSQL database clear theirs when the change's notification
// arrives; TTL_MS bounds how long one missed notification can matter.
import type { Clock } from './clock.js';

export const TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

export class TtlCache<K, V> {
  private entries = new Map<K, { value: V; atMs: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = TTL_MS,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock.nowMs() - entry.atMs < this.ttlMs) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: K, value: V): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, atMs: this.clock.nowMs() });
  }

  clear(): void {
    this.entries.clear();
  }
}

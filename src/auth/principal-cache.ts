// What the guard reads about a token's user and client on every request (active, rights,
// revoked), remembered for a moment. This process forgets it all at once whenever it changes a
// user, revokes a client or kills a refresh family, so here changes apply at the next request;
// other processes sharing a PostgreSQL database see them within TTL_MS.
import type { Clock } from '../clock.js';

import type { PrincipalRow } from './store.js';

export const PRINCIPAL_CACHE_TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

export class PrincipalCache {
  private entries = new Map<string, { state: PrincipalRow; atMs: number }>();

  constructor(private readonly clock: Clock) {}

  get(key: string): PrincipalRow | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock.nowMs() - entry.atMs < PRINCIPAL_CACHE_TTL_MS) return entry.state;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, state: PrincipalRow): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { state, atMs: this.clock.nowMs() });
  }

  /** Called after every change to users, clients or refresh families. */
  clear(): void {
    this.entries.clear();
  }
}

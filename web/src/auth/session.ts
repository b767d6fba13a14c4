// Who is logged in: the tokens (in memory only — never localStorage or a cookie, so a script of
// another page or a stolen disk holds nothing), the person from /v3/me, and the refresh that runs
// before the access token expires. Components follow it through useSession().
import { useEffect, useState } from 'preact/hooks';

import { refreshTokens, revokeToken, type TokenAnswer } from './oauth';

/** Who is logged in, as GET /v3/me says. */
export interface Person {
  id: number;
  username: string;
  fullname: string;
  email: string;
  rights: readonly string[];
  scopes: readonly string[];
}

interface Tokens {
  access: string;
  refresh: string | undefined;
  /** When the refresh is due: a timer runs it then, and a request made later (a throttled background tab) runs it first. */
  refreshAtMs: number;
}

/** Refresh this long before expiry, so that a request in flight never carries a token that just died… */
const REFRESH_MARGIN_MS = 60_000;

/** …or half-way through a lifetime too short for that margin. */
function refreshDelayMs(lifetimeMs: number): number {
  return lifetimeMs > 2 * REFRESH_MARGIN_MS ? lifetimeMs - REFRESH_MARGIN_MS : lifetimeMs / 2;
}

export type SessionState = { status: 'anonymous' } | { status: 'active'; person: Person };

let tokens: Tokens | undefined;
let state: SessionState = { status: 'anonymous' };
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<void> | undefined;
const listeners = new Set<() => void>();

function publish(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

/** The session's current state, re-rendering the component when it changes. */
export function useSession(): SessionState {
  const [current, setCurrent] = useState(state);
  useEffect(() => {
    const listener = (): void => {
      setCurrent(state);
    };
    listeners.add(listener);
    listener();
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return current;
}

export function currentPerson(): Person | undefined {
  return state.status === 'active' ? state.person : undefined;
}

/** Whether the person holds the right (admin implies every right). */
export function hasRight(person: Person, right: string): boolean {
  return person.rights.includes('admin') || person.rights.includes(right);
}

/** Keeps the tokens of a login or a refresh, and plans the next refresh. */
export function storeTokens(answer: TokenAnswer): void {
  const delayMs = refreshDelayMs(answer.expires_in * 1000);
  tokens = { access: answer.access_token, refresh: answer.refresh_token ?? tokens?.refresh, refreshAtMs: Date.now() + delayMs };
  clearTimeout(refreshTimer);
  if (tokens.refresh === undefined) return;
  refreshTimer = setTimeout(() => {
    void refreshNow();
  }, delayMs);
}

export function setPerson(person: Person): void {
  publish({ status: 'active', person });
}

/** The access token to send, refreshed first when its refresh is overdue. */
export async function accessToken(): Promise<string | undefined> {
  if (tokens === undefined) return undefined;
  if (tokens.refresh !== undefined && Date.now() >= tokens.refreshAtMs) await refreshNow();
  return tokens?.access;
}

/** One refresh at a time; a refused refresh ends the session. */
function refreshNow(): Promise<void> {
  refreshing ??= (async () => {
    const refresh = tokens?.refresh;
    if (refresh === undefined) return;
    try {
      storeTokens(await refreshTokens(refresh));
    } catch {
      forget();
    }
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/** The API refused the token: the session is over (revoked elsewhere, or a password change). */
export function expired(): void {
  forget();
}

/** Logout: the server revokes the session (its refresh family), then the memory forgets it. */
export async function logout(): Promise<void> {
  const token = tokens?.refresh ?? tokens?.access;
  const hint = tokens?.refresh === undefined ? 'access_token' : 'refresh_token';
  if (token !== undefined) await revokeToken(token, hint);
  forget();
}

function forget(): void {
  clearTimeout(refreshTimer);
  tokens = undefined;
  publish({ status: 'anonymous' });
}


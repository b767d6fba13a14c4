// The signed-in person's own credit account, as the portal pages read it.
import { api, call, type Schemas } from '../api/client';
import { currentPerson } from '../auth/session';

export const ACCOUNT = 'credit';

export type StatementEntry = Schemas['StatementEntry'];

export function myId(): number {
  const person = currentPerson();
  if (person === undefined) throw new Error('not logged in');
  return person.id;
}

export function loadBalance(): Promise<Schemas['Balance']> {
  return call(api.GET('/v3/users/{id}/accounts/{reference}/balance', { params: { path: { id: myId(), reference: ACCOUNT } } }));
}

export interface StatementFilters {
  /** yyyy-mm-dd, the browser's date inputs; empty for none. */
  from: string;
  to: string;
  provider: string;
}

/** The statement's query: a `to` date means the whole of that day. */
export function statementQuery(filters: StatementFilters): { from?: string; to?: string; provider?: string } {
  return {
    ...(filters.from === '' ? {} : { from: new Date(`${filters.from}T00:00:00`).toISOString() }),
    ...(filters.to === '' ? {} : { to: new Date(`${filters.to}T23:59:59.999`).toISOString() }),
    ...(filters.provider === '' ? {} : { provider: filters.provider }),
  };
}

export function loadStatement(filters: StatementFilters, limit: number, start: number): Promise<Schemas['Statement']> {
  return call(api.GET('/v3/users/{id}/accounts/{reference}/statement', { params: { path: { id: myId(), reference: ACCOUNT }, query: { ...statementQuery(filters), limit, start } } }));
}

/** The last `limit` entries (the statement runs oldest first): one call for the count, one for the page. */
export async function loadRecentStatement(filters: StatementFilters, limit: number): Promise<Schemas['Statement']> {
  const { count } = await loadStatement(filters, 1, 0);
  return loadStatement(filters, limit, Math.max(0, count - limit));
}

export function loadProviders(): Promise<Schemas['ProviderList']> {
  return call(api.GET('/v3/rechargeProviders'));
}

// The outbox feed: events in commit order for consumers that poll, each page ending at a cursor
// from which the next page goes on without skipping or repeating an event.
import type { Db, ReadTx } from '../db/index.js';
import { invalid } from '../errors.js';

import * as store from './store.js';

export interface EventView {
  id: string;
  type: string;
  subject: string;
  timestamp: string;
  data: unknown;
}

export interface EventPage {
  events: EventView[];
  /** Where the next page starts: the position of the last event, or the one given when none came. */
  cursor: string;
}

export const MAX_EVENTS_PER_PAGE = 1000;
const START = { txOrder: -1, id: 0 };

/** A cursor is the position (tx_order, id) of an event, as text: `<tx_order>.<id>`; empty is the start. */
export function parseCursor(cursor: string | undefined): { txOrder: number; id: number } {
  if (cursor === undefined || cursor === '') return START;
  const match = /^(-?\d{1,16})\.(\d{1,16})$/.exec(cursor);
  const txOrder = Number(match?.[1]);
  const id = Number(match?.[2]);
  if (match === null || !Number.isSafeInteger(txOrder) || !Number.isSafeInteger(id)) throw invalid('after must be a cursor from an earlier page', [{ field: 'querystring.after', problem: 'is not a cursor' }]);
  return { txOrder, id };
}

export type { EventRow } from './store.js';

// Reads of the outbox inside a caller's transaction, for the webhook dispatcher and registration.

/** Events after a position, in commit order. */
export function eventsAfter(q: ReadTx, after: { txOrder: number; id: number }, limit: number): Promise<store.EventRow[]> {
  return store.eventsAfter(q, after, [], limit);
}

export const eventsByIds = store.eventsByIds;
export const newestEventId = store.newestEventId;
/** Where a reader with nothing to match may jump: past every settled event, without reading them. */
export const newestSettledPosition = store.newestSettledPosition;

export class EventFeed {
  constructor(private readonly db: Db) {}

  async page(after: string | undefined, types: readonly string[] = [], limit = 100): Promise<EventPage> {
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_EVENTS_PER_PAGE) throw invalid(`limit must be 1–${MAX_EVENTS_PER_PAGE}`, [{ field: 'querystring.limit', problem: `must be 1–${MAX_EVENTS_PER_PAGE}` }]);
    const position = parseCursor(after);
    const rows = await this.db.read((q) => store.eventsAfter(q, position, types, limit));
    const last = rows.at(-1);
    return {
      events: rows.map((row) => ({ id: `evt_${row.id}`, type: row.type, subject: row.subject, timestamp: new Date(row.occurred_at_ms).toISOString(), data: JSON.parse(row.data) as unknown })),
      cursor: last === undefined ? (after ?? '') : `${last.tx_order}.${last.id}`,
    };
  }
}

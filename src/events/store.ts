// SQL of the outbox's read side: events in commit order, from a position on.
import type { ReadTx, SqlValue } from '../db/index.js';

export interface EventRow {
  id: number;
  tx_order: number;
  type: string;
  subject: string;
  data: string;
  occurred_at_ms: number;
}

/**
 * Events after the position (tx_order, id), in that order, and only those of transactions below the
 * engine's settled horizon: an event of a transaction still running when this read began — even
 * one that got a smaller id — will be read by a later call, never skipped (db/types.ts Dialect).
 */
export function eventsAfter(q: ReadTx, after: { txOrder: number; id: number }, types: readonly string[], limit: number): Promise<EventRow[]> {
  const typeClauses = types.map((t) => (t.endsWith('.*') ? "type LIKE ? ESCAPE '\\'" : 'type = ?'));
  const typeParams: SqlValue[] = types.map((t) => (t.endsWith('.*') ? `${t.slice(0, -1).replace(/[%_\\]/g, '\\$&')}%` : t));
  const typeSql = types.length === 0 || types.includes('*') ? '' : `AND (${typeClauses.join(' OR ')})`;
  return q.all<EventRow>(
    `SELECT id, tx_order, type, subject, data, occurred_at_ms FROM events
     WHERE (tx_order > ? OR (tx_order = ? AND id > ?)) AND tx_order < ${q.dialect.settledHorizon} ${typeSql}
     ORDER BY tx_order, id LIMIT ?`,
    [after.txOrder, after.txOrder, after.id, ...(types.includes('*') ? [] : typeParams), limit],
  );
}

/** These events, by id (the webhook dispatcher sends them). */
export function eventsByIds(q: ReadTx, ids: readonly number[]): Promise<EventRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return q.all<EventRow>(`SELECT id, tx_order, type, subject, data, occurred_at_ms FROM events WHERE id IN (${ids.map(() => '?').join(', ')})`, [...ids]);
}

/** The newest event's id (0 when there is none). */
export async function newestEventId(q: ReadTx): Promise<number> {
  return (await q.get<{ id: number | null }>('SELECT MAX(id) AS id FROM events'))?.id ?? 0;
}

/** The position of the newest event below the settled horizon. */
export function newestSettledPosition(q: ReadTx): Promise<{ tx_order: number; id: number } | undefined> {
  return q.get(`SELECT tx_order, id FROM events WHERE id = (SELECT MAX(id) FROM events WHERE tx_order < ${q.dialect.settledHorizon})`);
}

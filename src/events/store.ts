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

// Reading the audit trail the write pipeline keeps (commands/store.ts writes it).
import type { ReadTx } from '../db/index.js';
import { where } from '../db/where.js';

export interface AuditRow {
  id: number;
  at_ms: number;
  actor_user_id: number | null;
  actor_client_id: string | null;
  action: string;
  subject: string;
  detail: string;
  actor_rights: string | null;
}

export interface AuditFilter {
  actorUserId?: number;
  actorClientId?: string;
  /** An action, or a prefix written `payment.*`. */
  action?: string;
  subject?: string;
  fromMs?: number;
  toMs?: number;
}

export async function auditPage(q: ReadTx, filter: AuditFilter, limit: number, start: number): Promise<{ rows: AuditRow[]; count: number }> {
  const prefix = filter.action?.endsWith('.*') === true;
  const clause = where([
    ['actor_user_id = ?', filter.actorUserId],
    ['actor_client_id = ?', filter.actorClientId],
    [prefix ? "action LIKE ? ESCAPE '\\'" : 'action = ?', prefix ? `${(filter.action ?? '').slice(0, -1).replace(/[%_\\]/g, '\\$&')}%` : filter.action],
    ['subject = ?', filter.subject],
    ['at_ms >= ?', filter.fromMs],
    ['at_ms <= ?', filter.toMs],
  ]);
  const rows = await q.all<AuditRow>(
    `SELECT id, at_ms, actor_user_id, actor_client_id, action, subject, detail, actor_rights FROM audit_log WHERE ${clause.sql} ORDER BY id DESC LIMIT ? OFFSET ?`,
    [...clause.params, limit, start],
  );
  const total = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM audit_log WHERE ${clause.sql}`, clause.params);
  return { rows, count: total?.n ?? 0 };
}

// The audit trail: who did what to which subject, written in the same transaction as the change.
import type { Actor } from './auth/principal.js';
import type { Tx } from './db/index.js';

export interface AuditEntry {
  action: string;
  subject: string;
  detail?: Record<string, string | number | boolean>;
}

export async function recordAudit(tx: Tx, actor: Actor, entry: AuditEntry, nowMs: number): Promise<void> {
  const userId = actor.kind === 'principal' ? actor.principal.userId : null;
  const clientId = actor.kind === 'principal' ? actor.principal.clientId : 'cli';
  await tx.run(
    'INSERT INTO audit_log (at_ms, actor_user_id, actor_client_id, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)',
    [nowMs, userId, clientId, entry.action, entry.subject, JSON.stringify(entry.detail ?? {})],
  );
}

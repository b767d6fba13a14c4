// SQL of what the pipeline writes beside every effect: the audit entry, the outbox events and the
// idempotency record — always in the effect's own transaction.
import type { ReadTx, SqlValue, Tx } from '../db/index.js';

export interface AuditRow {
  atMs: number;
  actorUserId: number | null;
  actorClientId: string;
  action: string;
  subject: string;
  detail: string;
}

/** A command's entries, in one statement (a command writes one, rarely two). */
export async function insertAudit(tx: Tx, rows: readonly AuditRow[]): Promise<void> {
  const params = rows.flatMap((r) => [r.atMs, r.actorUserId, r.actorClientId, r.action, r.subject, r.detail]);
  await tx.run(`INSERT INTO audit_log (at_ms, actor_user_id, actor_client_id, action, subject, detail) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`, params);
}

export interface NewEvent {
  type: string;
  subject: string;
  data: string;
}

/** Rows per INSERT: keeps a statement's parameters far below either engine's limit. */
const EVENTS_PER_STATEMENT = 500;

/** The engine fills in `tx_order` (the writing transaction's position, see db/types.ts Dialect). */
export async function insertEvents(tx: Tx, events: readonly NewEvent[], occurredAtMs: number): Promise<void> {
  for (let i = 0; i < events.length; i += EVENTS_PER_STATEMENT) {
    const chunk = events.slice(i, i + EVENTS_PER_STATEMENT);
    const params: SqlValue[] = chunk.flatMap((e) => [e.type, e.subject, e.data, occurredAtMs]);
    await tx.run(`INSERT INTO events (type, subject, data, occurred_at_ms) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`, params);
  }
}

export interface IdempotencyRecord {
  command: string;
  fingerprint: string;
  outcome: string;
}

export function findRecord(q: ReadTx, scope: string, key: string): Promise<IdempotencyRecord | undefined> {
  return q.get<IdempotencyRecord>('SELECT command, fingerprint, outcome FROM idempotency_records WHERE scope = ? AND idempotency_key = ?', [scope, key]);
}

/**
 * Stores the outcome under its key; false when the key is taken. On PostgreSQL a concurrent insert
 * of the same key waits here until the other transaction ends: the row is the "still running"
 * mark that every process sees.
 */
export async function insertRecord(tx: Tx, scope: string, key: string, record: IdempotencyRecord, nowMs: number): Promise<boolean> {
  const result = await tx.run(
    `INSERT INTO idempotency_records (scope, idempotency_key, command, fingerprint, outcome, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope, idempotency_key) DO NOTHING`,
    [scope, key, record.command, record.fingerprint, record.outcome, nowMs],
  );
  return result.changes === 1;
}

export async function deleteRecordsOlderThan(tx: Tx, cutoffMs: number): Promise<number> {
  return (await tx.run('DELETE FROM idempotency_records WHERE created_at_ms < ?', [cutoffMs])).changes;
}

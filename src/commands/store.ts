// SQL of what the pipeline writes beside every effect: the audit entry, the outbox events and the
// idempotency record — always in the effect's own transaction.
import { requireThat, type ReadTx, type SqlValue, type Statement, type Tx } from '../db/index.js';

export interface AuditRow {
  atMs: number;
  actorUserId: number | null;
  actorClientId: string;
  action: string;
  subject: string;
  detail: string;
}

/**
 * A command's audit entries (one, rarely two) as one statement, each recording the rights its actor
 * holds as the statement runs (`actorRights`, an SQL expression) and answering them. With
 * `expectedRights` (as formatRights writes them), the statement fails ('actor changed') unless
 * those are the rights stored: the actor may no longer act, or acts with other rights now.
 */
export function auditStatement(rows: readonly AuditRow[], actorRights: { sql: string; params: readonly SqlValue[] }, expectedRights?: string): Statement {
  const check = expectedRights === undefined ? '' : `, ${requireThat('actor_rights IS NOT DISTINCT FROM ?', 'actor changed')} AS rights_checked`;
  return {
    sql: `INSERT INTO audit_log (at_ms, actor_user_id, actor_client_id, action, subject, detail, actor_rights)
          VALUES ${rows.map(() => `(?, ?, ?, ?, ?, ?, ${actorRights.sql})`).join(', ')} RETURNING actor_rights${check}`,
    params: [...rows.flatMap((r) => [r.atMs, r.actorUserId, r.actorClientId, r.action, r.subject, r.detail, ...actorRights.params]), ...(expectedRights === undefined ? [] : [expectedRights])],
  };
}

export interface NewEvent {
  type: string;
  subject: string;
  data: string;
}

/** Rows per INSERT: keeps a statement's parameters far below either engine's limit. */
const EVENTS_PER_STATEMENT = 500;

/** Queues the events; the engine fills in `tx_order` (the writing transaction's position, see db/types.ts Dialect). */
export function queueEvents(tx: Tx, events: readonly NewEvent[], occurredAtMs: number): void {
  for (let i = 0; i < events.length; i += EVENTS_PER_STATEMENT) {
    const chunk = events.slice(i, i + EVENTS_PER_STATEMENT);
    const params: SqlValue[] = chunk.flatMap((e) => [e.type, e.subject, e.data, occurredAtMs]);
    tx.later(`INSERT INTO events (type, subject, data, occurred_at_ms) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`, params);
  }
}

/** Writes events now (tests and tools; commands queue theirs). */
export async function insertEvents(tx: Tx, events: readonly NewEvent[], occurredAtMs: number): Promise<void> {
  queueEvents(tx, events, occurredAtMs);
  await tx.flush();
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
 * Queues the outcome under its key; when the key is taken, the flush fails on the unique key
 * `idempotency_records_pkey`. On PostgreSQL a concurrent insert of the same key waits until the
 * other transaction ends: the row is the "still running" mark that every process sees.
 */
export function queueRecord(tx: Tx, scope: string, key: string, record: IdempotencyRecord, nowMs: number): void {
  tx.later(
    `INSERT INTO idempotency_records (scope, idempotency_key, command, fingerprint, outcome, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)`,
    [scope, key, record.command, record.fingerprint, record.outcome, nowMs],
  );
}

export async function deleteRecordsOlderThan(tx: Tx, cutoffMs: number): Promise<number> {
  return (await tx.run('DELETE FROM idempotency_records WHERE created_at_ms < ?', [cutoffMs])).changes;
}

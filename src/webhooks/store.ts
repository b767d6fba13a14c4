// SQL of webhooks: endpoints, deliveries (one per event and endpoint), attempts, and the
// dispatcher's position in the events outbox.
import type { ReadTx, Tx } from '../db/index.js';

export interface WebhookRow {
  id: string;
  url: string;
  /** Space-separated patterns: types, `prefix.*` or `*`. */
  events: string;
  description: string;
  enabled: number;
  secret_sealed: string;
  failing_since_ms: number | null;
  disabled_reason: string | null;
  from_event_id: number;
  created_by: string;
  created_at_ms: number;
  updated_at_ms: number;
}

const WEBHOOK_COLUMNS = 'id, url, events, description, enabled, secret_sealed, failing_since_ms, disabled_reason, from_event_id, created_by, created_at_ms, updated_at_ms';

export async function insertWebhook(tx: Tx, row: WebhookRow): Promise<void> {
  await tx.run(`INSERT INTO webhooks (${WEBHOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    row.id,
    row.url,
    row.events,
    row.description,
    row.enabled,
    row.secret_sealed,
    row.failing_since_ms,
    row.disabled_reason,
    row.from_event_id,
    row.created_by,
    row.created_at_ms,
    row.updated_at_ms,
  ]);
}

export function getWebhook(q: ReadTx, id: string): Promise<WebhookRow | undefined> {
  return q.get<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?`, [id]);
}

export function listWebhooks(q: ReadTx): Promise<WebhookRow[]> {
  return q.all<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at_ms, id`);
}

export interface WebhookChange {
  url?: string;
  events?: string;
  description?: string;
  enabled?: boolean;
}

/** Changes only the fields given; turning a switched-off endpoint on again forgets its failures. */
export function updateWebhook(tx: Tx, id: string, change: WebhookChange, atMs: number): Promise<WebhookRow | undefined> {
  const enabled = change.enabled === undefined ? null : change.enabled ? 1 : 0;
  return tx.get<WebhookRow>(
    `UPDATE webhooks SET url = COALESCE(?, url), events = COALESCE(?, events), description = COALESCE(?, description),
       failing_since_ms = CASE WHEN ? = 1 AND enabled = 0 THEN NULL ELSE failing_since_ms END,
       disabled_reason = CASE WHEN ? = 1 THEN NULL ELSE disabled_reason END,
       enabled = COALESCE(?, enabled), updated_at_ms = ?
     WHERE id = ? RETURNING ${WEBHOOK_COLUMNS}`,
    [change.url ?? null, change.events ?? null, change.description ?? null, enabled, enabled, enabled, atMs, id],
  );
}

export function setSecret(tx: Tx, id: string, sealed: string, atMs: number): Promise<WebhookRow | undefined> {
  return tx.get<WebhookRow>(`UPDATE webhooks SET secret_sealed = ?, updated_at_ms = ? WHERE id = ? RETURNING ${WEBHOOK_COLUMNS}`, [sealed, atMs, id]);
}

/** Turns an endpoint off after it failed for too long; only once (undefined when it already was). */
export function disableFailing(tx: Tx, id: string, reason: string, atMs: number): Promise<WebhookRow | undefined> {
  return tx.get<WebhookRow>(`UPDATE webhooks SET enabled = 0, disabled_reason = ?, updated_at_ms = ? WHERE id = ? AND enabled = 1 RETURNING ${WEBHOOK_COLUMNS}`, [reason, atMs, id]);
}

export async function deleteWebhook(tx: Tx, id: string): Promise<boolean> {
  await tx.run('DELETE FROM webhook_attempts WHERE webhook_id = ?', [id]);
  await tx.run('DELETE FROM webhook_deliveries WHERE webhook_id = ?', [id]);
  return (await tx.run('DELETE FROM webhooks WHERE id = ?', [id])).changes === 1;
}

// ---- the dispatcher ---------------------------------------------------------------------------

/** Locks the dispatcher's position (on PostgreSQL) so that one process at a time fans out. */
export function lockCursor(tx: Tx, name: string): Promise<{ tx_order: number; event_id: number } | undefined> {
  return tx.get(`SELECT tx_order, event_id FROM event_cursors WHERE name = ?${tx.dialect.forUpdate}`, [name]);
}

export async function moveCursor(tx: Tx, name: string, txOrder: number, eventId: number): Promise<void> {
  await tx.run('UPDATE event_cursors SET tx_order = ?, event_id = ? WHERE name = ?', [txOrder, eventId, name]);
}

export interface NewDelivery {
  webhookId: string;
  eventId: number;
  eventType: string;
}

/** Deliveries for events fanned out; a pair already there (a second fan-out) is left as it is. */
export function queueDeliveries(tx: Tx, deliveries: readonly NewDelivery[], atMs: number): void {
  for (let i = 0; i < deliveries.length; i += 200) {
    const chunk = deliveries.slice(i, i + 200);
    tx.later(
      `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, state, next_attempt_at_ms, created_at_ms)
       VALUES ${chunk.map(() => "(?, ?, ?, 'pending', ?, ?)").join(', ')} ON CONFLICT (webhook_id, event_id) DO NOTHING`,
      chunk.flatMap((d) => [d.webhookId, d.eventId, d.eventType, atMs, atMs]),
    );
  }
}

export interface ClaimedDelivery {
  id: number;
  webhook_id: string;
  event_id: number;
  attempts: number;
  created_at_ms: number;
}

/**
 * Takes up to `limit` due deliveries of enabled endpoints for this process until `leaseUntilMs`:
 * skipped by other processes meanwhile (SKIP LOCKED, then the lease), taken again by anyone once
 * the lease runs out — a crash mid-send delivers again rather than never.
 */
export function claimDue(tx: Tx, nowMs: number, leaseUntilMs: number, limit: number, perEndpoint: number, busy: readonly string[]): Promise<ClaimedDelivery[]> {
  // At most `perEndpoint` per endpoint, none of the endpoints already busy in this process: one
  // slow receiver cannot take every send slot. (PostgreSQL locks no rows under a window function,
  // so the ranking picks candidates and the outer SELECT locks them.)
  const notBusy = busy.length === 0 ? '' : `AND webhook_id NOT IN (${busy.map(() => '?').join(', ')})`;
  return tx.all<ClaimedDelivery>(
    `UPDATE webhook_deliveries SET lease_until_ms = ? WHERE id IN (
       SELECT id FROM webhook_deliveries WHERE id IN (
         SELECT id FROM (
           SELECT id, next_attempt_at_ms, ROW_NUMBER() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at_ms, id) AS rank
           FROM webhook_deliveries
           WHERE state = 'pending' AND next_attempt_at_ms <= ? AND lease_until_ms <= ?
             AND webhook_id IN (SELECT id FROM webhooks WHERE enabled = 1) ${notBusy}
         ) ranked WHERE rank <= ? ORDER BY next_attempt_at_ms, id LIMIT ?
       ) AND lease_until_ms <= ?${tx.dialect.skipLocked}
     ) RETURNING id, webhook_id, event_id, attempts, created_at_ms`,
    [leaseUntilMs, nowMs, nowMs, ...busy, perEndpoint, limit, nowMs],
  );
}

export interface AttemptResult {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/**
 * An attempt on record, and the delivery's new state: delivered, or pending until `nextAttemptAtMs`.
 * False when the delivery is gone (its endpoint was deleted while it was being sent).
 */
export async function recordAttempt(tx: Tx, delivery: ClaimedDelivery, result: AttemptResult, delivered: boolean, nextAttemptAtMs: number, atMs: number): Promise<boolean> {
  const updated = await tx.run(
    `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at_ms = ?, lease_until_ms = 0, last_status = ?, last_error = ?, delivered_at_ms = ?
     WHERE id = ?`,
    [delivered ? 'delivered' : 'pending', nextAttemptAtMs, result.statusCode, result.error, delivered ? atMs : null, delivery.id],
  );
  if (updated.changes === 0) return false;
  tx.later('INSERT INTO webhook_attempts (delivery_id, webhook_id, attempted_at_ms, status_code, duration_ms, error) VALUES (?, ?, ?, ?, ?, ?)', [
    delivery.id,
    delivery.webhook_id,
    atMs,
    result.statusCode,
    result.durationMs,
    result.error,
  ]);
  return true;
}

/** An endpoint's failure streak: begins at its first failure, ends with any success. */
export async function markFailing(tx: Tx, webhookId: string, failing: boolean, atMs: number): Promise<WebhookRow | undefined> {
  return tx.get<WebhookRow>(
    `UPDATE webhooks SET failing_since_ms = CASE WHEN ? = 1 THEN COALESCE(failing_since_ms, ?) ELSE NULL END WHERE id = ? RETURNING ${WEBHOOK_COLUMNS}`,
    [failing ? 1 : 0, atMs, webhookId],
  );
}

/** Makes a delivery due now, whatever its state — unless it is being sent this moment: a manual retry. */
export function retryNow(tx: Tx, webhookId: string, deliveryId: number, atMs: number): Promise<DeliveryRow | undefined> {
  return tx.get<DeliveryRow>(
    `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at_ms = ? WHERE id = ? AND webhook_id = ? AND lease_until_ms <= ? RETURNING ${DELIVERY_COLUMNS}`,
    [atMs, deliveryId, webhookId, atMs],
  );
}

export function getDelivery(q: ReadTx, webhookId: string, deliveryId: number): Promise<DeliveryRow | undefined> {
  return q.get<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ? AND webhook_id = ?`, [deliveryId, webhookId]);
}

// ---- reads --------------------------------------------------------------------------------------

export interface DeliveryRow {
  id: number;
  webhook_id: string;
  event_id: number;
  event_type: string;
  state: string;
  attempts: number;
  next_attempt_at_ms: number;
  last_status: number | null;
  last_error: string | null;
  created_at_ms: number;
  delivered_at_ms: number | null;
}

const DELIVERY_COLUMNS = 'id, webhook_id, event_id, event_type, state, attempts, next_attempt_at_ms, last_status, last_error, created_at_ms, delivered_at_ms';

export async function listDeliveries(q: ReadTx, webhookId: string, limit: number, start: number): Promise<{ rows: DeliveryRow[]; count: number }> {
  const rows = await q.all<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`, [webhookId, limit, start]);
  const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = ?', [webhookId]);
  return { rows, count: total?.n ?? 0 };
}

export interface AttemptRow {
  id: number;
  delivery_id: number;
  attempted_at_ms: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

/** The attempts of these deliveries, oldest first. */
export function attemptsOf(q: ReadTx, deliveryIds: readonly number[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return Promise.resolve([]);
  return q.all<AttemptRow>(
    `SELECT id, delivery_id, attempted_at_ms, status_code, duration_ms, error FROM webhook_attempts WHERE delivery_id IN (${deliveryIds.map(() => '?').join(', ')}) ORDER BY id`,
    [...deliveryIds],
  );
}

/** Undelivered deliveries of enabled endpoints: how many, and since when the oldest waits. */
export function backlog(q: ReadTx): Promise<{ n: number; oldest_ms: number | null } | undefined> {
  return q.get("SELECT COUNT(*) AS n, MIN(created_at_ms) AS oldest_ms FROM webhook_deliveries WHERE state = 'pending' AND webhook_id IN (SELECT id FROM webhooks WHERE enabled = 1)");
}

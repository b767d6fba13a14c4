// SQL of recharge payments and provider settings. State changes are conditional updates
// (`… WHERE state = 'created'`), so concurrent commits and rollbacks of one payment cannot both win.
import type { Tx } from '../db/index.js';
import { where } from '../db/where.js';

export type PaymentState = 'created' | 'committed' | 'rolledBack' | 'expired';

export interface PaymentRow {
  id: number;
  provider: string;
  user_id: number;
  amount_minor: number;
  currency: string;
  state: PaymentState;
  description: string;
  params: string;
  reason: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  expires_at_ms: number;
}

const COLUMNS = 'id, provider, user_id, amount_minor, currency, state, description, params, reason, created_at_ms, updated_at_ms, expires_at_ms';

export interface NewPayment {
  provider: string;
  userId: number;
  amountMinor: number;
  currency: string;
  description: string;
  params: string;
  expiresAtMs: number;
}

export async function insertPayment(tx: Tx, p: NewPayment, nowMs: number): Promise<PaymentRow> {
  const row = await tx.get<PaymentRow>(
    `INSERT INTO recharge_payments (provider, user_id, amount_minor, currency, state, description, params, created_at_ms, updated_at_ms, expires_at_ms)
     VALUES (?, ?, ?, ?, 'created', ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    [p.provider, p.userId, p.amountMinor, p.currency, p.description, p.params, nowMs, nowMs, p.expiresAtMs],
  );
  if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
  return row;
}

export function getPayment(q: Tx, provider: string, id: number): Promise<PaymentRow | undefined> {
  return q.get<PaymentRow>(`SELECT ${COLUMNS} FROM recharge_payments WHERE id = ? AND provider = ?`, [id, provider]);
}

/**
 * Moves a live `created` payment to `to`; undefined when it was not live (another state, expired,
 * or not there). The one place where a payment's state changes.
 */
export function transition(tx: Tx, provider: string, id: number, to: Exclude<PaymentState, 'created'>, nowMs: number, reason: string | null = null): Promise<PaymentRow | undefined> {
  const liveOnly = to === 'expired' ? 'expires_at_ms <= ?' : 'expires_at_ms > ?';
  return tx.get<PaymentRow>(
    `UPDATE recharge_payments SET state = ?, reason = COALESCE(?, reason), updated_at_ms = ?
     WHERE id = ? AND provider = ? AND state = 'created' AND ${liveOnly} RETURNING ${COLUMNS}`,
    [to, reason, nowMs, id, provider, nowMs],
  );
}

export async function updateLive(tx: Tx, provider: string, id: number, changes: { amountMinor: number; description: string; params: string }, nowMs: number): Promise<boolean> {
  const result = await tx.run(
    `UPDATE recharge_payments SET amount_minor = ?, description = ?, params = ?, updated_at_ms = ?
     WHERE id = ? AND provider = ? AND state = 'created' AND expires_at_ms > ?`,
    [changes.amountMinor, changes.description, changes.params, nowMs, id, provider, nowMs],
  );
  return result.changes === 1;
}

/** Created payments whose time is up, oldest first, at most `limit`. */
export function overdue(q: Tx, nowMs: number, limit: number): Promise<{ id: number; provider: string }[]> {
  return q.all("SELECT id, provider FROM recharge_payments WHERE state = 'created' AND expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?", [nowMs, limit]);
}

export interface PaymentFilter {
  userId?: number;
  state?: string;
  fromMs?: number;
  toMs?: number;
}

export async function listPayments(q: Tx, provider: string, filter: PaymentFilter, limit: number, start: number): Promise<{ rows: PaymentRow[]; count: number }> {
  const { sql, params } = where([
    ['provider = ?', provider],
    ['user_id = ?', filter.userId],
    ['state = ?', filter.state],
    ['created_at_ms >= ?', filter.fromMs],
    ['created_at_ms <= ?', filter.toMs],
  ]);
  const rows = await q.all<PaymentRow>(`SELECT ${COLUMNS} FROM recharge_payments WHERE ${sql} ORDER BY id LIMIT ? OFFSET ?`, [...params, limit, start]);
  const total = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM recharge_payments WHERE ${sql}`, params);
  return { rows, count: total?.n ?? 0 };
}

/**
 * Committed payments without exactly one recharge transaction crediting their amount to their
 * person (a ledger transaction names its payment in payment_id).
 */
export function unpostedCommits(q: Tx): Promise<{ id: number }[]> {
  return q.all(
    `SELECT r.id FROM recharge_payments r
     WHERE r.state = 'committed' AND 1 <> (
       SELECT COUNT(*) FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id
       JOIN ledger_accounts a ON a.id = p.account_id AND a.user_id = r.user_id
       WHERE t.payment_id = r.id AND t.kind = 'recharge' AND p.amount_minor = r.amount_minor)`,
  );
}

/** Payments not committed that nevertheless have a recharge transaction. */
export function postedNonCommits(q: Tx): Promise<{ id: number; state: string }[]> {
  return q.all("SELECT r.id, r.state FROM recharge_payments r WHERE r.state <> 'committed' AND EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.payment_id = r.id AND t.kind = 'recharge')");
}

export function providerEnabled(q: Tx, reference: string): Promise<{ enabled: number } | undefined> {
  return q.get('SELECT enabled FROM recharge_providers WHERE reference = ?', [reference]);
}

export async function setProviderEnabled(tx: Tx, reference: string, enabled: boolean, nowMs: number): Promise<void> {
  await tx.run(
    `INSERT INTO recharge_providers (reference, enabled, updated_at_ms) VALUES (?, ?, ?)
     ON CONFLICT (reference) DO UPDATE SET enabled = excluded.enabled, updated_at_ms = excluded.updated_at_ms`,
    [reference, Number(enabled), nowMs],
  );
}

// SQL of recharge payments and provider settings. State changes are conditional updates
// (`… WHERE state = 'created'`), so concurrent commits and rollbacks of one payment cannot both win.
import type { Db, ReadTx, Returning, SqlValue, Tx } from '../db/index.js';
import { pageWithCount } from '../db/page.js';
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

/** A payment from its values in the order of COLUMNS, starting at `at`. */
function paymentOf(v: readonly SqlValue[], at: number): PaymentRow {
  return {
    id: v[at] as number,
    provider: v[at + 1] as string,
    user_id: v[at + 2] as number,
    amount_minor: v[at + 3] as number,
    currency: v[at + 4] as string,
    state: v[at + 5] as PaymentState,
    description: v[at + 6] as string,
    params: v[at + 7] as string,
    reason: v[at + 8] as string | null,
    created_at_ms: v[at + 9] as number,
    updated_at_ms: v[at + 10] as number,
    expires_at_ms: v[at + 11] as number,
  };
}

export interface NewPayment {
  provider: string;
  userId: number;
  amountMinor: number;
  currency: string;
  description: string;
  params: string;
  expiresAtMs: number;
}

/**
 * Inserts the payment only while its person is active and its provider is not disabled — checked
 * by the INSERT itself, at the moment it writes. Undefined when either check failed (see `blocker`).
 */
export function insertPayment(tx: Tx, p: NewPayment, nowMs: number): Promise<PaymentRow | undefined> {
  return tx.get<PaymentRow>(
    `INSERT INTO recharge_payments (provider, user_id, amount_minor, currency, state, description, params, created_at_ms, updated_at_ms, expires_at_ms)
     SELECT ?, ?, ?, ?, 'created', ?, ?, ?, ?, ?
     WHERE EXISTS (SELECT 1 FROM users WHERE id = ? AND active = 1)
       AND NOT EXISTS (SELECT 1 FROM recharge_providers WHERE reference = ? AND enabled = 0)
     RETURNING ${COLUMNS}`,
    [p.provider, p.userId, p.amountMinor, p.currency, p.description, p.params, nowMs, nowMs, p.expiresAtMs, p.userId, p.provider],
  );
}

/** Why `insertPayment` wrote nothing. */
export async function blocker(q: ReadTx, userId: number, provider: string): Promise<'noUser' | 'inactiveUser' | 'providerDisabled' | undefined> {
  const row = await q.get<{ active: number | null; enabled: number | null }>(
    'SELECT (SELECT active FROM users WHERE id = ?) AS active, (SELECT enabled FROM recharge_providers WHERE reference = ?) AS enabled',
    [userId, provider],
  );
  if (row?.active === null || row?.active === undefined) return 'noUser';
  if (row.active !== 1) return 'inactiveUser';
  if (row.enabled === 0) return 'providerDisabled';
  return undefined;
}

export function getPayment(q: ReadTx, provider: string, id: number): Promise<PaymentRow | undefined> {
  return q.get<PaymentRow>(`SELECT ${COLUMNS} FROM recharge_payments WHERE id = ? AND provider = ?`, [id, provider]);
}

/**
 * Moves a live `created` payment to `to`; undefined when it was not live (another state, expired,
 * or not there). The one place where a payment's state changes.
 */
export function transition(tx: Tx, provider: string, id: number, to: Exclude<PaymentState, 'created'>, nowMs: number, reason: string | null = null): Promise<PaymentRow | undefined> {
  const { statement } = transitionSource(provider, id, to, nowMs, reason);
  return tx.get<PaymentRow>(statement.sql, statement.params);
}

/** transition's UPDATE … RETURNING, for a statement that reads its row (a commit's posting). */
export function transitionSource(provider: string, id: number, to: Exclude<PaymentState, 'created'>, nowMs: number, reason: string | null = null): Returning<PaymentRow> {
  const liveOnly = to === 'expired' ? 'expires_at_ms <= ?' : 'expires_at_ms > ?';
  return {
    statement: {
      sql: `UPDATE recharge_payments SET state = ?, reason = COALESCE(?, reason), updated_at_ms = ?
     WHERE id = ? AND provider = ? AND state = 'created' AND ${liveOnly} RETURNING ${COLUMNS}`,
      params: [to, reason, nowMs, id, provider, nowMs],
    },
    // The columns of COLUMNS, as every other read of this table types them.
    rowOf: (row) => row as unknown as PaymentRow,
  };
}

/**
 * Changes only the fields given, each against the row as it is when the UPDATE runs: two concurrent
 * updates of different fields both survive. Undefined when the payment was not live.
 */
export function updateLive(tx: Tx, provider: string, id: number, changes: { amountMinor?: number; description?: string; params?: string }, nowMs: number): Promise<PaymentRow | undefined> {
  return tx.get<PaymentRow>(
    `UPDATE recharge_payments SET amount_minor = COALESCE(?, amount_minor), description = COALESCE(?, description), params = COALESCE(?, params), updated_at_ms = ?
     WHERE id = ? AND provider = ? AND state = 'created' AND expires_at_ms > ? RETURNING ${COLUMNS}`,
    [changes.amountMinor ?? null, changes.description ?? null, changes.params ?? null, nowMs, id, provider, nowMs],
  );
}

/** Created payments whose time is up, oldest first, at most `limit`. */
export function overdue(q: ReadTx, nowMs: number, limit: number): Promise<{ id: number; provider: string }[]> {
  return q.all("SELECT id, provider FROM recharge_payments WHERE state = 'created' AND expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?", [nowMs, limit]);
}

export interface PaymentFilter {
  userId?: number;
  state?: string;
  fromMs?: number;
  toMs?: number;
}

/** A page of payments and how many match in all: one statement, the hottest read there is. */
export async function listPayments(db: Db, provider: string, filter: PaymentFilter, limit: number, start: number): Promise<{ rows: PaymentRow[]; count: number }> {
  const { sql, params } = where([
    ['provider = ?', provider],
    ['user_id = ?', filter.userId],
    ['state = ?', filter.state],
    ['created_at_ms >= ?', filter.fromMs],
    ['created_at_ms <= ?', filter.toMs],
  ]);
  const count = { sql: `SELECT COUNT(*) FROM recharge_payments WHERE ${sql}`, params };
  const page = await pageWithCount(db, { sql: `SELECT ${COLUMNS} FROM recharge_payments WHERE ${sql} ORDER BY id LIMIT ? OFFSET ?`, params: [...params, limit, start] }, count, paymentOf);
  return page ?? { rows: [], count: Number((await db.selectValues(count.sql, count.params))[0]?.[0] ?? 0) };
}

/**
 * Committed payments without exactly one recharge transaction crediting their amount to their
 * person (a ledger transaction names its payment in payment_id).
 */
export function unpostedCommits(q: ReadTx): Promise<{ id: number }[]> {
  return q.all(
    `SELECT r.id FROM recharge_payments r
     WHERE r.state = 'committed' AND 1 <> (
       SELECT COUNT(*) FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id
       JOIN ledger_accounts a ON a.id = p.account_id AND a.user_id = r.user_id
       WHERE t.payment_id = r.id AND t.kind = 'recharge' AND p.amount_minor = r.amount_minor)`,
  );
}

/** Payments not committed that nevertheless have a recharge transaction. */
export function postedNonCommits(q: ReadTx): Promise<{ id: number; state: string }[]> {
  return q.all("SELECT r.id, r.state FROM recharge_payments r WHERE r.state <> 'committed' AND EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.payment_id = r.id AND t.kind = 'recharge')");
}

export function providerEnabled(q: ReadTx, reference: string): Promise<{ enabled: number } | undefined> {
  return q.get('SELECT enabled FROM recharge_providers WHERE reference = ?', [reference]);
}

export async function setProviderEnabled(tx: Tx, reference: string, enabled: boolean, nowMs: number): Promise<void> {
  await tx.run(
    `INSERT INTO recharge_providers (reference, enabled, updated_at_ms) VALUES (?, ?, ?)
     ON CONFLICT (reference) DO UPDATE SET enabled = excluded.enabled, updated_at_ms = excluded.updated_at_ms`,
    [reference, Number(enabled), nowMs],
  );
}

/** A person's card and MB WAY payments (created or committed) since a moment, oldest first: what counts towards the daily top-up limit. */
export function topUpsSince(q: ReadTx, userId: number, providers: readonly string[], sinceMs: number): Promise<{ amount_minor: number; created_at_ms: number }[]> {
  if (providers.length === 0) return Promise.resolve([]);
  return q.all(
    `SELECT amount_minor, created_at_ms FROM recharge_payments
     WHERE user_id = ? AND provider IN (${providers.map(() => '?').join(', ')}) AND state IN ('created', 'committed') AND created_at_ms > ?
     ORDER BY created_at_ms`,
    [userId, ...providers, sinceMs],
  );
}

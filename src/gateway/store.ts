// SQL of the payment gateway. The running refund total lives on the payment row and grows only
// through one conditional UPDATE (`refunded + amount <= amount`), so concurrent refunds can never
// add up to more than the payment; settlement and voiding are conditional updates too.
import type { SqlValue, ReadTx, Tx } from '../db/index.js';
import { where } from '../db/where.js';

export type GatewayStatus = 'success' | 'error' | 'settled' | 'voided';

export interface GatewayPaymentRow {
  id: number;
  payment_id: string;
  amount_minor: number;
  currency: string;
  payment_method: 'credit_card' | 'mbway';
  status: GatewayStatus;
  decline_reason: string | null;
  card_bin: string | null;
  card_last4: string | null;
  card_length: number | null;
  card_name: string | null;
  card_exp_month: string | null;
  card_exp_year: string | null;
  phone_number: string | null;
  refunded_minor: number;
  settled_at_ms: number | null;
  settled_amount_minor: number | null;
  recharge_payment_id: number | null;
  credited_user_id: number | null;
  created_at_ms: number;
  updated_at_ms: number;
}

const COLUMNS = `id, payment_id, amount_minor, currency, payment_method, status, decline_reason, card_bin, card_last4, card_length, card_name,
  card_exp_month, card_exp_year, phone_number, refunded_minor, settled_at_ms, settled_amount_minor, recharge_payment_id, credited_user_id, created_at_ms, updated_at_ms`;

export type NewGatewayPayment = Omit<GatewayPaymentRow, 'id' | 'refunded_minor' | 'settled_at_ms' | 'settled_amount_minor' | 'credited_user_id' | 'updated_at_ms'>;

export async function insertPayment(tx: Tx, p: NewGatewayPayment): Promise<GatewayPaymentRow> {
  const row = await tx.get<GatewayPaymentRow>(
    `INSERT INTO gateway_payments (payment_id, amount_minor, currency, payment_method, status, decline_reason, card_bin, card_last4, card_length, card_name,
       card_exp_month, card_exp_year, phone_number, recharge_payment_id, created_at_ms, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    [p.payment_id, p.amount_minor, p.currency, p.payment_method, p.status, p.decline_reason, p.card_bin, p.card_last4, p.card_length, p.card_name, p.card_exp_month, p.card_exp_year, p.phone_number, p.recharge_payment_id, p.created_at_ms, p.created_at_ms],
  );
  if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
  return row;
}

export function getPayment(q: ReadTx, paymentId: string): Promise<GatewayPaymentRow | undefined> {
  return q.get<GatewayPaymentRow>(`SELECT ${COLUMNS} FROM gateway_payments WHERE payment_id = ?`, [paymentId]);
}

export function getByRecharge(q: ReadTx, rechargePaymentId: number): Promise<GatewayPaymentRow | undefined> {
  return q.get<GatewayPaymentRow>(`SELECT ${COLUMNS} FROM gateway_payments WHERE recharge_payment_id = ?`, [rechargePaymentId]);
}

export interface PaymentFilter {
  paymentId?: string;
  method?: string;
  status?: string;
  amountGteMinor?: number;
  amountLteMinor?: number;
  createdGteMs?: number;
  createdLteMs?: number;
  settledGteMs?: number;
  settledLteMs?: number;
}

export function listPayments(q: ReadTx, filter: PaymentFilter, limit: number, offset: number): Promise<GatewayPaymentRow[]> {
  const { sql, params } = where([
    ['payment_id = ?', filter.paymentId],
    ['payment_method = ?', filter.method],
    ['status = ?', filter.status],
    ['amount_minor >= ?', filter.amountGteMinor],
    ['amount_minor <= ?', filter.amountLteMinor],
    ['created_at_ms >= ?', filter.createdGteMs],
    ['created_at_ms <= ?', filter.createdLteMs],
    ['settled_at_ms >= ?', filter.settledGteMs],
    ['settled_at_ms <= ?', filter.settledLteMs],
  ]);
  return q.all<GatewayPaymentRow>(`SELECT ${COLUMNS} FROM gateway_payments WHERE ${sql} ORDER BY id LIMIT ? OFFSET ?`, [...params, limit, offset]);
}

/** Changes the amount of a payment nothing has touched yet: captured, unsettled, unrefunded, not funding credit. */
export async function changeAmount(tx: Tx, paymentId: string, amountMinor: number, nowMs: number): Promise<boolean> {
  const result = await tx.run(
    `UPDATE gateway_payments SET amount_minor = ?, updated_at_ms = ?
     WHERE payment_id = ? AND status = 'success' AND refunded_minor = 0 AND recharge_payment_id IS NULL`,
    [amountMinor, nowMs, paymentId],
  );
  return result.changes === 1;
}

/** Settles once: only a captured, unsettled payment, for at most what its refunds left of it. */
export async function settle(tx: Tx, paymentId: string, settledAtMs: number, settledAmountMinor: number, nowMs: number): Promise<boolean> {
  const result = await tx.run(
    `UPDATE gateway_payments SET status = 'settled', settled_at_ms = ?, settled_amount_minor = ?, updated_at_ms = ?
     WHERE payment_id = ? AND status = 'success' AND settled_at_ms IS NULL AND ? <= amount_minor - refunded_minor
       AND (recharge_payment_id IS NULL OR credited_user_id IS NOT NULL)`,
    [settledAtMs, settledAmountMinor, nowMs, paymentId, settledAmountMinor],
  );
  return result.changes === 1;
}

/**
 * Settles every captured payment created before the cutoff for amount − refunds; returns them.
 * A payment behind a recharge that is not committed yet waits: its recharge may still be rolled back.
 */
export function settleAllBefore(tx: Tx, cutoffMs: number, nowMs: number): Promise<GatewayPaymentRow[]> {
  return tx.all<GatewayPaymentRow>(
    `UPDATE gateway_payments SET status = 'settled', settled_at_ms = ?, settled_amount_minor = amount_minor - refunded_minor, updated_at_ms = ?
     WHERE status = 'success' AND created_at_ms < ? AND (recharge_payment_id IS NULL OR credited_user_id IS NOT NULL)
     RETURNING ${COLUMNS}`,
    [nowMs, nowMs, cutoffMs],
  );
}

/** Voids a captured payment that is unsettled and unrefunded (or a declined one). */
export async function voidPayment(tx: Tx, paymentId: string, nowMs: number, allowLinked: boolean): Promise<boolean> {
  const result = await tx.run(
    `UPDATE gateway_payments SET status = 'voided', updated_at_ms = ?
     WHERE payment_id = ? AND status IN ('success', 'error') AND refunded_minor = 0 ${allowLinked ? '' : 'AND recharge_payment_id IS NULL'}`,
    [nowMs, paymentId],
  );
  return result.changes === 1;
}

/** Records that the payment behind a recharge became a person's credit (its refunds take it back). */
/** Queues the credit's mark on its captured card payment; the unit fails with `otherwise` when there is none. */
export function queueMarkCredited(tx: Tx, rechargePaymentId: number, userId: number, nowMs: number, otherwise: Error): void {
  tx.laterOne("UPDATE gateway_payments SET credited_user_id = ?, updated_at_ms = ? WHERE recharge_payment_id = ? AND status = 'success'", [userId, nowMs, rechargePaymentId], otherwise);
}

/** Adds a refund to the running total unless it would exceed the payment; false when refused. */
export async function addRefund(tx: Tx, paymentId: string, amountMinor: number, nowMs: number): Promise<boolean> {
  const result = await tx.run(
    `UPDATE gateway_payments SET refunded_minor = refunded_minor + ?, updated_at_ms = ?
     WHERE payment_id = ? AND status IN ('success', 'settled') AND refunded_minor + ? <= amount_minor`,
    [amountMinor, nowMs, paymentId, amountMinor],
  );
  return result.changes === 1;
}

export interface RefundRow {
  refund_id: string;
  payment_id: string;
  amount_minor: number;
  ledger_transaction_id: number | null;
  created_at_ms: number;
}

export async function insertRefund(tx: Tx, refund: RefundRow): Promise<void> {
  await tx.run('INSERT INTO gateway_refunds (refund_id, payment_id, amount_minor, ledger_transaction_id, created_at_ms) VALUES (?, ?, ?, ?, ?)', [
    refund.refund_id,
    refund.payment_id,
    refund.amount_minor,
    refund.ledger_transaction_id,
    refund.created_at_ms,
  ]);
}

export function getRefund(q: ReadTx, refundId: string): Promise<RefundRow | undefined> {
  return q.get<RefundRow>('SELECT refund_id, payment_id, amount_minor, ledger_transaction_id, created_at_ms FROM gateway_refunds WHERE refund_id = ?', [refundId]);
}

export function listRefunds(q: ReadTx, filter: { paymentId?: string; refundId?: string }, limit: number, offset: number): Promise<RefundRow[]> {
  const { sql, params } = where([
    ['payment_id = ?', filter.paymentId],
    ['refund_id = ?', filter.refundId],
  ]);
  return q.all<RefundRow>(`SELECT refund_id, payment_id, amount_minor, ledger_transaction_id, created_at_ms FROM gateway_refunds WHERE ${sql} ORDER BY id LIMIT ? OFFSET ?`, [...params, limit, offset]);
}

// ---- reconciliation: gateway against recharge payments and the ledger (read-only) -------------

export interface Mismatch {
  payment_id: string;
  problem: string;
}

/**
 * Every way the gateway and the books can disagree. Reads across modules on purpose: it is the
 * check that the modules' own bookkeeping agrees, so it must not go through that bookkeeping.
 */
export async function mismatches(q: ReadTx): Promise<Mismatch[]> {
  const checks: [string, string, SqlValue[]][] = [
    [
      'refunds do not add up to the running total',
      `SELECT g.payment_id FROM gateway_payments g LEFT JOIN gateway_refunds r ON r.payment_id = g.payment_id
       GROUP BY g.id, g.payment_id, g.refunded_minor HAVING g.refunded_minor <> COALESCE(SUM(r.amount_minor), 0)`,
      [],
    ],
    ['refunded more than the payment', 'SELECT payment_id FROM gateway_payments WHERE refunded_minor > amount_minor', []],
    ['settled for more than its amount', "SELECT payment_id FROM gateway_payments WHERE status = 'settled' AND settled_amount_minor > amount_minor", []],
    [
      'funds a committed recharge, but is not captured, or the credit posted differs',
      `SELECT g.payment_id FROM gateway_payments g JOIN recharge_payments r ON r.id = g.recharge_payment_id
       WHERE r.state = 'committed' AND (g.status NOT IN ('success', 'settled') OR g.credited_user_id IS NULL OR r.amount_minor <> g.amount_minor
         OR NOT EXISTS (SELECT 1 FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id JOIN ledger_accounts a ON a.id = p.account_id
                        WHERE t.payment_id = r.id AND t.kind = 'recharge' AND a.user_id = r.user_id AND p.amount_minor = g.amount_minor))`,
      [],
    ],
    [
      'its recharge was rolled back or expired, but it was not voided',
      `SELECT g.payment_id FROM gateway_payments g JOIN recharge_payments r ON r.id = g.recharge_payment_id
       WHERE r.state IN ('rolledBack', 'expired') AND g.status <> 'voided'`,
      [],
    ],
    [
      'a refund of credited money has no ledger transaction taking the credit back',
      `SELECT r.payment_id FROM gateway_refunds r JOIN gateway_payments g ON g.payment_id = r.payment_id
       WHERE g.credited_user_id IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id JOIN ledger_accounts a ON a.id = p.account_id
         WHERE t.id = r.ledger_transaction_id AND t.kind = 'refund' AND a.user_id = g.credited_user_id AND p.amount_minor = -r.amount_minor)`,
      [],
    ],
    [
      'a card or MB WAY recharge has no gateway payment',
      `SELECT 'recharge:' || r.id AS payment_id FROM recharge_payments r
       WHERE r.provider IN ('card', 'mbway') AND NOT EXISTS (SELECT 1 FROM gateway_payments g WHERE g.recharge_payment_id = r.id)`,
      [],
    ],
  ];
  const found: Mismatch[] = [];
  for (const [problem, sql, params] of checks) {
    for (const row of await q.all<{ payment_id: string }>(sql, params)) found.push({ payment_id: row.payment_id, problem });
  }
  return found;
}

// SQL of spending: charges, holds, refunds of charges, transfers. Balances are the ledger's
// (ledger/postings.ts); these tables say what each movement was and what state a hold is in.
import type { ReadTx, Tx } from '../db/index.js';
import type { PostingRecord } from '../ledger/postings.js';
import { where } from '../db/where.js';

import type { HoldState } from './views.js';

export interface ChargeRow {
  id: number;
  user_id: number;
  reference: string;
  amount_minor: number;
  refunded_minor: number;
  currency: string;
  description: string;
  external_id: string | null;
  hold_id: number | null;
  balance_after_minor: number;
  ledger_transaction_id: number;
  created_by: string;
  created_at_ms: number;
}

const CHARGE_COLUMNS = 'id, user_id, reference, amount_minor, refunded_minor, currency, description, external_id, hold_id, balance_after_minor, ledger_transaction_id, created_by, created_at_ms';

export type NewCharge = Omit<ChargeRow, 'id' | 'refunded_minor'>;

/**
 * A charge's row, as the record of its posting (postCreditRecorded): the balance after and the
 * ledger transaction are the posting's own, read by the same statement on PostgreSQL.
 */
export function chargeRecord(charge: Omit<NewCharge, 'balance_after_minor' | 'ledger_transaction_id'>): PostingRecord<ChargeRow> {
  return (posted) => ({
    statement: {
      sql: `INSERT INTO charges (user_id, reference, amount_minor, currency, description, external_id, hold_id, balance_after_minor, ledger_transaction_id, created_by, created_at_ms)
       SELECT ?, ?, ?, ?, ?, ?, ?, ${posted.balanceMinor.sql}, ${posted.transactionId.sql}, ?, ? WHERE ${posted.written} RETURNING ${CHARGE_COLUMNS}`,
      params: [charge.user_id, charge.reference, charge.amount_minor, charge.currency, charge.description, charge.external_id, charge.hold_id, ...posted.balanceMinor.params, ...posted.transactionId.params, charge.created_by, charge.created_at_ms],
    },
    // The columns of CHARGE_COLUMNS, as every other read of this table types them.
    rowOf: (row) => row as unknown as ChargeRow,
  });
}

export function getCharge(q: ReadTx, id: number): Promise<ChargeRow | undefined> {
  return q.get<ChargeRow>(`SELECT ${CHARGE_COLUMNS} FROM charges WHERE id = ?`, [id]);
}

/**
 * A charge, its row locked until the transaction ends on PostgreSQL: a refund of "all that is left"
 * reads the rest and takes it without a partial refund landing in between.
 */
export function lockCharge(tx: Tx, id: number): Promise<ChargeRow | undefined> {
  return tx.get<ChargeRow>(`SELECT ${CHARGE_COLUMNS} FROM charges WHERE id = ?${tx.dialect.forUpdate}`, [id]);
}

export interface AccountFilter {
  userId?: number;
  reference?: string;
  fromMs?: number;
  toMs?: number;
}

export async function listCharges(q: ReadTx, filter: AccountFilter, limit: number, start: number): Promise<{ rows: ChargeRow[]; count: number }> {
  const clause = where([
    ['user_id = ?', filter.userId],
    ['reference = ?', filter.reference],
    ['created_at_ms >= ?', filter.fromMs],
    ['created_at_ms <= ?', filter.toMs],
  ]);
  const rows = await q.all<ChargeRow>(`SELECT ${CHARGE_COLUMNS} FROM charges WHERE ${clause.sql} ORDER BY id DESC LIMIT ? OFFSET ?`, [...clause.params, limit, start]);
  const total = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM charges WHERE ${clause.sql}`, clause.params);
  return { rows, count: total?.n ?? 0 };
}

/**
 * Adds a refund to what a charge has refunded unless the total would pass the charge: one
 * conditional UPDATE, so concurrent refunds of one charge can never exceed it.
 */
export function addRefunded(tx: Tx, id: number, amountMinor: number): Promise<ChargeRow | undefined> {
  return tx.get<ChargeRow>(`UPDATE charges SET refunded_minor = refunded_minor + ? WHERE id = ? AND refunded_minor + ? <= amount_minor RETURNING ${CHARGE_COLUMNS}`, [amountMinor, id, amountMinor]);
}

export interface ChargeRefundRow {
  id: number;
  charge_id: number;
  amount_minor: number;
  reason: string;
  ledger_transaction_id: number;
  created_by: string;
  created_at_ms: number;
}

const REFUND_COLUMNS = 'id, charge_id, amount_minor, reason, ledger_transaction_id, created_by, created_at_ms';

export async function insertChargeRefund(tx: Tx, refund: Omit<ChargeRefundRow, 'id'>): Promise<ChargeRefundRow> {
  const row = await tx.get<ChargeRefundRow>(
    `INSERT INTO charge_refunds (charge_id, amount_minor, reason, ledger_transaction_id, created_by, created_at_ms) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${REFUND_COLUMNS}`,
    [refund.charge_id, refund.amount_minor, refund.reason, refund.ledger_transaction_id, refund.created_by, refund.created_at_ms],
  );
  if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
  return row;
}

export function listChargeRefunds(q: ReadTx, chargeId: number): Promise<ChargeRefundRow[]> {
  return q.all<ChargeRefundRow>(`SELECT ${REFUND_COLUMNS} FROM charge_refunds WHERE charge_id = ? ORDER BY id`, [chargeId]);
}


export interface HoldRow {
  id: number;
  user_id: number;
  reference: string;
  amount_minor: number;
  currency: string;
  state: HoldState;
  description: string;
  captured_minor: number | null;
  charge_id: number | null;
  created_by: string;
  placed_by_user_id: number | null;
  created_at_ms: number;
  updated_at_ms: number;
  expires_at_ms: number;
}

const HOLD_COLUMNS = 'id, user_id, reference, amount_minor, currency, state, description, captured_minor, charge_id, created_by, placed_by_user_id, created_at_ms, updated_at_ms, expires_at_ms';

export type NewHold = Pick<HoldRow, 'user_id' | 'reference' | 'amount_minor' | 'currency' | 'description' | 'created_by' | 'placed_by_user_id' | 'created_at_ms' | 'expires_at_ms'>;

export async function insertHold(tx: Tx, hold: NewHold): Promise<HoldRow> {
  const row = await tx.get<HoldRow>(
    `INSERT INTO holds (user_id, reference, amount_minor, currency, state, description, created_by, placed_by_user_id, created_at_ms, updated_at_ms, expires_at_ms)
     VALUES (?, ?, ?, ?, 'held', ?, ?, ?, ?, ?, ?) RETURNING ${HOLD_COLUMNS}`,
    [hold.user_id, hold.reference, hold.amount_minor, hold.currency, hold.description, hold.created_by, hold.placed_by_user_id, hold.created_at_ms, hold.created_at_ms, hold.expires_at_ms],
  );
  if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
  return row;
}

export function getHold(q: ReadTx, id: number): Promise<HoldRow | undefined> {
  return q.get<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM holds WHERE id = ?`, [id]);
}

/**
 * Captures a live hold: all of it (`capturedMinor` null) or a part, never more than it holds. One
 * conditional UPDATE, like closeHold, so a capture racing a release or an expiry either wins or finds
 * the hold changed.
 */
export function captureHold(tx: Tx, id: number, capturedMinor: number | null, atMs: number): Promise<HoldRow | undefined> {
  return tx.get<HoldRow>(
    `UPDATE holds SET state = 'captured', captured_minor = COALESCE(?, amount_minor), updated_at_ms = ?
     WHERE id = ? AND state = 'held' AND expires_at_ms > ? AND COALESCE(?, amount_minor) <= amount_minor RETURNING ${HOLD_COLUMNS}`,
    [capturedMinor, atMs, id, atMs, capturedMinor],
  );
}

/**
 * Releases a live hold, or expires an overdue one. One conditional UPDATE: of a capture, a release
 * and an expiry racing, exactly one changes the hold.
 */
export function closeHold(tx: Tx, id: number, to: 'released' | 'expired', atMs: number): Promise<HoldRow | undefined> {
  const live = to === 'expired' ? 'expires_at_ms <= ?' : 'expires_at_ms > ?';
  return tx.get<HoldRow>(`UPDATE holds SET state = ?, updated_at_ms = ? WHERE id = ? AND state = 'held' AND ${live} RETURNING ${HOLD_COLUMNS}`, [to, atMs, id, atMs]);
}

/** The charge a capture posted, written beside the hold at the end of the capture's transaction. */
export function queueHoldCharge(tx: Tx, holdId: number, chargeId: number): void {
  tx.later('UPDATE holds SET charge_id = ? WHERE id = ?', [chargeId, holdId]);
}

export async function listHolds(q: ReadTx, filter: { userId?: number; reference?: string; state?: HoldState }, limit: number, start: number): Promise<{ rows: HoldRow[]; count: number }> {
  const clause = where([
    ['user_id = ?', filter.userId],
    ['reference = ?', filter.reference],
    ['state = ?', filter.state],
  ]);
  const rows = await q.all<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM holds WHERE ${clause.sql} ORDER BY id DESC LIMIT ? OFFSET ?`, [...clause.params, limit, start]);
  const total = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM holds WHERE ${clause.sql}`, clause.params);
  return { rows, count: total?.n ?? 0 };
}

/** One account's holds that are past their expiry and not yet expired by the sweeper. */
export function overdueHoldsOf(q: ReadTx, userId: number, reference: string, nowMs: number): Promise<{ id: number }[]> {
  return q.all("SELECT id FROM holds WHERE user_id = ? AND reference = ? AND state = 'held' AND expires_at_ms <= ? ORDER BY id", [userId, reference, nowMs]);
}

export async function countHeld(q: ReadTx): Promise<number> {
  return (await q.get<{ n: number }>("SELECT COUNT(*) AS n FROM holds WHERE state = 'held'"))?.n ?? 0;
}

export function overdueHolds(q: ReadTx, nowMs: number, limit: number): Promise<{ id: number }[]> {
  return q.all("SELECT id FROM holds WHERE state = 'held' AND expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?", [nowMs, limit]);
}

export interface TransferRow {
  id: number;
  from_user_id: number;
  from_reference: string;
  to_user_id: number;
  to_reference: string;
  amount_minor: number;
  currency: string;
  description: string;
  ledger_transaction_id: number;
  created_by: string;
  created_at_ms: number;
}

const TRANSFER_COLUMNS = 'id, from_user_id, from_reference, to_user_id, to_reference, amount_minor, currency, description, ledger_transaction_id, created_by, created_at_ms';

export async function insertTransfer(tx: Tx, transfer: Omit<TransferRow, 'id'>): Promise<TransferRow> {
  const row = await tx.get<TransferRow>(
    `INSERT INTO transfers (from_user_id, from_reference, to_user_id, to_reference, amount_minor, currency, description, ledger_transaction_id, created_by, created_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${TRANSFER_COLUMNS}`,
    [transfer.from_user_id, transfer.from_reference, transfer.to_user_id, transfer.to_reference, transfer.amount_minor, transfer.currency, transfer.description, transfer.ledger_transaction_id, transfer.created_by, transfer.created_at_ms],
  );
  if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
  return row;
}

// ---- verification ----------------------------------------------------------------------------

/** Charges, refunds and transfers whose ledger transaction is missing or moved another amount. */
export function unpostedSpending(q: ReadTx): Promise<{ what: string; id: number }[]> {
  return q.all(
    `SELECT 'charge' AS what, c.id FROM charges c LEFT JOIN ledger_transactions t ON t.id = c.ledger_transaction_id AND t.kind = 'charge'
       WHERE t.id IS NULL OR c.amount_minor <> (SELECT -SUM(p.amount_minor) FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE p.transaction_id = c.ledger_transaction_id AND a.user_id IS NOT NULL)
     UNION ALL
     SELECT 'refund of a charge' AS what, r.id FROM charge_refunds r LEFT JOIN ledger_transactions t ON t.id = r.ledger_transaction_id AND t.kind = 'chargeRefund'
       WHERE t.id IS NULL
     UNION ALL
     SELECT 'charge refunded' AS what, c.id FROM charges c
       WHERE c.refunded_minor <> COALESCE((SELECT SUM(r.amount_minor) FROM charge_refunds r WHERE r.charge_id = c.id), 0)
     UNION ALL
     SELECT 'transfer' AS what, x.id FROM transfers x LEFT JOIN ledger_transactions t ON t.id = x.ledger_transaction_id AND t.kind = 'transfer'
       WHERE t.id IS NULL`,
  );
}

// SQL of vouchers. Codes exist here only as keyed hashes (code_key); a voucher moves
// available → reserved (by one payment) → used, or back to available when that payment is
// rolled back or expires. Every move is a conditional update, so one code is redeemed once.
import type { ReadTx, Tx } from '../db/index.js';

export interface BatchRow {
  id: number;
  quantity: number;
  value_minor: number;
  currency: string;
  valid_until_ms: number;
  prefix: string;
  description: string;
  created_by: string;
  created_at_ms: number;
  expired_at_ms: number | null;
  redeemed: number;
  reserved: number;
}

const BATCH_SELECT = `SELECT b.id, b.quantity, b.value_minor, b.currency, b.valid_until_ms, b.prefix, b.description, b.created_by, b.created_at_ms, b.expired_at_ms,
    (SELECT COUNT(*) FROM vouchers v WHERE v.batch_id = b.id AND v.state = 'used') AS redeemed,
    (SELECT COUNT(*) FROM vouchers v WHERE v.batch_id = b.id AND v.state = 'reserved') AS reserved
  FROM voucher_batches b`;

export interface NewBatch {
  quantity: number;
  valueMinor: number;
  currency: string;
  validUntilMs: number;
  prefix: string;
  description: string;
  createdBy: string;
}

export async function insertBatch(tx: Tx, batch: NewBatch, nowMs: number): Promise<number> {
  const row = await tx.get<{ id: number }>(
    `INSERT INTO voucher_batches (quantity, value_minor, currency, valid_until_ms, prefix, description, created_by, created_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [batch.quantity, batch.valueMinor, batch.currency, batch.validUntilMs, batch.prefix, batch.description, batch.createdBy, nowMs],
  );
  if (row === undefined) throw new Error('INSERT … RETURNING gave no row');
  return row.id;
}

/** Rows per INSERT: keeps every statement under both engines' parameter limits. */
const INSERT_CHUNK = 500;

export async function insertVouchers(tx: Tx, batchId: number, codeKeys: readonly string[]): Promise<void> {
  for (let i = 0; i < codeKeys.length; i += INSERT_CHUNK) {
    const chunk = codeKeys.slice(i, i + INSERT_CHUNK);
    await tx.run(
      `INSERT INTO vouchers (batch_id, code_key, state) VALUES ${chunk.map(() => "(?, ?, 'available')").join(', ')}`,
      chunk.flatMap((key) => [batchId, key]),
    );
  }
}

export function getBatch(q: ReadTx, id: number): Promise<BatchRow | undefined> {
  return q.get<BatchRow>(`${BATCH_SELECT} WHERE b.id = ?`, [id]);
}

export async function listBatches(q: ReadTx, limit: number, start: number): Promise<{ rows: BatchRow[]; count: number }> {
  const rows = await q.all<BatchRow>(`${BATCH_SELECT} ORDER BY b.id LIMIT ? OFFSET ?`, [limit, start]);
  const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM voucher_batches');
  return { rows, count: total?.n ?? 0 };
}

export async function expireBatch(tx: Tx, id: number, nowMs: number): Promise<boolean> {
  return (await tx.run('UPDATE voucher_batches SET expired_at_ms = ? WHERE id = ? AND expired_at_ms IS NULL', [nowMs, id])).changes === 1;
}

export interface VoucherRow {
  id: number;
  batch_id: number;
  state: 'available' | 'reserved' | 'used';
  payment_id: number | null;
  value_minor: number;
  currency: string;
  valid_until_ms: number;
  expired_at_ms: number | null;
}

export function findVoucher(q: ReadTx, codeKey: string): Promise<VoucherRow | undefined> {
  return q.get<VoucherRow>(
    `SELECT v.id, v.batch_id, v.state, v.payment_id, b.value_minor, b.currency, b.valid_until_ms, b.expired_at_ms
     FROM vouchers v JOIN voucher_batches b ON b.id = v.batch_id WHERE v.code_key = ?`,
    [codeKey],
  );
}

export function getVoucher(q: ReadTx, id: number): Promise<VoucherRow | undefined> {
  return q.get<VoucherRow>(
    `SELECT v.id, v.batch_id, v.state, v.payment_id, b.value_minor, b.currency, b.valid_until_ms, b.expired_at_ms
     FROM vouchers v JOIN voucher_batches b ON b.id = v.batch_id WHERE v.id = ?`,
    [id],
  );
}

/**
 * The voucher's batch is neither expired by hand nor past its date; `lock` (Dialect.forShare) holds
 * it so until the transaction ends, where a batch expired meanwhile must not see its voucher used.
 */
function liveBatch(lock = ''): string {
  return `batch_id IN (SELECT id FROM voucher_batches WHERE expired_at_ms IS NULL AND valid_until_ms > ?${lock})`;
}

export async function reserve(tx: Tx, voucherId: number, paymentId: number, nowMs: number): Promise<boolean> {
  const result = await tx.run(`UPDATE vouchers SET state = 'reserved', payment_id = ? WHERE id = ? AND state = 'available' AND ${liveBatch()}`, [paymentId, voucherId, nowMs]);
  return result.changes === 1;
}

/**
 * Queues the reserved voucher's use; the unit fails with `otherwise` when it is not reserved in a
 * live batch. The batch's row is share-locked: an expiry running meanwhile waits for this commit, or
 * this use waits for the expiry and then finds the batch expired (a reservation needs no lock: its
 * use is checked here).
 */
export function queueMarkUsed(tx: Tx, paymentId: number, nowMs: number, otherwise: Error): void {
  tx.laterOne(`UPDATE vouchers SET state = 'used', used_at_ms = ? WHERE payment_id = ? AND state = 'reserved' AND ${liveBatch(tx.dialect.forShare)}`, [nowMs, paymentId, nowMs], otherwise);
}

export async function release(tx: Tx, paymentId: number): Promise<void> {
  await tx.run("UPDATE vouchers SET state = 'available', payment_id = NULL WHERE payment_id = ? AND state = 'reserved'", [paymentId]);
}


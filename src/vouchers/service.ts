// Voucher batches: generation (codes shown once, stored as keyed hashes), listing with counts,
// expiry; and the lookups the `voucher` recharge provider needs.
import { recordAudit } from '../audit.js';
import { actorLabel, type Actor } from '../auth/principal.js';
import type { Hasher } from '../auth/hashing.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { toMinor } from '../money.js';

import { canonicalCode, newCode } from './codes.js';
import * as store from './store.js';

export const MAX_BATCH_QUANTITY = 100_000;

export interface GenerateInput {
  quantity: number;
  value: unknown;
  validUntil: string;
  prefix?: string;
  description?: string;
}

export interface BatchStats {
  batch: store.BatchRow;
  issued: number;
  redeemed: number;
  reserved: number;
  expired: number;
  outstandingMinor: number;
  isExpired: boolean;
}

export class VoucherService {
  constructor(
    private readonly db: Db,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    readonly currency: string,
  ) {}

  /** Generates a batch; the codes are returned this once and never stored in the clear. */
  async generate(input: GenerateInput, actor: Actor): Promise<{ stats: BatchStats; codes: string[] }> {
    if (!Number.isSafeInteger(input.quantity) || input.quantity < 1 || input.quantity > MAX_BATCH_QUANTITY) {
      throw invalid(`quantity must be 1–${MAX_BATCH_QUANTITY}`, [{ field: 'quantity', problem: `must be a whole number from 1 to ${MAX_BATCH_QUANTITY}` }]);
    }
    const valueMinor = toMinor(input.value, this.currency, 'value');
    if (valueMinor <= 0) throw invalid('value must be greater than zero', [{ field: 'value', problem: 'must be greater than zero' }]);
    const validUntilMs = parseValidUntil(input.validUntil);
    if (validUntilMs <= this.clock.nowMs()) throw invalid('validUntil must be in the future', [{ field: 'validUntil', problem: 'must be in the future' }]);
    const prefix = (input.prefix ?? '').toUpperCase();
    const codes = Array.from({ length: input.quantity }, () => newCode(prefix));
    const keys = codes.map((code) => this.hasher.keyed('voucher', canonicalCode(code) ?? ''));
    const id = await this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const batchId = await store.insertBatch(tx, { quantity: input.quantity, valueMinor, currency: this.currency, validUntilMs, prefix, description: input.description ?? '', createdBy: actorLabel(actor) }, now);
      await store.insertVouchers(tx, batchId, keys);
      await recordAudit(tx, actor, { action: 'voucher.generate', subject: `voucherBatch:${batchId}`, detail: { quantity: input.quantity, valueMinor } }, now);
      return batchId;
    });
    return { stats: await this.batch(id), codes };
  }

  async batch(id: number): Promise<BatchStats> {
    const row = await this.db.read((q) => store.getBatch(q, id));
    if (row === undefined) throw notFound(`voucher batch ${id} not found`);
    return this.stats(row);
  }

  async batches(limit = 100, start = 0): Promise<{ batches: BatchStats[]; count: number }> {
    const { rows, count } = await this.db.read((q) => store.listBatches(q, limit, start));
    return { batches: rows.map((row) => this.stats(row)), count };
  }

  /** Expires a whole batch now: its unused vouchers can no longer be reserved or committed. */
  async expire(id: number, actor: Actor): Promise<BatchStats> {
    const done = await this.db.write(async (tx) => {
      const now = this.clock.nowMs();
      const changed = await store.expireBatch(tx, id, now);
      if (changed) await recordAudit(tx, actor, { action: 'voucher.expireBatch', subject: `voucherBatch:${id}` }, now);
      return changed;
    });
    const stats = await this.batch(id);
    if (!done) throw conflict(`voucher batch ${id} is already expired`);
    return stats;
  }

  /** The voucher a typed code names, or undefined (for any text that is not a live code). */
  async lookup(typed: string): Promise<store.VoucherRow | undefined> {
    const canonical = canonicalCode(typed);
    if (canonical === undefined) return undefined;
    return this.db.read((q) => store.findVoucher(q, this.hasher.keyed('voucher', canonical)));
  }

  isExpired(voucher: { valid_until_ms: number; expired_at_ms: number | null }): boolean {
    return voucher.expired_at_ms !== null || voucher.valid_until_ms <= this.clock.nowMs();
  }

  private stats(batch: store.BatchRow): BatchStats {
    const isExpired = this.isExpired(batch);
    const redeemed = batch.redeemed;
    const expired = isExpired ? batch.quantity - redeemed : 0;
    return { batch, issued: batch.quantity, redeemed, reserved: isExpired ? 0 : batch.reserved, expired, outstandingMinor: (batch.quantity - redeemed - expired) * batch.value_minor, isExpired };
  }
}

/** A date (valid through that whole day, UTC) or a date-time. */
function parseValidUntil(text: string): number {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const ms = Date.parse(dateOnly ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw invalid('validUntil must be a date or date-time', [{ field: 'validUntil', problem: 'must be like 2027-06-30 or 2027-06-30T18:00:00Z' }]);
  return dateOnly ? ms + 86_400_000 : ms;
}

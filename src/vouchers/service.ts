// Voucher batches, read side: batches with their counts, and the lookup the `voucher` recharge
// provider needs. Generation and expiry are commands (commands.ts).
import type { Hasher } from '../auth/hashing.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import { notFound } from '../errors.js';

import { canonicalCode } from './codes.js';
import { isExpired } from './redeemable.js';
import * as store from './store.js';

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
  ) {}

  async batch(id: number): Promise<BatchStats> {
    const row = await this.db.read((q) => store.getBatch(q, id));
    if (row === undefined) throw notFound(`voucher batch ${id} not found`);
    return this.stats(row);
  }

  async batches(limit = 100, start = 0): Promise<{ batches: BatchStats[]; count: number }> {
    const { rows, count } = await this.db.read((q) => store.listBatches(q, limit, start));
    return { batches: rows.map((row) => this.stats(row)), count };
  }

  /** The voucher a typed code names, or undefined (for any text that is not a live code). */
  async lookup(typed: string): Promise<store.VoucherRow | undefined> {
    const canonical = canonicalCode(typed);
    if (canonical === undefined) return undefined;
    return this.db.read((q) => store.findVoucher(q, this.hasher.keyed('voucher', canonical)));
  }

  private stats(batch: store.BatchRow): BatchStats {
    const expiredNow = isExpired(batch, this.clock.nowMs());
    const redeemed = batch.redeemed;
    const expired = expiredNow ? batch.quantity - redeemed : 0;
    return { batch, issued: batch.quantity, redeemed, reserved: expiredNow ? 0 : batch.reserved, expired, outstandingMinor: (batch.quantity - redeemed - expired) * batch.value_minor, isExpired: expiredNow };
  }
}

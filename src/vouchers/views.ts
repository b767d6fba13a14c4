// Voucher batches as the API and the command line show them; the codes as CSV.
import { stringify } from 'csv-stringify/sync';
import type { Static } from 'typebox';

import { SAFE_CSV_CAST } from '../csv.js';
import { fromMinor } from '../money.js';

import type { BatchSchema } from './schemas.js';
import type { BatchStats } from './service.js';

export function batchView(stats: BatchStats): Static<typeof BatchSchema> {
  const { batch } = stats;
  return {
    id: batch.id,
    value: fromMinor(batch.value_minor, batch.currency),
    currency: batch.currency,
    validUntil: new Date(batch.valid_until_ms).toISOString(),
    prefix: batch.prefix,
    description: batch.description,
    created: new Date(batch.created_at_ms).toISOString(),
    createdBy: batch.created_by,
    expired: stats.isExpired,
    issued: stats.issued,
    redeemed: stats.redeemed,
    reserved: stats.reserved,
    expiredCount: stats.expired,
    valueOutstanding: fromMinor(stats.outstandingMinor, batch.currency),
  };
}

/** The codes as CSV: one row a voucher, for printing or mail merge. */
export function codesCsv(stats: BatchStats, codes: readonly string[]): string {
  const view = batchView(stats);
  return stringify(codes.map((code) => [code, view.value, view.currency, view.validUntil, view.id]), { header: true, columns: ['code', 'value', 'currency', 'validUntil', 'batch'], cast: SAFE_CSV_CAST });
}

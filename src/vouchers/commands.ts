// Voucher batches as commands: generation (codes made and hashed before the transaction, shown
// once, stored only as keyed hashes) and expiry of a whole batch.
import { actorHasRight, actorLabel } from '../auth/principal.js';
import type { Hasher } from '../auth/hashing.js';
import type { Command, CommandDefinition, Effects } from '../commands/types.js';
import type { ReadTx, Tx } from '../db/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { fromMinor, MAX_TOTAL_MINOR, moneyText, positiveMinor } from '../money.js';
import { parseDateTime } from '../time.js';

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

declare module '../commands/types.js' {
  interface CommandMap {
    'voucher.generate': { input: GenerateInput; output: { batchId: number; codes: string[] } };
    'voucher.expireBatch': { input: { batchId: number }; output: { batchId: number } };
  }
}

interface PreparedBatch {
  valueMinor: number;
  validUntilMs: number;
  prefix: string;
  codes: string[];
  codeKeys: string[];
}

async function authorizeVouchers(_q: ReadTx, { actor }: Command<'voucher.generate' | 'voucher.expireBatch'>): Promise<void> {
  if (!actorHasRight(actor, 'manageVouchers')) throw forbidden('this needs the right "manageVouchers"');
}

export function voucherCommands(deps: { hasher: Hasher; currency: string; maxAmountMinor: number }): {
  generate: CommandDefinition<'voucher.generate', PreparedBatch>;
  expireBatch: CommandDefinition<'voucher.expireBatch'>;
} {
  return {
    generate: {
      name: 'voucher.generate',
      idempotent: false,
      prepare: async ({ input, atMs }) => {
        if (!Number.isSafeInteger(input.quantity) || input.quantity < 1 || input.quantity > MAX_BATCH_QUANTITY) {
          throw invalid(`quantity must be 1–${MAX_BATCH_QUANTITY}`, [{ field: 'quantity', problem: `must be a whole number from 1 to ${MAX_BATCH_QUANTITY}` }]);
        }
        const valueMinor = positiveMinor(input.value, deps.currency, 'value', deps.maxAmountMinor);
        assertBatchTotal(input.quantity, valueMinor, deps.currency);
        const validUntilMs = parseValidUntil(input.validUntil);
        if (validUntilMs <= atMs) throw invalid('validUntil must be in the future', [{ field: 'validUntil', problem: 'must be in the future' }]);
        const prefix = (input.prefix ?? '').toUpperCase();
        const codes = Array.from({ length: input.quantity }, () => newCode(prefix));
        const codeKeys = codes.map((code) => deps.hasher.keyed('voucher', canonicalCode(code) ?? ''));
        return { valueMinor, validUntilMs, prefix, codes, codeKeys };
      },
      authorize: authorizeVouchers,
      run: async (tx: Tx, { input, actor, atMs }, batch: PreparedBatch, effects: Effects) => {
        const batchId = await store.insertBatch(
          tx,
          { quantity: input.quantity, valueMinor: batch.valueMinor, currency: deps.currency, validUntilMs: batch.validUntilMs, prefix: batch.prefix, description: input.description ?? '', createdBy: actorLabel(actor) },
          atMs,
        );
        await store.insertVouchers(tx, batchId, batch.codeKeys);
        effects.about(`voucherBatch:${batchId}`, { quantity: input.quantity, valueMinor: batch.valueMinor });
        effects.emit('voucherBatch.created', `voucherBatch:${batchId}`, {
          id: batchId,
          quantity: input.quantity,
          value: fromMinor(batch.valueMinor, deps.currency),
          currency: deps.currency,
          validUntil: new Date(batch.validUntilMs).toISOString(),
          prefix: batch.prefix,
          description: input.description ?? '',
        });
        return { batchId, codes: batch.codes };
      },
    },
    expireBatch: {
      name: 'voucher.expireBatch',
      authorize: authorizeVouchers,
      run: async (tx, { input, atMs }, _prepared, effects) => {
        if (!(await store.expireBatch(tx, input.batchId, atMs))) {
          if ((await store.getBatch(tx, input.batchId)) === undefined) throw notFound(`voucher batch ${input.batchId} not found`);
          throw conflict(`voucher batch ${input.batchId} is already expired`);
        }
        effects.about(`voucherBatch:${input.batchId}`);
        effects.emit('voucherBatch.expired', `voucherBatch:${input.batchId}`, { id: input.batchId, expired: new Date(atMs).toISOString() });
        return { batchId: input.batchId };
      },
    },
  };
}

/** A batch's whole value is a sum the books must hold: what it owes until redeemed. Checked before any code is made. */
function assertBatchTotal(quantity: number, valueMinor: number, currency: string): void {
  if (quantity * valueMinor <= MAX_TOTAL_MINOR) return;
  const limit = moneyText(MAX_TOTAL_MINOR, currency);
  throw invalid(`quantity × value is more than ${limit}, the most one batch may be worth`, [{ field: 'value', problem: `quantity × value at most ${limit}` }]);
}

/** A date (valid through that whole day, UTC) or a date-time, read as every other date is. */
function parseValidUntil(text: string): number {
  const ms = parseDateTime(text, 'validUntil');
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? ms + 86_400_000 : ms;
}

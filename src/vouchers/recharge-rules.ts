// Voucher payments inside their transactions: create reserves the voucher, commit marks it used (in
// the transaction that credits the person), rollback and expiry release it.
import type { PaymentRow, ProviderRules } from '../recharge/providers.js';
import { conflict } from '../errors.js';
import { fromMinor } from '../money.js';

import { assertRedeemable } from './redeemable.js';
import * as store from './store.js';

interface VoucherParams {
  voucherId: number;
  batchId: number;
}

export const voucherPaymentRules: ProviderRules = {
  selfService: true,
  paramsChangeable: false,

  async onCreate(tx, payment, _hold, atMs) {
    const { voucherId } = voucherParams(payment);
    if (await store.reserve(tx, voucherId, payment.id, atMs)) return;
    // Lost a race (or the batch expired meanwhile): say why, and the payment is not created.
    const voucher = await store.getVoucher(tx, voucherId);
    if (voucher !== undefined) assertRedeemable(voucher, atMs);
    throw conflict('the voucher cannot be reserved now');
  },

  async onCommit(tx, payment, atMs, effects) {
    store.queueMarkUsed(tx, payment.id, atMs, conflict('the voucher has expired; the payment cannot be committed'));
    const { voucherId, batchId } = voucherParams(payment);
    effects.audit('voucher.redeem', `voucher:${voucherId}`, { batchId, paymentId: payment.id, userId: payment.user_id });
    effects.emit('voucher.redeemed', `voucher:${voucherId}`, { voucherId, batchId, paymentId: payment.id, userId: payment.user_id, value: fromMinor(payment.amount_minor, payment.currency), currency: payment.currency });
  },

  async onRelease(tx, payment) {
    await store.release(tx, payment.id);
  },
};

function voucherParams(payment: PaymentRow): VoucherParams {
  const params = JSON.parse(payment.params) as Partial<VoucherParams>;
  if (typeof params.voucherId !== 'number' || typeof params.batchId !== 'number') throw new Error(`payment ${payment.id} has no voucher`);
  return { voucherId: params.voucherId, batchId: params.batchId };
}

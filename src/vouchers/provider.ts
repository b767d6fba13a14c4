// The `voucher` recharge provider: create reserves the voucher and takes its value as the amount,
// commit credits the person and marks the voucher used in the same transaction, rollback and
// expiry release it. Unknown codes count against a guessing limit per user and per client.
import { recordAudit } from '../audit.js';
import type { FailureLimiter } from '../auth/failure-limiter.js';
import type { Actor } from '../auth/principal.js';
import type { Tx } from '../db/index.js';
import { conflict, invalid, rateLimited } from '../errors.js';
import type { PrepareContext, PreparedPayment, RechargeProvider } from '../recharge/providers.js';
import type { PaymentRow } from '../recharge/store.js';

import type { VoucherService } from './service.js';
import * as store from './store.js';

interface VoucherParams {
  voucherId: number;
  batchId: number;
}

export class VoucherProvider implements RechargeProvider {
  readonly reference = 'voucher';
  readonly name = 'Voucher';
  readonly description = 'Prepaid voucher codes; the amount is the voucher value. People may redeem for themselves.';
  readonly params = ['code'];
  readonly selfService = true;
  readonly paramsChangeable = false;

  constructor(
    private readonly vouchers: VoucherService,
    private readonly guesses: FailureLimiter,
  ) {}

  async prepare(params: Record<string, unknown>, context: PrepareContext): Promise<PreparedPayment> {
    const code = params.code;
    if (typeof code !== 'string' || code.length === 0 || code.length > 128) {
      throw invalid('params.code is required', [{ field: 'params.code', problem: 'must be the voucher code' }]);
    }
    const keys = [`user:${context.principal?.userId ?? context.userId}`, ...(context.principal === null ? [] : [`client:${context.principal.clientId}`])];
    const waitSeconds = this.guesses.retryAfterSeconds(keys);
    if (waitSeconds > 0) throw rateLimited('too many wrong voucher codes; try again later', waitSeconds);
    const voucher = await this.vouchers.lookup(code);
    if (voucher === undefined) {
      this.guesses.recordFailure(keys);
      throw invalid('no voucher has this code', [{ field: 'params.code', problem: 'is not a voucher code' }]);
    }
    this.assertRedeemable(voucher);
    const stored: VoucherParams = { voucherId: voucher.id, batchId: voucher.batch_id };
    return { amountMinor: voucher.value_minor, params: { ...stored } };
  }

  async onCreate(tx: Tx, payment: PaymentRow, nowMs: number): Promise<void> {
    const { voucherId } = voucherParams(payment);
    if (await store.reserve(tx, voucherId, payment.id, nowMs)) return;
    // Lost a race (or the batch expired meanwhile): say why, and the payment is not created.
    const voucher = await store.getVoucher(tx, voucherId);
    if (voucher !== undefined) this.assertRedeemable(voucher);
    throw conflict('the voucher cannot be reserved now');
  }

  async onCommit(tx: Tx, payment: PaymentRow, nowMs: number, actor: Actor): Promise<void> {
    if (!(await store.markUsed(tx, payment.id, nowMs))) throw conflict('the voucher has expired; the payment cannot be committed');
    const { voucherId, batchId } = voucherParams(payment);
    await recordAudit(tx, actor, { action: 'voucher.redeem', subject: `voucher:${voucherId}`, detail: { batchId, paymentId: payment.id, userId: payment.user_id } }, nowMs);
  }

  async onRelease(tx: Tx, payment: PaymentRow): Promise<void> {
    await store.release(tx, payment.id);
  }

  private assertRedeemable(voucher: store.VoucherRow): void {
    if (voucher.state === 'used') throw conflict('this voucher has already been used');
    if (this.vouchers.isExpired(voucher)) throw conflict('this voucher has expired');
    if (voucher.state === 'reserved') throw conflict('this voucher is reserved by another payment; commit or roll that back first');
  }
}

function voucherParams(payment: PaymentRow): VoucherParams {
  const params = JSON.parse(payment.params) as Partial<VoucherParams>;
  if (typeof params.voucherId !== 'number' || typeof params.batchId !== 'number') throw new Error(`payment ${payment.id} has no voucher`);
  return { voucherId: params.voucherId, batchId: params.batchId };
}

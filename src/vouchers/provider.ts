// The `voucher` recharge provider, before the transaction: finds the voucher a typed code names and
// takes its value as the amount. Unknown codes count against a guessing limit per user and per
// client. What happens inside the payment's transactions is recharge-rules.ts.
import type { FailureLimiter } from '../auth/failure-limiter.js';
import { invalid, rateLimited } from '../errors.js';
import type { PrepareContext, PreparedPayment, RechargeProvider } from '../recharge/providers.js';

import { assertRedeemable } from './redeemable.js';
import type { VoucherService } from './service.js';

export class VoucherProvider implements RechargeProvider {
  readonly reference = 'voucher';
  readonly name = 'Voucher';
  readonly description = 'Prepaid voucher codes; the amount is the voucher value. People may redeem for themselves.';
  readonly params = ['code'];

  constructor(
    private readonly vouchers: VoucherService,
    private readonly guesses: FailureLimiter,
  ) {}

  async prepare(params: Record<string, unknown>, context: PrepareContext): Promise<PreparedPayment> {
    const code = params.code;
    if (typeof code !== 'string' || code.length === 0 || code.length > 128) {
      throw invalid('params.code is required', [{ field: 'params.code', problem: 'must be the voucher code' }]);
    }
    const actor = context.actor;
    const asker = actor.kind === 'person' || actor.kind === 'client' ? actor : null;
    const keys = [`user:${asker?.userId ?? context.userId}`, ...(asker === null ? [] : [`client:${asker.clientId}`])];
    const waitSeconds = this.guesses.retryAfterSeconds(keys);
    if (waitSeconds > 0) throw rateLimited('too many wrong voucher codes; try again later', waitSeconds);
    const voucher = await this.vouchers.lookup(code);
    if (voucher === undefined) {
      this.guesses.recordFailure(keys);
      throw invalid('no voucher has this code', [{ field: 'params.code', problem: 'is not a voucher code' }]);
    }
    assertRedeemable(voucher, context.atMs);
    return { amountMinor: voucher.value_minor, params: { voucherId: voucher.id, batchId: voucher.batch_id } };
  }
}

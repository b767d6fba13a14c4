// The `voucher` recharge provider, before the transaction: finds the voucher a typed code names and
// takes its value as the amount. Unknown codes count against a guessing limit per person. What
// happens inside the payment's transactions is recharge-rules.ts.
import type { FailureLimiter } from '../auth/failure-limiter.js';
import { invalid } from '../errors.js';
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
    const keys = guessKeys(context);
    const voucher = await this.guesses.attempt(keys, 'too many wrong voucher codes; try again later', () => this.vouchers.lookup(code), (found) => (found.ok && found.value === undefined ? keys : []));
    if (voucher === undefined) throw invalid('no voucher has this code', [{ field: 'params.code', problem: 'is not a voucher code' }]);
    assertRedeemable(voucher, context.atMs);
    return { amountMinor: voucher.value_minor, params: { voucherId: voucher.id, batchId: voucher.batch_id } };
  }

}

/**
 * Wrong codes count against the person to be credited and the person asking (when a person asks):
 * one person guessing waits, everyone else of the same client goes on redeeming.
 */
function guessKeys(context: PrepareContext): string[] {
  const asker = context.actor.kind === 'person' ? [`user:${context.actor.userId}`] : [];
  return [`user:${context.userId}`, ...asker];
}

// Buying credit through Purse's own gateway: the `card` and `mbway` recharge providers, before the
// transaction. Create authorizes (a decline is a 402, kept as a declined gateway payment, with no
// recharge payment behind it); what happens inside the payment's transactions is recharge-rules.ts.
import { invalid } from '../errors.js';
import { moneyText, positiveMinor } from '../money.js';
import type { PrepareContext, PreparedPayment, RechargeProvider } from '../recharge/providers.js';

import { authorize, type Authorization } from './authorization.js';
import { maskedNumber, type PaymentMethod } from './card.js';

export class GatewayRechargeProvider implements RechargeProvider {
  readonly params: readonly string[];

  constructor(
    readonly reference: 'card' | 'mbway',
    readonly name: string,
    readonly description: string,
    private readonly method: PaymentMethod,
  ) {
    this.params = method === 'credit_card' ? ['amount', 'card'] : ['amount', 'phone_number'];
  }

  prepare(params: Record<string, unknown>, context: PrepareContext): Promise<PreparedPayment> {
    if (params.amount === undefined) throw invalid('params.amount is required', [{ field: 'params.amount', problem: 'is required' }]);
    const amountMinor = positiveMinor(params.amount, context.currency, 'params.amount');
    if (context.maxAmountMinor !== undefined && amountMinor > context.maxAmountMinor) {
      const limit = moneyText(context.maxAmountMinor, context.currency);
      throw invalid(`params.amount is more than the self-service top-up limit of ${limit} per payment`, [{ field: 'params.amount', problem: `at most ${limit} per payment` }]);
    }
    const instrument = this.method === 'credit_card' ? params.card : params;
    if (typeof instrument !== 'object' || instrument === null) throw invalid('params.card is required', [{ field: 'params.card', problem: 'must be {number, name, expiration_month, expiration_year, cvv}' }]);
    const prefix = this.method === 'credit_card' ? 'params.card' : 'params';
    const auth = authorize(this.method, instrument as Record<string, unknown>, prefix, { amountMinor, currency: context.currency, atMs: context.atMs });
    const prepared: PreparedPayment = { amountMinor, params: publicParams(auth, params.amount), hold: auth };
    return Promise.resolve(auth.declineReason === null ? prepared : { ...prepared, declined: auth.declineReason });
  }
}

/** What the recharge payment keeps and shows: the masked card or the phone, and the gateway id. */
function publicParams(auth: Authorization, amount: unknown): Record<string, unknown> {
  const base = { amount, gatewayPaymentId: auth.paymentId };
  if (auth.card === null) return { ...base, phone_number: auth.phone };
  return { ...base, card: { number: maskedNumber(auth.card), name: auth.card.name, expiration_month: auth.card.expMonth, expiration_year: auth.card.expYear } };
}

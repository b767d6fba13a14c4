// Buying credit through Purse's own gateway: the `card` and `mbway` recharge providers.
// Create authorizes (a decline is a 402 and leaves no recharge payment behind), commit credits
// the person and marks the gateway payment as having funded credit, rollback or expiry voids it.
import { CLI_ACTOR, actorOf } from '../auth/principal.js';
import type { Tx } from '../db/index.js';
import { AppError, invalid } from '../errors.js';
import { toMinor } from '../money.js';
import type { PrepareContext, PreparedPayment, RechargeProvider } from '../recharge/providers.js';
import type { PaymentRow } from '../recharge/store.js';

import { maskedNumber, type PaymentMethod } from './card.js';
import type { Authorization, GatewayService } from './service.js';

export class GatewayRechargeProvider implements RechargeProvider {
  readonly params: readonly string[];
  readonly paramsChangeable = false;

  constructor(
    readonly reference: 'card' | 'mbway',
    readonly name: string,
    readonly description: string,
    private readonly method: PaymentMethod,
    private readonly gateway: GatewayService,
  ) {
    this.params = method === 'credit_card' ? ['amount', 'card'] : ['amount', 'phone_number'];
  }

  async prepare(params: Record<string, unknown>, context: PrepareContext): Promise<PreparedPayment> {
    if (params.amount === undefined) throw invalid('params.amount is required', [{ field: 'params.amount', problem: 'is required' }]);
    const amountMinor = toMinor(params.amount, context.currency, 'params.amount');
    if (amountMinor <= 0) throw invalid('params.amount must be greater than zero', [{ field: 'params.amount', problem: 'must be greater than zero' }]);
    const instrument = this.method === 'credit_card' ? params.card : params;
    if (typeof instrument !== 'object' || instrument === null) throw invalid('params.card is required', [{ field: 'params.card', problem: 'must be {number, name, expiration_month, expiration_year, cvv}' }]);
    const auth = this.gateway.authorize(this.method, instrument as Record<string, unknown>, this.method === 'credit_card' ? 'params.card' : 'params');
    if (auth.declineReason !== null) {
      await this.gateway.recordDeclined(auth, amountMinor, context.principal === null ? CLI_ACTOR : actorOf(context.principal));
      throw new AppError('paymentRequired', `the payment was declined: ${auth.declineReason}`, [{ field: 'params', problem: auth.declineReason }]);
    }
    return { amountMinor, params: publicParams(auth, params.amount), hold: auth };
  }

  async onCreate(tx: Tx, payment: PaymentRow, nowMs: number, hold: unknown): Promise<void> {
    if (!isAuthorization(hold)) throw new Error(`${this.reference} payment ${payment.id} was created without an authorization`);
    await this.gateway.insertAuthorized(tx, hold, payment.amount_minor, payment.id, nowMs);
  }

  onCommit(tx: Tx, payment: PaymentRow, nowMs: number): Promise<void> {
    return this.gateway.creditedBy(tx, payment, nowMs);
  }

  onRelease(tx: Tx, payment: PaymentRow, _reason: string, nowMs: number): Promise<void> {
    return this.gateway.releasedBy(tx, payment, nowMs);
  }
}

/** What the recharge payment keeps and shows: the masked card or the phone, and the gateway id. */
function publicParams(auth: Authorization, amount: unknown): Record<string, unknown> {
  const base = { amount, gatewayPaymentId: auth.paymentId };
  if (auth.card === null) return { ...base, phone_number: auth.phone };
  return { ...base, card: { number: maskedNumber(auth.card), name: auth.card.name, expiration_month: auth.card.expMonth, expiration_year: auth.card.expYear } };
}

function isAuthorization(value: unknown): value is Authorization {
  return typeof value === 'object' && value !== null && 'paymentId' in value && 'method' in value;
}

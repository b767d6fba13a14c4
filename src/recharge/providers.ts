// Recharge providers sit behind one interface in two halves. `RechargeProvider` runs before the
// transaction: it checks the params and says how much the payment is for (and may be slow or use
// services: a voucher lookup, a card check). `ProviderRules` run inside the command's transaction,
// as plain functions of it: reserve a voucher at create, mark it used at commit, release it at
// rollback or expiry. `external` is the first; vouchers, card and MB WAY plug in the same way.
import type { Actor } from '../auth/principal.js';
import type { Effects } from '../commands/types.js';
import type { Tx } from '../db/index.js';
import { invalid } from '../errors.js';
import { positiveMinor } from '../money.js';

import type { PaymentRow } from './store.js';

export type { PaymentRow };

export interface PreparedPayment {
  amountMinor: number;
  /** What is stored and returned as the payment's params: never a secret. */
  params: Record<string, unknown>;
  /** Plain data the provider's rules need at create and that is not stored with the payment (an authorization). */
  hold?: unknown;
  /** The provider refused up front (a declined card): no payment is created; `onDecline` records it. */
  declined?: string;
}

export type ReleaseReason = 'rolledBack' | 'expired';

/** Who a payment is for and who asks, for providers whose checks depend on it. */
export interface PrepareContext {
  currency: string;
  userId: number;
  actor: Actor;
  atMs: number;
  /** A person topping up for themselves may pay at most this much at once (card, MB WAY). */
  maxAmountMinor?: number;
}

/** The half that runs before the transaction. */
export interface RechargeProvider {
  readonly reference: string;
  readonly name: string;
  readonly description: string;
  /** Names of the params a payment takes, as GET /v3/rechargeProviders lists them. */
  readonly params: readonly string[];
  /** Checks the params and says how much the payment is for. */
  prepare(params: Record<string, unknown>, context: PrepareContext): Promise<PreparedPayment>;
}

/** The half that runs inside the payment's transactions, by provider reference. */
export interface ProviderRules {
  /** A person may create, commit and roll back payments for themselves without managePayments. */
  readonly selfService?: boolean;
  /**
   * Money from outside (card, MB WAY): a person topping up for themselves is held to the configured
   * limits per payment and per 24 hours. Vouchers are prepaid and need none.
   */
  readonly topUpLimited?: boolean;
  /** False when params pick something the payment holds (a voucher): then they cannot change. */
  readonly paramsChangeable?: boolean;
  /** In the transaction that creates the payment (reserve a voucher, store the authorization). */
  onCreate?(tx: Tx, payment: PaymentRow, hold: unknown, atMs: number, effects: Effects): Promise<void>;
  /** In the transaction of a create the provider declined: keeps the decline on record. */
  onDecline?(tx: Tx, prepared: PreparedPayment, atMs: number, effects: Effects): Promise<void>;
  /** In the commit transaction, after the person was credited (mark a voucher used). */
  onCommit?(tx: Tx, payment: PaymentRow, atMs: number, effects: Effects): Promise<void>;
  /** In the transaction that rolls the payment back or expires it (release a voucher). */
  onRelease?(tx: Tx, payment: PaymentRow, reason: ReleaseReason, atMs: number, effects: Effects): Promise<void>;
}

/** Money paid in through a system outside Purse; Purse only records it (MyQ X v3's `external` provider). */
export const externalProvider: RechargeProvider = {
  reference: 'external',
  name: 'External Payment Providers',
  description: 'Credit paid for outside Purse; the amount travels in params.amount.',
  params: ['amount'],
  prepare(params, { currency }) {
    if (params.amount === undefined) throw invalid('params.amount is required', [{ field: 'params.amount', problem: 'is required' }]);
    const amountMinor = positiveMinor(params.amount, currency, 'params.amount');
    return Promise.resolve({ amountMinor, params: { amount: params.amount } });
  },
};

// Recharge providers sit behind one interface: validate params → amount; then hooks inside the
// create, commit and release (rollback or expiry) transactions. `external` is the first; the
// voucher, card and MB WAY providers plug in the same way.
import type { Actor, Principal } from '../auth/principal.js';
import type { Tx } from '../db/index.js';
import { invalid } from '../errors.js';
import { toMinor } from '../money.js';

import type { PaymentRow } from './store.js';

export interface PreparedPayment {
  amountMinor: number;
  /** What is stored and returned as the payment's params: never a secret. */
  params: Record<string, unknown>;
  /** What the provider's onCreate needs and must not be stored with the payment (an authorization). */
  hold?: unknown;
}

export type ReleaseReason = 'rolledBack' | 'expired';

/** Who a payment is for and who asks, for providers whose checks depend on it. */
export interface PrepareContext {
  currency: string;
  userId: number;
  principal: Principal | null;
}

export interface RechargeProvider {
  readonly reference: string;
  readonly name: string;
  readonly description: string;
  /** Names of the params a payment takes, as GET /v3/rechargeProviders lists them. */
  readonly params: readonly string[];
  /** A person may create, commit and roll back payments for themselves without managePayments. */
  readonly selfService?: boolean;
  /** False when params pick something the payment holds (a voucher): then they cannot change. */
  readonly paramsChangeable?: boolean;
  /** Checks the params and says how much the payment is for; runs before any write. */
  prepare(params: Record<string, unknown>, context: PrepareContext): Promise<PreparedPayment>;
  /** Inside the transaction that creates the payment (e.g. reserve a voucher). */
  onCreate?(tx: Tx, payment: PaymentRow, nowMs: number, hold: unknown): Promise<void>;
  /** Inside the commit transaction, after the person was credited (e.g. mark a voucher used). */
  onCommit?(tx: Tx, payment: PaymentRow, nowMs: number, actor: Actor): Promise<void>;
  /** Inside the transaction that rolls the payment back or expires it (e.g. release a voucher). */
  onRelease?(tx: Tx, payment: PaymentRow, reason: ReleaseReason, nowMs: number): Promise<void>;
}

/** Money paid in through a system outside Purse; Purse only records it (spec file 001). */
export const externalProvider: RechargeProvider = {
  reference: 'external',
  name: 'External Payment Providers',
  description: 'Credit paid for outside Purse; the amount travels in params.amount.',
  params: ['amount'],
  prepare(params, { currency }) {
    if (params.amount === undefined) throw invalid('params.amount is required', [{ field: 'params.amount', problem: 'is required' }]);
    const amountMinor = toMinor(params.amount, currency, 'params.amount');
    if (amountMinor <= 0) throw invalid('params.amount must be greater than zero', [{ field: 'params.amount', problem: 'must be greater than zero' }]);
    return Promise.resolve({ amountMinor, params: { amount: params.amount } });
  },
};

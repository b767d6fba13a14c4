// Card and MB WAY recharge payments inside their transactions (a person may top up for themselves,
// within limits): create stores the authorization
// beside the payment (or, declined, on its own, with no payment), commit marks the gateway payment
// as having funded credit, rollback or expiry voids it.
import type { ProviderRules } from '../recharge/providers.js';

import { insertAuthorized, isAuthorization } from './authorization.js';
import * as store from './store.js';
import { gatewayPaymentView } from './views.js';

export const gatewayPaymentRules: ProviderRules = {
  selfService: true,
  topUpLimited: true,
  paramsChangeable: false,

  async onDecline(tx, prepared, atMs, effects) {
    if (!isAuthorization(prepared.hold)) throw new Error('a declined gateway payment without its authorization');
    const row = await insertAuthorized(tx, prepared.hold, null, atMs);
    effects.emit('gateway.payment.declined', `gatewayPayment:${row.payment_id}`, gatewayPaymentView(row, true));
  },

  async onCreate(tx, payment, hold, atMs, effects) {
    if (!isAuthorization(hold)) throw new Error(`${payment.provider} payment ${payment.id} was created without an authorization`);
    const row = await insertAuthorized(tx, hold, payment.id, atMs);
    effects.emit('gateway.payment.authorized', `gatewayPayment:${row.payment_id}`, gatewayPaymentView(row, true));
  },

  onCommit(tx, payment, atMs) {
    store.queueMarkCredited(tx, payment.id, payment.user_id, atMs, new Error(`recharge payment ${payment.id} has no captured gateway payment`));
    return Promise.resolve();
  },

  async onRelease(tx, payment, _reason, atMs, effects) {
    const row = await store.getByRecharge(tx, payment.id);
    if (row === undefined || !(await store.voidPayment(tx, row.payment_id, atMs, true))) return;
    effects.emit('gateway.payment.voided', `gatewayPayment:${row.payment_id}`, gatewayPaymentView({ ...row, status: 'voided', updated_at_ms: atMs }, true));
  },
};

// Gateway payments and refunds as the API shows them — in responses and in events alike. The card
// number only ever masked, never the CVV.
import { fromMinor } from '../money.js';

import { maskedNumber } from './card.js';
import type { GatewayPaymentView, RefundView } from './schemas.js';
import type { GatewayPaymentRow, RefundRow } from './store.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function gatewayPaymentView(row: GatewayPaymentRow, detail: boolean): GatewayPaymentView {
  const amount = fromMinor(row.amount_minor, row.currency);
  const view: GatewayPaymentView = {
    payment_id: row.payment_id,
    amount,
    payment_method: row.payment_method,
    status: row.status,
    settled_at: iso(row.settled_at_ms),
    settled_amount: row.settled_amount_minor === null ? null : fromMinor(row.settled_amount_minor, row.currency),
    created_at: new Date(row.created_at_ms).toISOString(),
    decline_reason: row.decline_reason,
  };
  if (!detail) return view;
  const base = { payment: row.payment_id, amount, method: row.payment_method };
  const additional =
    row.payment_method === 'mbway'
      ? { ...base, phone_number: row.phone_number }
      : { ...base, number: maskedNumber({ bin: row.card_bin ?? '', last4: row.card_last4 ?? '', length: row.card_length ?? 0 }), name: row.card_name, expiration_month: row.card_exp_month, expiration_year: row.card_exp_year };
  return { ...view, additional_params: additional };
}

export const refundView = (row: RefundRow, currency: string): RefundView => ({ refund_id: row.refund_id, payment_id: row.payment_id, amount: fromMinor(row.amount_minor, currency), created_at: new Date(row.created_at_ms).toISOString() });


// Payments and providers as the API shows them — in responses and in events alike.
import { fromMinor } from '../money.js';
import { msToIso } from '../time.js';

import type { PaymentView } from './schemas.js';
import type { PaymentRow } from './store.js';

export function paymentView(row: PaymentRow, detail = false): PaymentView {
  const view: PaymentView = {
    id: row.id,
    userId: row.user_id,
    amount: fromMinor(row.amount_minor, row.currency),
    currency: row.currency,
    state: row.state,
    created: msToIso(row.created_at_ms),
    updated: msToIso(row.updated_at_ms),
    expires: msToIso(row.expires_at_ms),
    paymentNo: row.id,
    provider: row.provider,
    description: row.description,
  };
  if (!detail) return view;
  return { ...view, params: JSON.parse(row.params) as Record<string, unknown>, ...(row.reason === null ? {} : { reason: row.reason }) };
}

export interface CreatedView {
  id: string;
  userId: number;
  amount: number;
  description: string;
  params: Record<string, unknown>;
}

/** What creating a payment answers (file 000: the id as text). */
export function createdView(row: PaymentRow): CreatedView {
  return {
    id: String(row.id),
    userId: row.user_id,
    amount: fromMinor(row.amount_minor, row.currency),
    description: row.description,
    params: JSON.parse(row.params) as Record<string, unknown>,
  };
}

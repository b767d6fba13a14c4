// The public shapes of charges, holds, refunds of charges and transfers: API answers and event data.
import { fromMinor } from '../money.js';

import type { ChargeRefundRow, ChargeRow, HoldRow, TransferRow } from './store.js';

/** held → captured | released | expired; only `held` changes. */
export const HOLD_STATES = ['held', 'captured', 'released', 'expired'] as const;
export type HoldState = (typeof HOLD_STATES)[number];

const iso = (ms: number): string => new Date(ms).toISOString();

export interface ChargeView {
  id: number;
  userId: number;
  account: string;
  amount: number;
  refunded: number;
  description: string;
  externalId: string | null;
  holdId: number | null;
  state: 'posted' | 'refunded';
  balance: number;
  created: string;
}

export function chargeView(row: ChargeRow): ChargeView {
  return {
    id: row.id,
    userId: row.user_id,
    account: row.reference,
    amount: fromMinor(row.amount_minor, row.currency),
    refunded: fromMinor(row.refunded_minor, row.currency),
    description: row.description,
    externalId: row.external_id,
    holdId: row.hold_id,
    // Posted stays posted through partial refunds; `refunded` says how much came back.
    state: row.refunded_minor === row.amount_minor ? 'refunded' : 'posted',
    balance: fromMinor(row.balance_after_minor, row.currency),
    created: iso(row.created_at_ms),
  };
}

export interface HoldView {
  id: number;
  userId: number;
  account: string;
  state: HoldState;
  amount: number;
  captured: number | null;
  chargeId: number | null;
  description: string;
  created: string;
  updated: string;
  expires: string;
}

export function holdView(row: HoldRow): HoldView {
  return {
    id: row.id,
    userId: row.user_id,
    account: row.reference,
    state: row.state,
    amount: fromMinor(row.amount_minor, row.currency),
    captured: row.captured_minor === null ? null : fromMinor(row.captured_minor, row.currency),
    chargeId: row.charge_id,
    description: row.description,
    created: iso(row.created_at_ms),
    updated: iso(row.updated_at_ms),
    expires: iso(row.expires_at_ms),
  };
}

export interface ChargeRefundView {
  id: number;
  chargeId: number;
  amount: number;
  reason: string;
  created: string;
}

export function chargeRefundView(row: ChargeRefundRow, currency: string): ChargeRefundView {
  return { id: row.id, chargeId: row.charge_id, amount: fromMinor(row.amount_minor, currency), reason: row.reason, created: iso(row.created_at_ms) };
}

export interface TransferView {
  id: number;
  userId: number;
  account: string;
  toUserId: number;
  toAccount: string;
  amount: number;
  description: string;
  created: string;
}

export function transferView(row: TransferRow): TransferView {
  return {
    id: row.id,
    userId: row.from_user_id,
    account: row.from_reference,
    toUserId: row.to_user_id,
    toAccount: row.to_reference,
    amount: fromMinor(row.amount_minor, row.currency),
    description: row.description,
    created: iso(row.created_at_ms),
  };
}

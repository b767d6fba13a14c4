// A card or MB WAY authorization: checked before any transaction (Luhn, expiry, CVV shape, name; or
// a Portuguese mobile number), decided deterministically by test number, and stored as a gateway
// payment — `success`, or `error` with the decline reason — inside the command that asked for it.
import crypto from 'node:crypto';

import type { Tx } from '../db/index.js';
import { invalid, type AppError, type ErrorDetail } from '../errors.js';

import { checkCard, checkPhone, DECLINING_CARDS, DECLINING_PHONES, type PaymentMethod, type StoredCard } from './card.js';
import * as store from './store.js';

/** The recharge provider that buys credit with each method, and its system account. */
export const PROVIDER_OF: Readonly<Record<PaymentMethod, string>> = { credit_card: 'card', mbway: 'mbway' };

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 200;

/** 200 random letters and digits, as the original service's ids (the payments API's own format). */
export function newGatewayId(): string {
  const out: string[] = [];
  while (out.length < ID_LENGTH) {
    for (const byte of crypto.randomBytes(ID_LENGTH)) {
      if (byte < 248 && out.length < ID_LENGTH) out.push(ID_ALPHABET.charAt(byte % ID_ALPHABET.length)); // 248 = 4 × 62: no modulo bias
    }
  }
  return out.join('');
}

/** A checked instrument and the gateway's answer, as plain data: what may be stored, nothing else. */
export interface Authorization {
  paymentId: string;
  method: PaymentMethod;
  amountMinor: number;
  currency: string;
  card: StoredCard | null;
  phone: string | null;
  declineReason: string | null;
}

export function invalidDetails(problems: ErrorDetail[]): AppError {
  return invalid(`${problems[0]?.field ?? 'payment'} ${problems[0]?.problem ?? 'is not valid'}`, problems);
}

/** Checks the instrument and decides whether the gateway approves; a 400 for bad data. */
export function authorize(method: PaymentMethod, instrument: Record<string, unknown>, prefix: string, payment: { amountMinor: number; currency: string; atMs: number }): Authorization {
  const base = { paymentId: newGatewayId(), method, amountMinor: payment.amountMinor, currency: payment.currency };
  if (method === 'credit_card') {
    const checked = checkCard(instrument, payment.atMs, prefix);
    if ('problems' in checked) throw invalidDetails(checked.problems);
    return { ...base, card: checked.card, phone: null, declineReason: DECLINING_CARDS[checked.number] ?? null };
  }
  const checked = checkPhone(instrument.phone_number, `${prefix}.phone_number`);
  if ('problems' in checked) throw invalidDetails(checked.problems);
  return { ...base, card: null, phone: checked.phone, declineReason: DECLINING_PHONES[checked.phone] ?? null };
}

/** Stores an authorization as a payment: `success`, or `error` with the decline reason. */
export function insertAuthorized(tx: Tx, auth: Authorization, rechargePaymentId: number | null, atMs: number): Promise<store.GatewayPaymentRow> {
  return store.insertPayment(tx, {
    payment_id: auth.paymentId,
    amount_minor: auth.amountMinor,
    currency: auth.currency,
    payment_method: auth.method,
    status: auth.declineReason === null ? 'success' : 'error',
    decline_reason: auth.declineReason,
    card_bin: auth.card?.bin ?? null,
    card_last4: auth.card?.last4 ?? null,
    card_length: auth.card?.length ?? null,
    card_name: auth.card?.name ?? null,
    card_exp_month: auth.card?.expMonth ?? null,
    card_exp_year: auth.card?.expYear ?? null,
    phone_number: auth.phone,
    recharge_payment_id: rechargePaymentId,
    created_at_ms: atMs,
  });
}

export function isAuthorization(value: unknown): value is Authorization {
  return typeof value === 'object' && value !== null && 'paymentId' in value && 'method' in value && 'amountMinor' in value;
}

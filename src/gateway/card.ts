// Authorization rules for card and MB WAY payments, and the deterministic test numbers that decline
// (README: "Test numbers"). Pure functions: no I/O, so they can run before any transaction.
import type { ErrorDetail } from '../errors.js';

export type PaymentMethod = 'credit_card' | 'mbway';

export interface CardInput {
  number: string;
  name: string;
  expiration_month: string;
  expiration_year: string;
  cvv: string;
}

/** What may be kept of a card (PCI DSS): BIN, last four, length, holder, expiry — never the CVV. */
export interface StoredCard {
  bin: string;
  last4: string;
  length: number;
  name: string;
  expMonth: string;
  expYear: string;
}

export const DECLINING_CARDS: Readonly<Record<string, string>> = {
  '4000000000000002': 'card_declined',
  '4000000000009995': 'insufficient_funds',
  '4000000000000119': 'processing_error',
};

export const DECLINING_PHONES: Readonly<Record<string, string>> = {
  '911111111': 'rejected_by_user',
  '922222222': 'insufficient_funds',
};

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let digit = Number(digits.charAt(i));
    if (double) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value.trim() : typeof value === 'number' && Number.isInteger(value) ? String(value) : undefined);

/** Checks a card; the problems, each naming its field under `prefix`, or the card to keep. */
export function checkCard(raw: unknown, nowMs: number, prefix: string): { card: StoredCard; number: string } | { problems: ErrorDetail[] } {
  const input = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const problems: ErrorDetail[] = [];
  const number = text(input.number)?.replace(/[\s-]/g, '') ?? '';
  const name = text(input.name) ?? '';
  const month = text(input.expiration_month) ?? '';
  const yearText = text(input.expiration_year) ?? '';
  const cvv = text(input.cvv) ?? '';
  if (!/^\d{12,19}$/.test(number)) problems.push({ field: `${prefix}.number`, problem: 'must be 12–19 digits' });
  else if (!luhnValid(number)) problems.push({ field: `${prefix}.number`, problem: 'is not a valid card number (Luhn check)' });
  if (name === '' || name.length > 100) problems.push({ field: `${prefix}.name`, problem: 'must be the name on the card, 1–100 characters' });
  if (!/^(0?[1-9]|1[0-2])$/.test(month)) problems.push({ field: `${prefix}.expiration_month`, problem: 'must be 1–12' });
  if (!/^(\d{2}|\d{4})$/.test(yearText)) problems.push({ field: `${prefix}.expiration_year`, problem: 'must be 2 or 4 digits' });
  if (!/^\d{3,4}$/.test(cvv)) problems.push({ field: `${prefix}.cvv`, problem: 'must be 3 or 4 digits' });
  if (problems.length === 0 && expired(Number(month), Number(yearText.length === 2 ? `20${yearText}` : yearText), nowMs)) {
    problems.push({ field: `${prefix}.expiration_year`, problem: 'the card has expired' });
  }
  if (problems.length > 0) return { problems };
  return { number, card: { bin: number.slice(0, 6), last4: number.slice(-4), length: number.length, name, expMonth: month.padStart(2, '0'), expYear: yearText.length === 2 ? `20${yearText}` : yearText } };
}

/** A card is good through the last day of its expiry month. */
function expired(month: number, year: number, nowMs: number): boolean {
  const now = new Date(nowMs);
  return year < now.getUTCFullYear() || (year === now.getUTCFullYear() && month < now.getUTCMonth() + 1);
}

/** 400000******0002: first six and last four, the rest starred (PCI DSS display rule). */
export function maskedNumber(card: Pick<StoredCard, 'bin' | 'last4' | 'length'>): string {
  return `${card.bin}${'*'.repeat(Math.max(0, card.length - 10))}${card.last4}`;
}

/** A Portuguese mobile number: 9 digits starting with 9, optionally after +351 (or 00351). */
export function checkPhone(raw: unknown, field: string): { phone: string } | { problems: ErrorDetail[] } {
  const value = text(raw)?.replace(/[\s-]/g, '') ?? '';
  const match = /^(?:\+351|00351)?(9\d{8})$/.exec(value);
  if (match?.[1] === undefined) return { problems: [{ field, problem: 'must be a Portuguese mobile number: 9 digits starting with 9, optionally after +351' }] };
  return { phone: match[1] };
}

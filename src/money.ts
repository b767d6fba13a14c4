// Amounts: integers in minor units inside, JSON numbers in major units at the edge.
// Conversion goes through the decimal text, never through float arithmetic, so 0.1 + 0.2 stays exact.
import { invalid, type AppError } from './errors.js';

/** ISO 4217 minor-unit exponents of the currencies Purse accepts. */
const EXPONENTS: Readonly<Record<string, number>> = {
  EUR: 2, USD: 2, GBP: 2, CHF: 2, CZK: 2, PLN: 2, HUF: 2, SEK: 2, NOK: 2, DKK: 2, RON: 2, BGN: 2,
  CAD: 2, AUD: 2, NZD: 2, BRL: 2, MXN: 2, ZAR: 2, INR: 2, CNY: 2, TRY: 2, ILS: 2, AED: 2, SGD: 2,
  HKD: 2, JPY: 0, KRW: 0, ISK: 0, CLP: 0, KWD: 3, BHD: 3, JOD: 3, OMR: 3, TND: 3,
};

export function currencyExponent(code: string): number | undefined {
  return EXPONENTS[code];
}

/** Largest amount accepted at the edge, in minor units: far below 2^53, so sums of many stay safe. */
export const MAX_AMOUNT_MINOR = 1_000_000_000_00;

/**
 * The most any total may come to, in minor units: an account's balance (a person's or a system
 * account's), a voucher batch's quantity × value, a bulk recharge. A ninth of
 * Number.MAX_SAFE_INTEGER, so that a total plus one more amount, and the sum of a few totals
 * (what Purse owes everyone), are still exact integers in JavaScript and in SQLite.
 */
export const MAX_TOTAL_MINOR = 1_000_000_000_000_000;

const DECIMAL = /^-?(0|[1-9]\d{0,14})(\.\d+)?$/;

/**
 * Converts a JSON number or decimal string in major units to integer minor units.
 * Rejects NaN, Infinity, exponents, more decimals than the currency has, and out-of-range values.
 */
export function toMinor(value: unknown, currency: string, field: string, maxMinor = MAX_AMOUNT_MINOR): number {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) throw new Error(`unknown currency ${currency}`);
  const text = typeof value === 'number' ? numberText(value) : typeof value === 'string' ? value.trim() : undefined;
  if (text === undefined || !DECIMAL.test(text)) {
    throw invalid(`${field} must be a decimal amount`, [{ field, problem: 'must be a decimal amount like 13 or 13.50' }]);
  }
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const trimmed = fraction.replace(/0+$/, '');
  if (trimmed.length > exponent) {
    throw invalid(`${field} has more decimals than ${currency} allows`, [{ field, problem: `at most ${exponent} decimals` }]);
  }
  const minor = Number(whole) * 10 ** exponent + Number(trimmed.padEnd(exponent, '0') || '0');
  if (!Number.isSafeInteger(minor)) throw overCeiling(maxMinor, currency, field);
  return withinCeiling(negative ? -minor : minor, maxMinor, currency, field);
}

/** toMinor, for an amount that must be more than nothing: a price, a payment, a refund. */
export function positiveMinor(value: unknown, currency: string, field: string, maxMinor = MAX_AMOUNT_MINOR): number {
  const minor = toMinor(value, currency, field, maxMinor);
  if (minor <= 0) throw invalid(`${field} must be greater than zero`, [{ field, problem: 'must be greater than zero' }]);
  return minor;
}

/** The amount, when it is at most `maxMinor` either way; else a 400 naming the ceiling. */
export function withinCeiling(minor: number, maxMinor: number, currency: string, field: string): number {
  if (Math.abs(minor) > maxMinor) throw overCeiling(maxMinor, currency, field);
  return minor;
}

function overCeiling(ceilingMinor: number, currency: string, field: string): AppError {
  const limit = moneyText(ceilingMinor, currency);
  return invalid(`${field} is more than ${limit}, the most one amount may be`, [{ field, problem: `at most ${limit}` }]);
}

/** "13.50 EUR": an amount with its currency, for messages. */
export function moneyText(minor: number, currency: string): string {
  return `${formatMinor(minor, currencyExponent(currency) ?? 2)} ${currency}`;
}

/** Integer minor units → JSON number in major units (13.5 for 1350 EUR cents). */
export function fromMinor(minor: number, currency: string): number {
  assertMinor(minor);
  const exponent = currencyExponent(currency) ?? 2;
  return Number(formatMinor(minor, exponent));
}

/** Integer minor units → fixed decimal text ("13.50"), for CSV and messages. */
export function formatMinor(minor: number, exponent: number): string {
  assertMinor(minor);
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

export function assertMinor(minor: number): void {
  if (!Number.isSafeInteger(minor)) throw new Error(`amount is not a safe integer: ${minor}`);
}

/** A JS number's shortest round-trip text; exponent forms (1e21, 1e-7) are refused by DECIMAL. */
function numberText(value: number): string | undefined {
  return Number.isFinite(value) ? String(value) : undefined;
}

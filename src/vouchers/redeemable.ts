// Whether a voucher can be redeemed now: one rule for the lookup before a payment is created and
// for the reservation inside its transaction.
import { conflict } from '../errors.js';

export function isExpired(voucher: { valid_until_ms: number; expired_at_ms: number | null }, atMs: number): boolean {
  return voucher.expired_at_ms !== null || voucher.valid_until_ms <= atMs;
}

export function assertRedeemable(voucher: { state: string; valid_until_ms: number; expired_at_ms: number | null }, atMs: number): void {
  if (voucher.state === 'used') throw conflict('this voucher has already been used');
  if (isExpired(voucher, atMs)) throw conflict('this voucher has expired');
  if (voucher.state === 'reserved') throw conflict('this voucher is reserved by another payment; commit or roll that back first');
}

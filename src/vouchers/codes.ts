// Voucher codes: 16 symbols from a CSPRNG over an alphabet without look-alikes (no 0/O, 1/I/L),
// grouped in fours for reading: K7QD-M4XP-R9TW-H3NC. 31^16 ≈ 2^79 codes, so guessing one is
// hopeless even before the rate limit. Typed in any case, with or without separators or prefix.
import crypto from 'node:crypto';

export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const CODE_SYMBOLS = 16;
const GROUP = 4;

/** Bits of entropy of one code: asserted ≥ 60 at load, as the issue demands. */
export const CODE_ENTROPY_BITS = CODE_SYMBOLS * Math.log2(CODE_ALPHABET.length);
if (CODE_ENTROPY_BITS < 60) throw new Error('voucher codes need at least 60 bits of entropy');

// Bytes ≥ this are thrown away so that every symbol is equally likely (no modulo bias).
const UNBIASED_LIMIT = 256 - (256 % CODE_ALPHABET.length);

export function newCode(prefix = ''): string {
  const symbols: string[] = [];
  while (symbols.length < CODE_SYMBOLS) {
    for (const byte of crypto.randomBytes(CODE_SYMBOLS * 2)) {
      if (byte >= UNBIASED_LIMIT || symbols.length === CODE_SYMBOLS) continue;
      symbols.push(CODE_ALPHABET.charAt(byte % CODE_ALPHABET.length));
    }
  }
  const groups: string[] = [];
  for (let i = 0; i < CODE_SYMBOLS; i += GROUP) groups.push(symbols.slice(i, i + GROUP).join(''));
  return [prefix, ...groups].filter((part) => part !== '').join('-');
}

/**
 * The part of a typed code that identifies the voucher: its last 16 alphabet symbols, upper-cased,
 * separators and any prefix dropped. Undefined when the text cannot be a code at all.
 */
export function canonicalCode(typed: string): string | undefined {
  const symbols = typed.toUpperCase().replace(/[^0-9A-Z]/g, '');
  const tail = symbols.slice(-CODE_SYMBOLS);
  if (tail.length !== CODE_SYMBOLS) return undefined;
  for (const symbol of tail) if (!CODE_ALPHABET.includes(symbol)) return undefined;
  return tail;
}

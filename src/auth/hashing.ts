// Two kinds of hash:
// - slow (argon2id) for what people choose: passwords, PINs, and client secrets;
// - keyed (HMAC-SHA256) for what must be looked up but never read back: login cards, PINs for
//   PIN-only login, refresh tokens, authorization codes. Without the key, the stored values cannot be brute-forced.
import crypto from 'node:crypto';

import argon2 from 'argon2';

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): ~20 ms here, bounded memory per login.
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export type KeyedHashKind = 'card' | 'pin' | 'refresh' | 'code' | 'voucher' | 'secret' | 'idempotency';

export class Hasher {
  private dummyHash: Promise<string> | undefined;
  /** The key `seal` encrypts with, derived once from the hash key. */
  private readonly sealKey: Buffer;

  constructor(private readonly hashKey: Buffer) {
    this.sealKey = crypto.createHmac('sha256', hashKey).update('seal:v1').digest();
  }

  slowHash(secret: string): Promise<string> {
    return argon2.hash(secret, ARGON2_OPTIONS);
  }

  async slowVerify(hash: string | null | undefined, secret: string): Promise<boolean> {
    if (hash === null || hash === undefined) {
      // Spend the same time as a real check, so a failure does not tell whether the account exists.
      this.dummyHash ??= this.slowHash(crypto.randomBytes(16).toString('hex'));
      await argon2.verify(await this.dummyHash, secret).catch(() => false);
      return false;
    }
    return argon2.verify(hash, secret).catch(() => false);
  }

  /** Domain-separated HMAC: the same text hashes differently as a card and as a PIN. */
  keyed(kind: KeyedHashKind, value: string): string {
    return crypto.createHmac('sha256', this.hashKey).update(`${kind}:${value}`).digest('hex');
  }

  /**
   * Encrypts a secret Purse must use again (a webhook's signing secret), so that the database
   * never holds it in the clear: AES-256-GCM under a key derived from the hash key; `v1.` + iv,
   * tag and ciphertext, base64url.
   */
  seal(secret: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.sealKey, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** The secret back; throws when the text was not sealed with this key (or was altered). */
  unseal(sealed: string): string {
    if (!sealed.startsWith('v1.')) throw new Error('not a sealed secret');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.sealKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

/** A client secret as MyQ shows them: 40 hex characters (160 bits). */
export function newClientSecret(): string {
  return crypto.randomBytes(20).toString('hex');
}

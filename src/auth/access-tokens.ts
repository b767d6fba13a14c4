// Access tokens: HS256 JWTs signed with jose, carrying client, user, scopes and refresh family.
// Every request also checks the state behind them (client revoked, family revoked, user
// deactivated) — remembered for at most a second, see principal-cache.ts — so a signature alone
// never outlives a revocation.
import crypto, { type KeyObject } from 'node:crypto';

import { decodeJwt, errors, jwtVerify, SignJWT } from 'jose';

import type { Clock } from '../clock.js';
import { unauthorized } from '../errors.js';

import { formatScopes, parseScopes, type Scope } from './scopes.js';

const ISSUER = 'purse';

export interface AccessClaims {
  /** A person who logged in, or a client acting as its own user. */
  kind: 'person' | 'client';
  userId: number;
  clientId: string;
  scopes: Scope[];
  familyId: string | null;
}

/** Most verified tokens remembered; past it the oldest are forgotten first. */
const VERIFIED_CACHE_ENTRIES = 10_000;

export class AccessTokens {
  // Imported once: handing jose raw bytes makes it import a CryptoKey on every call.
  private readonly key: KeyObject;
  // A token's signature and claims never change, so a verified token is remembered until it
  // expires; the per-request check is then a map lookup. Revocation is checked apart from this.
  private readonly verified = new Map<string, { claims: AccessClaims; expiresAtMs: number }>();

  constructor(
    key: Uint8Array,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {
    this.key = crypto.createSecretKey(key);
  }

  get expiresInSeconds(): number {
    return this.ttlSeconds;
  }

  sign(claims: AccessClaims): Promise<string> {
    const nowSeconds = Math.floor(this.clock.nowMs() / 1000);
    return new SignJWT({ cid: claims.clientId, knd: claims.kind, scope: formatScopes(claims.scopes), ...(claims.familyId === null ? {} : { fam: claims.familyId }) })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject(String(claims.userId))
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.ttlSeconds)
      .sign(this.key);
  }

  async verify(token: string): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known !== undefined && known.expiresAtMs > this.clock.nowMs()) return known.claims;
    if (known !== undefined) this.verified.delete(token);
    const claims = await this.verifySignature(token);
    this.remember(token, claims);
    return claims;
  }

  private remember(token: string, claims: AccessClaims): void {
    const expiresAtMs = this.expiryOf(token);
    if (expiresAtMs === undefined) return;
    if (this.verified.size >= VERIFIED_CACHE_ENTRIES) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, { claims, expiresAtMs });
  }

  private expiryOf(token: string): number | undefined {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp * 1000 : undefined;
  }

  private async verifySignature(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        currentDate: new Date(this.clock.nowMs()),
        clockTolerance: 0,
      });
      const userId = Number(payload.sub);
      const { cid, knd, scope, fam } = payload;
      if (!Number.isSafeInteger(userId) || typeof cid !== 'string' || typeof scope !== 'string') throw unauthorized('token is malformed');
      return { kind: knd === 'client' ? 'client' : 'person', userId, clientId: cid, scopes: parseScopes(scope).known, familyId: typeof fam === 'string' ? fam : null };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw unauthorized('token has expired');
      if (error instanceof errors.JOSEError) throw unauthorized('token is invalid');
      throw error;
    }
  }
}

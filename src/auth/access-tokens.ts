// Access tokens: HS256 JWTs signed with jose, carrying client, user, scopes and refresh family.
// They are checked against the database on every request (client revoked, family revoked, user
// deactivated), so a signature alone never outlives a revocation.
import { errors, jwtVerify, SignJWT } from 'jose';

import type { Clock } from '../clock.js';
import { unauthorized } from '../errors.js';

import { formatScopes, parseScopes, type Scope } from './scopes.js';

const ISSUER = 'purse';

export interface AccessClaims {
  userId: number;
  clientId: string;
  scopes: Scope[];
  familyId: string | null;
}

export class AccessTokens {
  constructor(
    private readonly key: Uint8Array,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {}

  get expiresInSeconds(): number {
    return this.ttlSeconds;
  }

  sign(claims: AccessClaims): Promise<string> {
    const nowSeconds = Math.floor(this.clock.nowMs() / 1000);
    return new SignJWT({ cid: claims.clientId, scope: formatScopes(claims.scopes), ...(claims.familyId === null ? {} : { fam: claims.familyId }) })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject(String(claims.userId))
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.ttlSeconds)
      .sign(this.key);
  }

  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        currentDate: new Date(this.clock.nowMs()),
        clockTolerance: 0,
      });
      const userId = Number(payload.sub);
      const { cid, scope, fam } = payload;
      if (!Number.isSafeInteger(userId) || typeof cid !== 'string' || typeof scope !== 'string') throw unauthorized('token is malformed');
      return { userId, clientId: cid, scopes: parseScopes(scope).known, familyId: typeof fam === 'string' ? fam : null };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw unauthorized('token has expired');
      if (error instanceof errors.JOSEError) throw unauthorized('token is invalid');
      throw error;
    }
  }
}

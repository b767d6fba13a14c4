// API clients, refresh tokens, authorization codes and sessions as commands. Secrets and tokens are made and hashed before the
// transaction; only their hashes reach it.
import { actorHasRight, actorUserId, isPurseItself } from './principal.js';
import { WEB_CLIENT_ID } from './web-client.js';
import type { CommandDefinition, Effects, Refused } from '../commands/types.js';
import { uniqueViolation, type ReadTx, type Tx } from '../db/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { refuse } from '../commands/pipeline.js';

import type { Hasher } from './hashing.js';
import { formatScopes, type Scope } from './scopes.js';
import * as store from './store.js';

export interface NewClient {
  id: string;
  name: string;
  scopes: Scope[];
  userId: number;
  /** The secret in the clear: hashed in prepare, never stored or logged. */
  secret: string;
}

export interface TokenIssue {
  clientId: string;
  userId: number;
  scopes: Scope[];
  /** On a refresh: the family and the keyed hash of the presented token, used up here. */
  rotation: { familyId: string; usedKey: string } | null;
  /** The successor to store: its keyed hash and family (new on a first grant). */
  refresh: { tokenKey: string; familyId: string; expiresAtMs: number } | null;
  /** On an authorization_code grant: the code's keyed hash, used up here, and the new session's family. */
  code: { codeKey: string; familyId: string } | null;
}

export interface CodeIssue {
  codeKey: string;
  clientId: string;
  userId: number;
  redirectUri: string;
  challenge: string;
  scopes: Scope[];
  expiresAtMs: number;
}

export interface PasswordChange {
  userId: number;
  /** In the clear: hashed in prepare, never stored or logged. */
  password: string;
  /** The session that asked, which stays open; null for a token outside any session. */
  keepFamilyId: string | null;
}

declare module '../commands/types.js' {
  interface CommandMap {
    'client.create': { input: NewClient; output: { id: string } };
    'client.revoke': { input: { id: string }; output: { id: string } };
    'token.issue': { input: TokenIssue; output: { issued: true } };
    'code.issue': { input: CodeIssue; output: { issued: true } };
    'session.revoke': { input: { familyId: string }; output: { revoked: boolean } };
    'password.change': { input: PasswordChange; output: { changed: true } };
  }
}

/** Inserts a client (also first start's); a taken id is a 409. */
export async function registerClient(tx: Tx, input: Omit<NewClient, 'secret'>, secretHash: string, atMs: number, effects: Effects): Promise<void> {
  try {
    await store.insertClient(tx, { id: input.id, name: input.name.trim(), secret_hash: secretHash, scopes: formatScopes(input.scopes), user_id: input.userId, created_at_ms: atMs });
  } catch (error) {
    if (uniqueViolation(error) === 'api_clients_pkey') throw conflict(`a client "${input.id}" exists`, [{ field: 'id', problem: 'is taken' }]);
    throw error;
  }
  const view = { id: input.id, name: input.name.trim(), scopes: input.scopes, userId: input.userId, createdAt: new Date(atMs).toISOString(), revoked: false };
  effects.about(`client:${input.id}`, { scopes: formatScopes(input.scopes), userId: input.userId });
  effects.emit('client.created', `client:${input.id}`, view);
}

/** Whether a client with this id exists (revoked or not). */
export async function clientExists(q: ReadTx, id: string): Promise<boolean> {
  return (await store.getClient(q, id)) !== undefined;
}

/**
 * Ends every session of a person, inside the transaction of the change that calls for it: all their
 * refresh-token families are revoked, and with them the access tokens issued in those families;
 * codes of the login page not yet redeemed are used up, or one would open a session after it.
 */
export async function endSessions(tx: Tx, userId: number, reason: string, atMs: number, effects: Effects): Promise<void> {
  await store.consumeCodesOfUser(tx, userId, atMs);
  if ((await store.revokeFamiliesOfUser(tx, userId, atMs)) === 0) return;
  effects.emit('session.revoked', `user:${userId}`, { userId, clientId: null, reason });
}

export const REFRESH_REFUSED = 'refresh token was already used, has expired or was revoked; its family is now revoked';
export const CODE_REFUSED = 'authorization code was already used or has expired; the tokens it gave are now revoked';

export function authCommands(hasher: Hasher): {
  createClient: CommandDefinition<'client.create', { secretHash: string }>;
  revokeClient: CommandDefinition<'client.revoke'>;
  issueToken: CommandDefinition<'token.issue'>;
  issueCode: CommandDefinition<'code.issue'>;
  revokeSession: CommandDefinition<'session.revoke'>;
  changePassword: CommandDefinition<'password.change', { passwordHash: string }>;
} {
  return {
    createClient: {
      name: 'client.create',
      changesActors: true,
      idempotent: false,
      prepare: async ({ input }) => {
        if (input.name.trim() === '' || input.name.length > 128) throw invalid('name must be 1–128 characters', [{ field: 'name', problem: 'must be 1–128 characters' }]);
        if (input.scopes.length === 0) throw invalid('scopes must not be empty', [{ field: 'scopes', problem: 'none given' }]);
        return { secretHash: await hasher.slowHash(input.secret) };
      },
      // A client acts with its user's rights: below admin, one may register clients only for oneself,
      // or manageSettings would reach every right through a client acting as the administrator.
      authorize: async (_q, { input, actor }) => {
        if (!actorHasRight(actor, 'manageSettings')) throw forbidden('registering an API client needs the manageSettings right');
        if (!actorHasRight(actor, 'admin') && actorUserId(actor) !== input.userId) throw forbidden('only an administrator may register a client acting as another user');
        // Nor may a token reach, through a client it makes, a scope it was not given (admin included).
        if (isPurseItself(actor)) return;
        const beyond = input.scopes.filter((s) => !actor.scopes.includes(s));
        if (beyond.length > 0) throw invalid(`scopes must be some of this token's: ${formatScopes(actor.scopes)}`, [{ field: 'scopes', problem: `beyond this token's scopes: ${beyond.join(', ')}` }]);
      },
      run: async (tx, { input, atMs }, { secretHash }, effects) => {
        await registerClient(tx, input, secretHash, atMs, effects);
        return { id: input.id };
      },
    },
    revokeClient: {
      name: 'client.revoke',
      changesActors: true,
      // Below admin, only clients acting as oneself; another's is a 404, as if it did not exist, so
      // that nobody learns which client ids are live (the same as the list, which shows only one's own).
      authorize: async (q, { input, actor }) => {
        if (!actorHasRight(actor, 'manageSettings')) throw forbidden('revoking an API client needs the manageSettings right');
        if (!actorHasRight(actor, 'admin') && (await store.getClient(q, input.id))?.user_id !== actorUserId(actor)) throw notFound(`no active client "${input.id}"`);
        if (input.id === WEB_CLIENT_ID) throw conflict(`${WEB_CLIENT_ID} is Purse's own web app and cannot be revoked`, [{ field: 'id', problem: 'is the web app' }]);
      },
      run: async (tx, { input, atMs }, _prepared, effects) => {
        if (!(await store.revokeClient(tx, input.id, atMs))) throw notFound(`no active client "${input.id}"`);
        effects.about(`client:${input.id}`);
        effects.emit('client.revoked', `client:${input.id}`, { id: input.id, revoked: true, revokedAt: new Date(atMs).toISOString() });
        return { id: input.id };
      },
    },
    /**
     * Stores a refresh token; on a refresh, uses up the presented one in the same transaction. A
     * token that cannot be used (already used, expired, revoked) kills its whole family (RFC 9700
     * §4.14.2): the revocation is kept and the grant refused.
     */
    issueToken: {
      name: 'token.issue',
      changesActors: true,
      authorize: async () => undefined,
      run: async (tx, { input, atMs }, _prepared, effects) => {
        effects.about(`client:${input.clientId}`, { userId: input.userId, scopes: formatScopes(input.scopes) });
        const { rotation, refresh } = input;
        if (rotation !== null && !(await store.useRefreshToken(tx, rotation.usedKey, atMs))) {
          await store.revokeFamily(tx, rotation.familyId, atMs);
          effects.emit('session.revoked', `user:${input.userId}`, { userId: input.userId, clientId: input.clientId, reason: 'refresh token reused' });
          return refuse(invalid(REFRESH_REFUSED));
        }
        const { code } = input;
        if (code !== null && !(await store.consumeAuthorizationCode(tx, code.codeKey, code.familyId, atMs))) return refuseCodeReplay(tx, code.codeKey, input, atMs, effects);
        if (code !== null) await store.insertFamily(tx, code.familyId, input.clientId, input.userId, atMs);
        if (refresh === null) return { issued: true };
        if (rotation === null && code === null) await store.insertFamily(tx, refresh.familyId, input.clientId, input.userId, atMs);
        await store.insertRefreshToken(tx, refresh.tokenKey, refresh.familyId, formatScopes(input.scopes), refresh.expiresAtMs, atMs);
        return { issued: true };
      },
    },
    /** Stores a one-time code of the login page, as a keyed hash: the code itself is never stored. */
    issueCode: {
      name: 'code.issue',
      idempotent: false,
      authorize: async () => undefined,
      run: async (tx, { input, atMs }, _prepared, effects) => {
        effects.about(`client:${input.clientId}`, { userId: input.userId, scopes: formatScopes(input.scopes) });
        await store.insertAuthorizationCode(
          tx,
          input.codeKey,
          { client_id: input.clientId, user_id: input.userId, redirect_uri: input.redirectUri, code_challenge: input.challenge, scopes: formatScopes(input.scopes), expires_at_ms: input.expiresAtMs },
          atMs,
        );
        return { issued: true };
      },
    },
    /** Ends one session (RFC 7009): its refresh tokens stop refreshing and its access tokens are refused. */
    revokeSession: {
      name: 'session.revoke',
      changesActors: true,
      authorize: async (q, { input, actor }) => {
        const family = await store.getFamily(q, input.familyId);
        // The service looked the family up through the caller's own client; this keeps it so.
        if (family !== undefined && !isPurseItself(actor) && family.client_id !== actor.clientId) throw forbidden('a client may revoke only its own tokens');
      },
      run: async (tx, { input, atMs }, _prepared, effects) => {
        const family = await store.getFamily(tx, input.familyId);
        if (family === undefined || !(await store.revokeFamily(tx, input.familyId, atMs))) return { revoked: false };
        effects.about(`user:${family.user_id}`, { clientId: family.client_id });
        effects.emit('session.revoked', `user:${family.user_id}`, { userId: family.user_id, clientId: family.client_id, reason: 'revoked by the client' });
        return { revoked: true };
      },
    },
    /** A person's new password; their other sessions end with it, the one that asked stays open. */
    changePassword: {
      name: 'password.change',
      changesActors: true,
      idempotent: false,
      prepare: async ({ input }) => ({ passwordHash: await hasher.slowHash(input.password) }),
      authorize: async (_q, { input, actor }) => {
        if (actor.kind !== 'person' || actor.userId !== input.userId) throw forbidden('only the person themselves may change their password this way');
      },
      run: async (tx, { input, atMs }, { passwordHash }, effects) => {
        await tx.run('UPDATE users SET password_hash = ?, updated_at_ms = ? WHERE id = ?', [passwordHash, atMs, input.userId]);
        effects.about(`user:${input.userId}`, { password: 'changed' });
        await store.consumeCodesOfUser(tx, input.userId, atMs);
        if ((await store.revokeOtherFamiliesOfUser(tx, input.userId, input.keepFamilyId, atMs)) > 0) {
          effects.emit('session.revoked', `user:${input.userId}`, { userId: input.userId, clientId: null, reason: 'password changed' });
        }
        return { changed: true };
      },
    },
  };
}

/**
 * A code presented again (or too late): whatever its first use issued is revoked (RFC 6749 §4.1.2),
 * since one of the two presenters stole it. The revocation is kept and the grant refused.
 */
async function refuseCodeReplay(tx: Tx, codeKey: string, input: TokenIssue, atMs: number, effects: Effects): Promise<Refused> {
  const row = await store.getAuthorizationCode(tx, codeKey);
  if (row?.family_id !== null && row?.family_id !== undefined && (await store.revokeFamily(tx, row.family_id, atMs))) {
    effects.emit('session.revoked', `user:${row.user_id}`, { userId: row.user_id, clientId: input.clientId, reason: 'authorization code reused' });
  }
  return refuse(invalid(CODE_REFUSED));
}

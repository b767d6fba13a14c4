// API clients and refresh tokens as commands. Secrets and tokens are made and hashed before the
// transaction; only their hashes reach it.
import { actorHasRight } from './principal.js';
import type { CommandDefinition, Effects } from '../commands/types.js';
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
}

declare module '../commands/types.js' {
  interface CommandMap {
    'client.create': { input: NewClient; output: { id: string } };
    'client.revoke': { input: { id: string }; output: { id: string } };
    'token.issue': { input: TokenIssue; output: { issued: true } };
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
 * refresh-token families are revoked, and with them the access tokens issued in those families.
 */
export async function endSessions(tx: Tx, userId: number, reason: string, atMs: number, effects: Effects): Promise<void> {
  if ((await store.revokeFamiliesOfUser(tx, userId, atMs)) === 0) return;
  effects.emit('session.revoked', `user:${userId}`, { userId, clientId: null, reason });
}

export const REFRESH_REFUSED = 'refresh token was already used, has expired or was revoked; its family is now revoked';

export function authCommands(hasher: Hasher): {
  createClient: CommandDefinition<'client.create', { secretHash: string }>;
  revokeClient: CommandDefinition<'client.revoke'>;
  issueToken: CommandDefinition<'token.issue'>;
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
      authorize: async (_q, { actor }) => {
        if (!actorHasRight(actor, 'admin')) throw forbidden('registering an API client needs the admin right');
      },
      run: async (tx, { input, atMs }, { secretHash }, effects) => {
        await registerClient(tx, input, secretHash, atMs, effects);
        return { id: input.id };
      },
    },
    revokeClient: {
      name: 'client.revoke',
      changesActors: true,
      authorize: async (_q, { actor }) => {
        if (!actorHasRight(actor, 'admin')) throw forbidden('revoking an API client needs the admin right');
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
        if (refresh === null) return { issued: true };
        if (rotation === null) await store.insertFamily(tx, refresh.familyId, input.clientId, input.userId, atMs);
        await store.insertRefreshToken(tx, refresh.tokenKey, refresh.familyId, formatScopes(input.scopes), refresh.expiresAtMs, atMs);
        return { issued: true };
      },
    },
  };
}

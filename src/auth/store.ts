// SQL of the auth module: API clients, refresh-token families, refresh tokens and authorization codes.
import type { ReadTx, Tx } from '../db/index.js';

export interface ClientRow {
  id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  user_id: number;
  created_at_ms: number;
  revoked_at_ms: number | null;
}

export async function insertClient(tx: Tx, row: Omit<ClientRow, 'revoked_at_ms'>): Promise<void> {
  await tx.run('INSERT INTO api_clients (id, name, secret_hash, scopes, user_id, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)', [
    row.id,
    row.name,
    row.secret_hash,
    row.scopes,
    row.user_id,
    row.created_at_ms,
  ]);
}

export function getClient(q: ReadTx, id: string): Promise<ClientRow | undefined> {
  return q.get<ClientRow>('SELECT id, name, secret_hash, scopes, user_id, created_at_ms, revoked_at_ms FROM api_clients WHERE id = ?', [id]);
}

/** Every client, or those acting as one user. */
export function listClients(q: ReadTx, userId: number | null): Promise<ClientRow[]> {
  const columns = 'SELECT id, name, secret_hash, scopes, user_id, created_at_ms, revoked_at_ms FROM api_clients';
  return userId === null ? q.all<ClientRow>(`${columns} ORDER BY created_at_ms, id`) : q.all<ClientRow>(`${columns} WHERE user_id = ? ORDER BY created_at_ms, id`, [userId]);
}

export async function revokeClient(tx: Tx, id: string, nowMs: number): Promise<boolean> {
  const result = await tx.run('UPDATE api_clients SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL', [nowMs, id]);
  return result.changes === 1;
}

export async function insertFamily(tx: Tx, id: string, clientId: string, userId: number, nowMs: number): Promise<void> {
  await tx.run('INSERT INTO token_families (id, client_id, user_id, created_at_ms) VALUES (?, ?, ?, ?)', [id, clientId, userId, nowMs]);
}

/** Revokes a live family; false when it was revoked already (or does not exist). */
export async function revokeFamily(tx: Tx, id: string, nowMs: number): Promise<boolean> {
  const result = await tx.run('UPDATE token_families SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL', [nowMs, id]);
  return result.changes === 1;
}

export interface FamilyRow {
  id: string;
  client_id: string;
  user_id: number;
  revoked_at_ms: number | null;
}

export function getFamily(q: ReadTx, id: string): Promise<FamilyRow | undefined> {
  return q.get<FamilyRow>('SELECT id, client_id, user_id, revoked_at_ms FROM token_families WHERE id = ?', [id]);
}

/** Revokes every live family of a person but one (the session that asked); how many there were. */
export async function revokeOtherFamiliesOfUser(tx: Tx, userId: number, keepFamilyId: string | null, nowMs: number): Promise<number> {
  const result = await tx.run('UPDATE token_families SET revoked_at_ms = ? WHERE user_id = ? AND revoked_at_ms IS NULL AND id <> ?', [nowMs, userId, keepFamilyId ?? '']);
  return result.changes;
}

/** Revokes every live family of a person; how many there were. */
export async function revokeFamiliesOfUser(tx: Tx, userId: number, nowMs: number): Promise<number> {
  const result = await tx.run('UPDATE token_families SET revoked_at_ms = ? WHERE user_id = ? AND revoked_at_ms IS NULL', [nowMs, userId]);
  return result.changes;
}

export async function insertRefreshToken(tx: Tx, tokenKey: string, familyId: string, scopes: string, expiresAtMs: number, nowMs: number): Promise<void> {
  await tx.run('INSERT INTO refresh_tokens (token_key, family_id, scopes, expires_at_ms, created_at_ms) VALUES (?, ?, ?, ?, ?)', [
    tokenKey,
    familyId,
    scopes,
    expiresAtMs,
    nowMs,
  ]);
}

export interface RefreshTokenRow {
  family_id: string;
  scopes: string;
  expires_at_ms: number;
  used_at_ms: number | null;
  client_id: string;
  user_id: number;
  family_revoked_at_ms: number | null;
}

export function getRefreshToken(q: ReadTx, tokenKey: string): Promise<RefreshTokenRow | undefined> {
  return q.get<RefreshTokenRow>(
    `SELECT r.family_id, r.scopes, r.expires_at_ms, r.used_at_ms, f.client_id, f.user_id, f.revoked_at_ms AS family_revoked_at_ms
     FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE r.token_key = ?`,
    [tokenKey],
  );
}

/** Marks a live refresh token used; false when it was already used (a replay) or is dead. */
export async function useRefreshToken(tx: Tx, tokenKey: string, nowMs: number): Promise<boolean> {
  const result = await tx.run(
    `UPDATE refresh_tokens SET used_at_ms = ?
     WHERE token_key = ? AND used_at_ms IS NULL AND expires_at_ms > ?
       AND family_id IN (SELECT id FROM token_families WHERE revoked_at_ms IS NULL)`,
    [nowMs, tokenKey, nowMs],
  );
  return result.changes === 1;
}

export interface PrincipalRow {
  active: number;
  rights: string;
  client_revoked_at_ms: number | null;
  family_revoked_at_ms: number | null;
}

/** What a request's token must still be true of: user active, client and family not revoked. */
export function getPrincipalState(q: ReadTx, userId: number, clientId: string, familyId: string | null): Promise<PrincipalRow | undefined> {
  return q.get<PrincipalRow>(
    `SELECT u.active, u.rights, c.revoked_at_ms AS client_revoked_at_ms,
            (SELECT f.revoked_at_ms FROM token_families f WHERE f.id = ?) AS family_revoked_at_ms
     FROM users u, api_clients c WHERE u.id = ? AND c.id = ?`,
    [familyId, userId, clientId],
  );
}

export interface AuthorizationCodeRow {
  client_id: string;
  user_id: number;
  redirect_uri: string;
  code_challenge: string;
  scopes: string;
  expires_at_ms: number;
  consumed_at_ms: number | null;
  family_id: string | null;
}

/** Codes expired this long ago are deleted as new ones are stored: long past any replay worth revoking. */
const CODE_KEEP_AFTER_EXPIRY_MS = 60 * 60_000;

export async function insertAuthorizationCode(tx: Tx, codeKey: string, row: Omit<AuthorizationCodeRow, 'consumed_at_ms' | 'family_id'>, nowMs: number): Promise<void> {
  await tx.run('DELETE FROM authorization_codes WHERE expires_at_ms < ?', [nowMs - CODE_KEEP_AFTER_EXPIRY_MS]);
  await tx.run(
    'INSERT INTO authorization_codes (code_key, client_id, user_id, redirect_uri, code_challenge, scopes, expires_at_ms, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [codeKey, row.client_id, row.user_id, row.redirect_uri, row.code_challenge, row.scopes, row.expires_at_ms, nowMs],
  );
}

export function getAuthorizationCode(q: ReadTx, codeKey: string): Promise<AuthorizationCodeRow | undefined> {
  return q.get<AuthorizationCodeRow>(
    'SELECT client_id, user_id, redirect_uri, code_challenge, scopes, expires_at_ms, consumed_at_ms, family_id FROM authorization_codes WHERE code_key = ?',
    [codeKey],
  );
}

/** Uses up every unredeemed code of a person, so that none issued before a change of credentials opens a session after it; how many. */
export async function consumeCodesOfUser(tx: Tx, userId: number, nowMs: number): Promise<number> {
  const result = await tx.run('UPDATE authorization_codes SET consumed_at_ms = ? WHERE user_id = ? AND consumed_at_ms IS NULL', [nowMs, userId]);
  return result.changes;
}

/**
 * Uses a code up for the session it opens: one conditional UPDATE, so of two processes redeeming
 * the same code at once exactly one wins. False when it was used already or has expired.
 */
export async function consumeAuthorizationCode(tx: Tx, codeKey: string, familyId: string, nowMs: number): Promise<boolean> {
  const result = await tx.run(
    'UPDATE authorization_codes SET consumed_at_ms = ?, family_id = ? WHERE code_key = ? AND consumed_at_ms IS NULL AND expires_at_ms > ?',
    [nowMs, familyId, codeKey, nowMs],
  );
  return result.changes === 1;
}

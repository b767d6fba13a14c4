// The OAuth2 rules: API clients, the four grants, refresh rotation with reuse detection, one-time
// authorization codes (PKCE), revocation, and the check every guarded request goes through.
import crypto from 'node:crypto';

import type { Clock } from '../clock.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import type { Db } from '../db/index.js';
import { forbidden, invalid, notFound, OAuthError, unauthorized } from '../errors.js';
import type { LoginInfo, UsersService } from '../users/service.js';

import type { AccessTokens } from './access-tokens.js';
import { newClientSecret, randomToken, type Hasher } from './hashing.js';
import { actorHasRight, actorOf, actorUserId, type Actor, type Principal } from './principal.js';
import { TtlCache } from '../ttl-cache.js';
import { WEB_CLIENT_ID } from './web-client.js';

import type { PrincipalCache } from './principal-cache.js';
import { ALL_SCOPES, formatScopes, hasRight, parseRights, parseScopes, type Right, type Scope } from './scopes.js';
import * as store from './store.js';

export interface TokenRequest {
  grant_type?: string;
  client_id?: string;
  client_secret?: string;
  scope?: string;
  refresh_token?: string;
  login_info?: unknown;
  code?: string;
  redirect_uri?: string;
  code_verifier?: string;
}

/** RFC 7009: the token to revoke and the client asking. */
export interface RevokeRequest {
  token?: string;
  token_type_hint?: string;
  client_id?: string;
  client_secret?: string;
}

/** What the login page asks for a code with, once the person is known. */
export interface CodeRequest {
  clientId: string;
  userId: number;
  redirectUri: string;
  challenge: string;
  scopes: Scope[];
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

export interface MeView {
  id: number;
  username: string;
  fullname: string;
  email: string;
  rights: Right[];
  scopes: Scope[];
}

export interface ClientView {
  id: string;
  name: string;
  scopes: Scope[];
  userId: number;
  createdAt: string;
  revoked: boolean;
}

const MAX_SECRET_LENGTH = 256;
const SECRET_PROOF_TTL_MS = 5 * 60_000;

const WEB_CLIENT_GRANTS: readonly string[] = ['authorization_code', 'refresh_token'];
/** How long a login page's code may wait to be redeemed. */
const CODE_TTL_MS = 60_000;
const GRANT_TYPES = ['client_credentials', 'login_info', 'refresh_token', 'authorization_code'];

export class AuthService {
  constructor(
    private readonly db: Db,
    private readonly hasher: Hasher,
    private readonly accessTokens: AccessTokens,
    private readonly users: UsersService,
    private readonly clock: Clock,
    private readonly refreshTtlSeconds: number,
    private readonly principals: PrincipalCache,
    private readonly pipeline: CommandPipeline,
  ) {
    this.verifiedSecrets = new TtlCache(clock, SECRET_PROOF_TTL_MS);
    // Whatever changes a person, a client or a session may change what a token is allowed, in any
    // process sharing the database.
    pipeline.invalidateOn(/^(user|client|session)\./, () => {
      this.principals.clear();
      this.verifiedSecrets.clear();
    });
  }

  /**
   * Client secrets that passed argon2 lately, by a keyed hash of (client, stored hash, secret): a
   * client asking for tokens all day pays the slow hash once every few minutes, not every time.
   * A wrong secret never gets in (it hashes to another key); a new secret changes the stored hash.
   */
  private readonly verifiedSecrets: TtlCache<string, true>;

  // ---- grants -------------------------------------------------------------------------------

  async grant(request: TokenRequest): Promise<TokenResponse> {
    const grantType = request.grant_type;
    if (grantType === undefined || grantType === '') throw new OAuthError('invalid_request', 'grant_type is required', [{ field: 'grant_type', problem: 'is required' }]);
    if (!GRANT_TYPES.includes(grantType)) {
      throw new OAuthError('unsupported_grant_type', `grant type "${grantType}" is not supported`, [{ field: 'grant_type', problem: 'must be client_credentials, login_info, refresh_token or authorization_code' }]);
    }
    const loginInfo = grantType === 'login_info' ? parseLoginInfo(request.login_info) : undefined;
    const required = grantType === 'refresh_token' ? ['refresh_token'] : grantType === 'authorization_code' ? ['code', 'redirect_uri', 'code_verifier'] : [];
    for (const field of required) {
      const value = request[field as keyof TokenRequest];
      if (value === undefined || value === '') throw new OAuthError('invalid_request', `${field} is required`, [{ field, problem: 'is required' }]);
    }
    const client = await this.authenticateClient(request.client_id, request.client_secret, grantType);
    if (grantType === 'refresh_token') return this.refresh(client, request.refresh_token ?? '', request.scope);
    if (grantType === 'authorization_code') return this.redeemCode(client, request.code ?? '', request.redirect_uri ?? '', request.code_verifier ?? '');
    const scopes = grantedScopes(request.scope, parseScopes(client.scopes).known);
    const userId = loginInfo === undefined ? client.user_id : await this.users.login(loginInfo);
    if (userId === null) throw new OAuthError('invalid_grant', 'the login credentials are not valid');
    return this.issue(loginInfo === undefined ? 'client' : 'person', client.id, userId, scopes, null, null);
  }

  /**
   * Whom a login_info request tries to log in as, through which client, as a key of the failure
   * limit; undefined for the other grants and for a card or PIN alone (see UsersService.loginSubject).
   */
  loginAttemptKey(request: TokenRequest): string | undefined {
    if (request.grant_type !== 'login_info' || request.client_id === undefined) return undefined;
    const subject = this.users.loginSubject(parseLoginInfo(request.login_info));
    return subject === undefined ? undefined : `client:${request.client_id} ${subject}`;
  }

  /** The client a request names, authenticated: by its secret, or for the public client by its id and grant alone. */
  private async authenticateClient(clientId: string | undefined, secret: string | undefined, grantType: string): Promise<store.ClientRow> {
    if (clientId === WEB_CLIENT_ID) return this.publicClient(secret, grantType);
    if (clientId === undefined || secret === undefined || clientId === '' || secret.length > MAX_SECRET_LENGTH) {
      throw new OAuthError('invalid_client', 'client authentication failed');
    }
    const client = await this.db.read((q) => store.getClient(q, clientId));
    const proof = this.hasher.keyed('secret', `${clientId}\n${client?.secret_hash ?? ''}\n${secret}`);
    const ok = this.verifiedSecrets.get(proof) === true || (await this.hasher.slowVerify(client?.secret_hash, secret));
    if (!ok || client === undefined || client.revoked_at_ms !== null) throw new OAuthError('invalid_client', 'client authentication failed');
    this.verifiedSecrets.set(proof, true);
    return client;
  }

  private async publicClient(secret: string | undefined, grantType: string): Promise<store.ClientRow> {
    // A secret sent by a client that has none is a confused or forged caller: refuse, do not ignore.
    if (secret !== undefined && secret !== '') throw new OAuthError('invalid_client', 'client authentication failed');
    const client = await this.db.read((q) => store.getClient(q, WEB_CLIENT_ID));
    if (client === undefined || client.revoked_at_ms !== null) throw new OAuthError('invalid_client', 'client authentication failed');
    if (!WEB_CLIENT_GRANTS.includes(grantType)) throw new OAuthError('unauthorized_client', `the public client ${WEB_CLIENT_ID} may use only ${WEB_CLIENT_GRANTS.join(' and ')}`, [{ field: 'grant_type', problem: `must be ${WEB_CLIENT_GRANTS.join(' or ')} for ${WEB_CLIENT_ID}` }]);
    return client;
  }

  /**
   * RFC 7636 §4.6: the code must be live, issued to this client for this redirect URI, and the
   * verifier must hash to its challenge. A failed check leaves the code as it is; using it up
   * happens in the transaction that stores the session (token.issue), so that it works once.
   */
  private async redeemCode(client: store.ClientRow, code: string, redirectUri: string, verifier: string): Promise<TokenResponse> {
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) {
      throw new OAuthError('invalid_request', 'code_verifier must be 43–128 characters of A–Z, a–z, 0–9, "-", ".", "_" and "~"', [{ field: 'code_verifier', problem: 'is not an RFC 7636 verifier' }]);
    }
    const codeKey = this.hasher.keyed('code', code);
    const row = await this.db.read((q) => store.getAuthorizationCode(q, codeKey));
    if (row === undefined || row.client_id !== client.id || row.redirect_uri !== redirectUri) throw new OAuthError('invalid_grant', 'authorization code is not valid for this client and redirect_uri');
    if (row.consumed_at_ms === null && row.expires_at_ms <= this.clock.nowMs()) throw new OAuthError('invalid_grant', 'authorization code has expired');
    if (!challengeMatches(row.code_challenge, verifier)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
    return this.issue('person', client.id, row.user_id, parseScopes(row.scopes).known, null, codeKey);
  }

  private async refresh(client: store.ClientRow, refreshToken: string, requestedScope: string | undefined): Promise<TokenResponse> {
    const usedKey = this.hasher.keyed('refresh', refreshToken);
    const row = await this.db.read((q) => store.getRefreshToken(q, usedKey));
    if (row === undefined || row.client_id !== client.id) throw new OAuthError('invalid_grant', 'refresh token is not valid');
    const original = parseScopes(row.scopes).known;
    // RFC 6749 §6: a refresh may narrow the scope, never widen it; the client may have lost some too.
    const allowed = parseScopes(client.scopes).known.filter((s) => original.includes(s));
    const scopes = grantedScopes(requestedScope ?? formatScopes(original), allowed);
    // A family of the public client is always a person's session, even the person the client acts as.
    const kind = row.user_id === client.user_id && client.id !== WEB_CLIENT_ID ? 'client' : 'person';
    return this.issue(kind, client.id, row.user_id, scopes, { familyId: row.family_id, usedKey }, null);
  }

  /**
   * Issues an access token and, when offline.access is granted, a refresh token. On a refresh, the
   * presented token is marked used in the same transaction that stores its successor; a token
   * that cannot be used (already used, expired, revoked) kills its whole family (RFC 9700 §4.14.2).
   * A code always opens a session (a family), refresh token or not, so that the app's logout and a
   * replayed code can end it.
   */
  private async issue(kind: 'person' | 'client', clientId: string, userId: number, scopes: Scope[], rotation: { familyId: string; usedKey: string } | null, codeKey: string | null): Promise<TokenResponse> {
    const state = await this.db.read((q) => store.getPrincipalState(q, userId, clientId, rotation?.familyId ?? null));
    if (state === undefined || state.active !== 1) throw new OAuthError('invalid_grant', 'the user is not active');
    const refreshToken = scopes.includes('offline.access') ? randomToken() : undefined;
    const familyId = rotation?.familyId ?? (refreshToken === undefined && codeKey === null ? null : crypto.randomUUID());
    // A grant without a refresh token or code to store or use up changes nothing: no command.
    if (familyId !== null) {
      const atMs = this.clock.nowMs();
      const refresh = refreshToken === undefined ? null : { tokenKey: this.hasher.keyed('refresh', refreshToken), familyId, expiresAtMs: atMs + this.refreshTtlSeconds * 1000 };
      const code = codeKey === null ? null : { codeKey, familyId };
      const { outcome } = await this.pipeline.execute({
        name: 'token.issue',
        input: { clientId, userId, scopes, rotation, refresh, code },
        actor: { kind, userId, clientId, familyId: null, scopes, rights: [] },
        atMs,
      });
      if (!outcome.ok) throw new OAuthError('invalid_grant', outcome.error.message);
    }
    const accessToken = await this.accessTokens.sign({ kind, userId, clientId, scopes, familyId });
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.accessTokens.expiresInSeconds,
      scope: formatScopes(scopes),
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    };
  }

  // ---- the login page, revocation ---------------------------------------------------------------

  /**
   * Checks a login of the page as the login_info grant does, except that an account holding any
   * right must use its password, and answers a one-time code for the person; wrong credentials are
   * an invalid_grant, which the failure limit counts as the token endpoint's.
   */
  async loginForCode(info: LoginInfo, request: Omit<CodeRequest, 'userId'>): Promise<string> {
    // The page gives every scope of purse-web: a card and a PIN must not be all that guards a right.
    const userId = await this.users.login(info, { passwordForRights: true });
    if (userId === null) throw new OAuthError('invalid_grant', 'the login credentials are not valid');
    const code = randomToken();
    const atMs = this.clock.nowMs();
    const actor: Actor = { kind: 'person', userId, clientId: request.clientId, familyId: null, scopes: request.scopes, rights: [] };
    const input = { codeKey: this.hasher.keyed('code', code), ...request, userId, expiresAtMs: atMs + CODE_TTL_MS };
    const { outcome } = await this.pipeline.execute({ name: 'code.issue', input, actor, atMs });
    if (!outcome.ok) throw new OAuthError('invalid_grant', outcome.error.message);
    return code;
  }

  /** Whom a login of the page names, as the failure-limit key the token endpoint uses for it. */
  loginKeyOf(clientId: string, info: LoginInfo): string | undefined {
    const subject = this.users.loginSubject(info);
    return subject === undefined ? undefined : `client:${clientId} ${subject}`;
  }

  /**
   * RFC 7009: ends the session a refresh or access token belongs to, when it belongs to the client
   * asking. An unknown, foreign or already revoked token changes nothing and is no error (§2.2). An
   * access token outside any session (client_credentials, login_info without offline.access) is a
   * signed JWT that nothing stored can end before it expires: unsupported_token_type (§2.2.1).
   */
  async revoke(request: RevokeRequest): Promise<void> {
    if (request.token === undefined || request.token === '') throw new OAuthError('invalid_request', 'token is required', [{ field: 'token', problem: 'is required' }]);
    const client = await this.authenticateClient(request.client_id, request.client_secret, 'refresh_token');
    const familyId = request.token_type_hint === 'access_token' ? ((await this.accessFamily(client, request.token)) ?? (await this.refreshFamily(client, request.token))) : ((await this.refreshFamily(client, request.token)) ?? (await this.accessFamily(client, request.token)));
    if (familyId === undefined) return;
    const family = await this.db.read((q) => store.getFamily(q, familyId));
    if (family === undefined || family.revoked_at_ms !== null) return;
    const actor: Actor = { kind: 'person', userId: family.user_id, clientId: client.id, familyId: null, scopes: [], rights: [] };
    await this.pipeline.perform('session.revoke', { familyId }, actor);
  }

  private async refreshFamily(client: store.ClientRow, token: string): Promise<string | undefined> {
    const row = await this.db.read((q) => store.getRefreshToken(q, this.hasher.keyed('refresh', token)));
    return row?.client_id === client.id ? row.family_id : undefined;
  }

  private async accessFamily(client: store.ClientRow, token: string): Promise<string | undefined> {
    const claims = await this.accessTokens.verify(token).catch(() => undefined);
    if (claims === undefined || claims.clientId !== client.id) return undefined;
    if (claims.familyId === null) throw new OAuthError('unsupported_token_type', 'this access token belongs to no session and cannot be revoked; it expires by itself', [{ field: 'token', problem: 'is an access token without a session' }]);
    return claims.familyId;
  }

  // ---- the person behind a token -----------------------------------------------------------------

  /** Who a token belongs to and what it may reach: what an app asks first, to know which pages to show. */
  async me(principal: Principal): Promise<MeView> {
    const user = await this.users.getAny(principal.userId);
    return { id: user.id, username: user.username, fullname: user.fullname, email: user.email, rights: [...principal.rights], scopes: [...principal.scopes] };
  }

  /** A person's new password, checked against the current one; their other sessions end. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<void> {
    // Before the password is checked, or a client's token could tell a right guess from a wrong one.
    if (principal.kind !== 'person') throw forbidden('only the person themselves may change their password this way');
    const me = await this.users.getAny(principal.userId);
    const userId = await this.users.login({ type: 3, user: me.username, pwd: currentPassword });
    if (userId !== principal.userId) throw invalid('currentPassword is not valid', [{ field: 'currentPassword', problem: 'is not the current password' }]);
    await this.pipeline.perform('password.change', { userId, password: newPassword, keepFamilyId: principal.familyId }, actorOf(principal));
  }

  // ---- the request guard ------------------------------------------------------------------------

  /** Turns an Authorization header into a principal, or a 401 saying what is wrong with it. */
  async authenticate(header: string | undefined): Promise<Principal> {
    if (header === undefined || header === '') throw unauthorized('a bearer token is required', 'invalid_request');
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (match?.[1] === undefined) throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');
    const claims = await this.accessTokens.verify(match[1]);
    const state = await this.principalState(claims.userId, claims.clientId, claims.familyId);
    if (state === undefined || state.active !== 1 || state.client_revoked_at_ms !== null || state.family_revoked_at_ms !== null) {
      throw unauthorized('token has been revoked');
    }
    return { kind: claims.kind, userId: claims.userId, clientId: claims.clientId, scopes: new Set(claims.scopes), rights: parseRights(state.rights), storedRights: state.rights, familyId: claims.familyId };
  }

  private async principalState(userId: number, clientId: string, familyId: string | null): Promise<store.PrincipalRow | undefined> {
    const key = `${userId}\n${clientId}\n${familyId ?? ''}`;
    const cached = this.principals.get(key);
    if (cached !== undefined) return cached;
    const state = await this.db.read((q) => store.getPrincipalState(q, userId, clientId, familyId));
    if (state !== undefined) this.principals.set(key, state);
    return state;
  }

  /** The route's scope (when it names one) must be in the token and its right on the user. */
  authorize(principal: Principal, scope: Scope | undefined, right: Right | undefined): void {
    if (scope !== undefined && !principal.scopes.has(scope)) throw forbidden(`this token lacks the scope "${scope}"`);
    if (right !== undefined && !hasRight(principal.rights, right)) throw forbidden(`this needs the right "${right}"`);
  }

  // ---- API clients ------------------------------------------------------------------------------

  /** Registers a client; the secret is returned this once and stored only as a slow hash. */
  async createClient(input: { name: string; scopes: string; userId: number; id?: string; secret?: string }, actor: Actor): Promise<{ id: string; secret: string }> {
    const { known, unknown } = parseScopes(input.scopes);
    if (unknown.length > 0 || known.length === 0) {
      throw invalid(`scopes must be some of: ${ALL_SCOPES.join(', ')}`, [{ field: 'scopes', problem: unknown.length > 0 ? `unknown: ${unknown.join(', ')}` : 'none given' }]);
    }
    await this.users.getAny(input.userId);
    const secret = input.secret ?? newClientSecret();
    const { id } = await this.pipeline.perform('client.create', { id: input.id ?? crypto.randomUUID(), name: input.name, scopes: known, userId: input.userId, secret }, actor);
    return { id, secret };
  }

  /** Every client for an administrator; below, only those acting as oneself. */
  async listClients(actor: Actor): Promise<ClientView[]> {
    const rows = await this.db.read((q) => store.listClients(q, actorHasRight(actor, 'admin') ? null : actorUserId(actor)));
    return rows.map(clientView);
  }

  async getClient(id: string): Promise<ClientView> {
    const row = await this.db.read((q) => store.getClient(q, id));
    if (row === undefined) throw notFound(`client "${id}" does not exist`);
    return clientView(row);
  }

  /** Revokes a client: its tokens stop working at once, its secret is refused. */
  async revokeClient(id: string, actor: Actor): Promise<void> {
    await this.pipeline.perform('client.revoke', { id }, actor);
  }
}

function clientView(row: store.ClientRow): ClientView {
  return {
    id: row.id,
    name: row.name,
    scopes: parseScopes(row.scopes).known,
    userId: row.user_id,
    createdAt: new Date(row.created_at_ms).toISOString(),
    revoked: row.revoked_at_ms !== null,
  };
}

/**
 * Granted = requested ∩ allowed; nothing requested → everything allowed (as MyQ X v3 grants scopes). Names Purse
 * does not know are left out rather than refused (RFC 6749 §3.3: the server may grant less and says
 * what it granted in `scope`), so a client written for a server with more scopes still gets a token.
 */
export function grantedScopes(requested: string | undefined, allowed: readonly Scope[]): Scope[] {
  if (requested === undefined || requested.trim() === '') return [...allowed];
  const { known } = parseScopes(requested);
  const granted = known.filter((s) => allowed.includes(s));
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'none of the requested scopes is allowed for this client', [{ field: 'scope', problem: `allowed: ${formatScopes(allowed)}` }]);
  return granted;
}

const LOGIN_FIELDS: Readonly<Record<number, readonly ('card' | 'pin' | 'user' | 'pwd')[]>> = {
  1: ['card'],
  2: ['pin'],
  3: ['user', 'pwd'],
  4: ['card', 'pin'],
  5: ['card', 'pwd'],
};

/** login_info arrives as an object (JSON) or as JSON text (form-encoded bodies). */
function parseLoginInfo(raw: unknown): LoginInfo {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      throw new OAuthError('invalid_request', 'login_info must be an object', [{ field: 'login_info', problem: 'is not valid JSON' }]);
    }
  }
  if (typeof value !== 'object' || value === null) {
    throw new OAuthError('invalid_request', 'login_info is required', [{ field: 'login_info', problem: 'must be an object with type 1–5' }]);
  }
  const info = value as Record<string, unknown>;
  const type = info.type;
  const fields = typeof type === 'number' ? LOGIN_FIELDS[type] : undefined;
  if (fields === undefined) throw new OAuthError('invalid_request', 'login_info.type must be 1–5', [{ field: 'login_info.type', problem: 'must be 1 (card), 2 (PIN), 3 (user+pwd), 4 (card+PIN) or 5 (card+pwd)' }]);
  for (const field of fields) {
    const v = info[field];
    if (typeof v !== 'string' || v === '' || v.length > MAX_SECRET_LENGTH) {
      throw new OAuthError('invalid_request', `login_info.${field} is required`, [{ field: `login_info.${field}`, problem: `must be a string of 1–${MAX_SECRET_LENGTH} characters` }]);
    }
    // login_info may come as JSON text, which the request-wide NUL check cannot see into.
    if (v.includes('\u0000')) throw new OAuthError('invalid_request', `login_info.${field} must not contain NUL characters`, [{ field: `login_info.${field}`, problem: 'contains a NUL character (U+0000)' }]);
  }
  return info as unknown as LoginInfo;
}

/** RFC 7636 §4.6 (S256): BASE64URL(SHA-256(verifier)) equals the challenge, compared in constant time. */
function challengeMatches(challenge: string, verifier: string): boolean {
  const expected = Buffer.from(crypto.createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const given = Buffer.from(challenge);
  return expected.length === given.length && crypto.timingSafeEqual(expected, given);
}

// The OAuth2 side of the login (RFC 6749 with PKCE, RFC 7636; revocation, RFC 7009) for the public
// client purse-web: form-encoded requests to the token and revoke endpoints, as those RFCs define them.
export const CLIENT_ID = 'purse-web';
/** Every scope: what the person may do is still limited by their rights. */
const SCOPE = 'credit users payments settings offline.access';
const PENDING_KEY = 'purse.login';
/** A login left half-way (the tab closed on the login page) is not resumed after this long. */
const PENDING_TTL_MS = 10 * 60_000;

export interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  refresh_token?: string;
}

/** The verifier and state survive the round trip to the login page in sessionStorage: they are not tokens, and die with the tab. */
interface PendingLogin {
  verifier: string;
  state: string;
  returnTo: string;
  startedAtMs: number;
}

export class LoginError extends Error {}

export function redirectUri(): string {
  return `${window.location.origin}/callback`;
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Set once the page is on its way to the login page: logout and the signed-out shell both ask. */
let leaving = false;
// A page the browser brings back from its back-forward cache may leave again.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) leaving = false;
});

/**
 * Leaves for Purse's login page; it comes back to /callback with a one-time code. Only the first
 * call leaves: a second would write another verifier and state and abort the first navigation.
 */
export async function startLogin(returnTo: string): Promise<void> {
  if (leaving) return;
  leaving = true;
  const pending: PendingLogin = { verifier: randomText(), state: randomText(), returnTo, startedAtMs: Date.now() };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
    state: pending.state,
    scope: SCOPE,
  });
  window.location.assign(`/oauth/authorize?${query.toString()}`);
}

function takePending(): PendingLogin {
  const text = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (text === null) throw new LoginError('This login was not started here, or was already used. Log in again.');
  const pending = JSON.parse(text) as PendingLogin;
  if (Date.now() - pending.startedAtMs > PENDING_TTL_MS) throw new LoginError('This login took too long. Log in again.');
  return pending;
}

/** /callback: checks the state, trades the code for tokens; gives the page to return to. */
export async function completeLogin(query: URLSearchParams): Promise<{ tokens: TokenAnswer; returnTo: string }> {
  const pending = takePending();
  if (query.get('state') !== pending.state) throw new LoginError('The login answer does not match the login that was started. Log in again.');
  const error = query.get('error');
  if (error !== null) throw new LoginError(query.get('error_description') ?? error);
  const code = query.get('code');
  if (code === null || code === '') throw new LoginError('The login page gave no code. Log in again.');
  const tokens = await tokenRequest({ grant_type: 'authorization_code', client_id: CLIENT_ID, code, redirect_uri: redirectUri(), code_verifier: pending.verifier });
  return { tokens, returnTo: pending.returnTo };
}

export function refreshTokens(refreshToken: string): Promise<TokenAnswer> {
  return tokenRequest({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: refreshToken });
}

async function tokenRequest(fields: Record<string, string>): Promise<TokenAnswer> {
  const response = await fetch('/api/auth/token', { method: 'POST', body: new URLSearchParams(fields), headers: { accept: 'application/json' } });
  const body = (await response.json()) as Partial<TokenAnswer> & { error_description?: string; message?: string };
  if (!response.ok || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
    throw new LoginError(body.error_description ?? body.message ?? `the token endpoint answered ${response.status}`);
  }
  return { access_token: body.access_token, token_type: body.token_type ?? 'Bearer', expires_in: body.expires_in, scope: body.scope, refresh_token: body.refresh_token };
}

export async function revokeToken(token: string, hint: 'access_token' | 'refresh_token'): Promise<void> {
  await fetch('/api/auth/revoke', { method: 'POST', body: new URLSearchParams({ token, token_type_hint: hint, client_id: CLIENT_ID }) });
}

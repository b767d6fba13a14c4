// What the authorization-code tests share: a PKCE pair, the login page as a browser uses it (its
// CSRF cookie and hidden fields), and the token endpoint's authorization_code grant.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import type { LightMyRequestResponse } from 'fastify';

import type { TestApp } from './harness.js';

/** The origin of `inject` requests (Host localhost:80), as a browser writes it. */
export const ORIGIN = 'http://localhost';
export const REDIRECT_URI = `${ORIGIN}/callback`;
export const CSRF_COOKIE = 'purse_oauth_csrf';

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeParams(challenge: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: 'purse-web',
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The CSRF cookie a response sets, or undefined. */
export function csrfCookieOf(res: LightMyRequestResponse): string | undefined {
  return res.cookies.find((c) => c.name === CSRF_COOKIE)?.value;
}

export async function openPage(t: TestApp, params: Record<string, string>): Promise<{ res: LightMyRequestResponse; csrf: string }> {
  const res = await t.inject({ method: 'GET', url: `/oauth/authorize?${new URLSearchParams(params).toString()}` });
  return { res, csrf: csrfCookieOf(res) ?? '' };
}

export interface Submit {
  csrf?: string;
  cookie?: string | null;
  origin?: string | null;
  address?: string;
}

/** POSTs the login form as the page's browser would: Origin of this Purse, the cookie, the token. */
export async function submit(t: TestApp, params: Record<string, string>, fields: Record<string, string>, options: Submit = {}): Promise<LightMyRequestResponse> {
  const csrf = options.csrf ?? (await openPage(t, params)).csrf;
  const cookie = options.cookie === undefined ? csrf : options.cookie;
  const origin = options.origin === undefined ? ORIGIN : options.origin;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (origin !== null) headers.origin = origin;
  if (cookie !== null) headers.cookie = `${CSRF_COOKIE}=${cookie}`;
  return t.inject({ method: 'POST', url: '/oauth/authorize', headers, payload: new URLSearchParams({ ...params, csrf, ...fields }).toString(), remoteAddress: options.address ?? '127.0.0.1' });
}

/** Logs in through the page and answers the code from the redirect. */
export async function codeFor(t: TestApp, pair: Pkce, fields: Record<string, string>, overrides: Record<string, string | undefined> = {}): Promise<string> {
  const res = await submit(t, authorizeParams(pair.challenge, overrides), fields);
  assert.equal(res.statusCode, 303, res.body);
  const location = new URL(String(res.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  const code = location.searchParams.get('code');
  assert.ok(code !== null && code.length >= 43);
  return code;
}

export interface TokenAnswer {
  status: number;
  body: { access_token: string; refresh_token?: string; scope: string; token_type: string; expires_in: number; error?: string; error_description?: string };
}

export async function redeem(t: TestApp, code: string, verifier: string, overrides: Record<string, string> = {}): Promise<TokenAnswer> {
  const res = await t.inject({
    method: 'POST',
    url: '/api/auth/token',
    payload: { grant_type: 'authorization_code', client_id: 'purse-web', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...overrides },
  });
  return { status: res.statusCode, body: res.json() };
}

/** A person's session through the web app, as the browser app gets it. */
export async function webSession(t: TestApp, username: string, password: string): Promise<{ access: string; refresh: string }> {
  const pair = pkce();
  const answer = await redeem(t, await codeFor(t, pair, { method: 'password', username, password }), pair.verifier);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return { access: answer.body.access_token, refresh: answer.body.refresh_token ?? '' };
}

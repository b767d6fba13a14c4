// GET and POST /oauth/authorize — the login page of the authorization-code flow with PKCE (RFC 6749
// §4.1, RFC 7636) for Purse's own web app, and its stylesheet.
//
// CSRF: the form must not work when another site submits it (login CSRF would log a victim into
// the attacker's account). Two independent checks: the browser's Origin header must be this
// Purse's origin, and a random token set on GET in a cookie (HttpOnly, SameSite=Strict, Path=/oauth)
// must come back in the form (double submit). Another site can neither read the token nor make the
// browser send the Strict cookie with its own POST, nor forge Origin. No server-side state is kept.
import crypto from 'node:crypto';

import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';

import { AppError, OAuthError } from '../errors.js';
import type { LoginInfo } from '../users/service.js';

import type { FailureLimiter } from './failure-limiter.js';
import { errorPage, LOGIN_CSS, LOGIN_CSS_PATH, loginPage, type AuthorizeParams, type LoginMethod, type LoginPageState } from './login-page.js';
import { attemptKeys, countedKeys } from './routes.js';
import { AuthorizeFormSchema, AuthorizeQuerySchema } from './schemas.js';
import { grantedScopes, type AuthService } from './service.js';
import { ALL_SCOPES, type Scope } from './scopes.js';
import { WEB_CLIENT_ID } from './web-client.js';

export interface AuthorizeRoutesOptions {
  auth: AuthService;
  failures: FailureLimiter;
  /** PURSE_PUBLIC_URL: the origin browsers reach Purse at, when the request's own cannot be trusted to be it. */
  publicUrl: string | undefined;
}

const CSRF_COOKIE = 'purse_oauth_csrf';
const CSRF_COOKIE_MAX_AGE_SECONDS = 3600;
const CSRF_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** A Host header's host[:port] (RFC 9110 §7.2): a name or IPv4 address, or an IPv6 address in brackets. */
const HOST_PATTERN = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** RFC 7636 §4.2: BASE64URL of a SHA-256 hash, 43 characters. */
const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const WRONG_LOGIN: Readonly<Record<LoginMethod, { field: string; message: string }>> = {
  password: { field: 'password', message: 'username or password is not valid' },
  card: { field: 'pin', message: 'card or PIN is not valid' },
};

const HtmlPage = (description: string): { description: string; content: { 'text/html': { schema: { type: 'string' } } } } => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
});

type AuthorizeForm = Static<typeof AuthorizeFormSchema>;

/** A request whose client or redirect_uri is wrong: answered here, never sent to that redirect_uri. */
class PageError extends Error {}

/** A problem to tell the app at its redirect_uri (RFC 6749 §4.1.2.1). */
class RedirectError extends Error {
  constructor(
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

export const authorizeRoutes: FastifyPluginAsyncTypebox<AuthorizeRoutesOptions> = async (app, { auth, failures, publicUrl }) => {
  await app.register(formbody);
  await app.register(cookie);

  // Through URL, as browsers write an Origin: no default port (a Host of localhost:80 is http://localhost).
  // Only a plain host[:port]: URL would read `127.0.0.1:8080@evil.com` as the origin of evil.com.
  const originOf = (request: FastifyRequest): string => {
    if (publicUrl !== undefined) return publicUrl;
    const host: unknown = request.host;
    if (typeof host !== 'string' || !HOST_PATTERN.test(host) || !URL.canParse(`${request.protocol}://${host}`)) throw new PageError('the Host header must be a host name or address, with an optional port');
    return new URL(`${request.protocol}://${host}`).origin;
  };

  /** The parameters a login may go on with, or which error to answer with. */
  const checked = (request: FastifyRequest, query: Static<typeof AuthorizeQuerySchema>): { params: AuthorizeParams; scopes: Scope[] } => {
    if (query.client_id !== WEB_CLIENT_ID) throw new PageError(`client_id must be ${WEB_CLIENT_ID}: only Purse's own web app logs in here`);
    const redirectUri = `${originOf(request)}/callback`;
    if (query.redirect_uri !== redirectUri) throw new PageError(`redirect_uri must be ${redirectUri}`);
    if (query.response_type === undefined || query.response_type === '') throw new RedirectError('invalid_request', 'response_type is required');
    if (query.response_type !== 'code') throw new RedirectError('unsupported_response_type', 'response_type must be code');
    if (query.code_challenge_method !== 'S256') throw new RedirectError('invalid_request', 'code_challenge_method must be S256');
    if (query.code_challenge === undefined || !CHALLENGE_PATTERN.test(query.code_challenge)) throw new RedirectError('invalid_request', 'code_challenge must be BASE64URL(SHA-256(code_verifier)), 43 characters');
    let scopes: Scope[];
    try {
      scopes = grantedScopes(query.scope, ALL_SCOPES);
    } catch (error) {
      if (error instanceof OAuthError) throw new RedirectError('invalid_scope', error.message);
      throw error;
    }
    const params: AuthorizeParams = { client_id: WEB_CLIENT_ID, redirect_uri: redirectUri, code_challenge: query.code_challenge, code_challenge_method: 'S256' };
    if (query.state !== undefined) params.state = query.state;
    if (query.scope !== undefined) params.scope = query.scope;
    return { params, scopes };
  };

  /** Error pages and redirects for a request checked() refused; anything else goes on to the error handler. */
  const refusal = (reply: FastifyReply, query: Static<typeof AuthorizeQuerySchema>, error: unknown): FastifyReply => {
    if (error instanceof PageError) return html(reply.code(400), errorPage('This login link is not valid', error.message));
    if (!(error instanceof RedirectError)) throw error;
    const target = new URL(query.redirect_uri ?? '');
    target.searchParams.set('error', error.error);
    target.searchParams.set('error_description', error.message);
    if (query.state !== undefined) target.searchParams.set('state', query.state);
    return reply.redirect(target.toString(), 303);
  };

  /** The page with a CSRF token: the cookie's when it is sound, else a new one. */
  const render = (request: FastifyRequest, reply: FastifyReply, state: Omit<LoginPageState, 'csrf'>, fresh = false): FastifyReply => {
    const current = request.cookies[CSRF_COOKIE];
    const csrf = !fresh && current !== undefined && CSRF_PATTERN.test(current) ? current : crypto.randomBytes(32).toString('base64url');
    void reply.setCookie(CSRF_COOKIE, csrf, { path: '/oauth', httpOnly: true, sameSite: 'strict', secure: originOf(request).startsWith('https:'), maxAge: CSRF_COOKIE_MAX_AGE_SECONDS });
    return html(reply, loginPage({ ...state, csrf }));
  };

  app.get(LOGIN_CSS_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(LOGIN_CSS));

  app.get(
    '/oauth/authorize',
    {
      attachValidation: true,
      schema: {
        operationId: 'authorize',
        tags: ['auth'],
        summary: 'The login page (authorization code with PKCE)',
        description:
          `The HTML login page of Purse's web app (client \`${WEB_CLIENT_ID}\`), RFC 6749 §4.1 with PKCE (RFC 7636, S256 only). ` +
          'A wrong client_id or redirect_uri (which must be `<origin>/callback`) is an error page; other problems redirect back with `error` and `state`.',
        security: [],
        querystring: AuthorizeQuerySchema,
        response: { 200: HtmlPage('The login page'), 303: { description: 'Back to redirect_uri with error, error_description and state', type: 'null' }, 400: HtmlPage('An error page: the client or redirect_uri is not valid') },
      },
    },
    async (request, reply) => {
      if (request.validationError !== undefined) return invalidRequest(reply, request.validationError.message);
      const { query } = request;
      let params: AuthorizeParams;
      try {
        ({ params } = checked(request, query));
      } catch (error) {
        return refusal(reply, query, error);
      }
      return render(request, reply, { params });
    },
  );

  app.post(
    '/oauth/authorize',
    {
      attachValidation: true,
      schema: {
        operationId: 'authorizeLogin',
        tags: ['auth'],
        summary: 'Log in on the login page',
        description:
          'The login page\'s form (username + password, or card + PIN): on success a 303 to redirect_uri with a one-time `code` (60 s) and `state`. ' +
          'CSRF-safe (Origin check and a SameSite=Strict cookie double-submitted in the form); failed logins count against the same limits as the token endpoint\'s login_info grant.',
        security: [],
        consumes: ['application/x-www-form-urlencoded'],
        body: { ...AuthorizeFormSchema, examples: [{ method: 'password', username: 'alice', password: 'her-password', csrf: 'the token from the page', client_id: WEB_CLIENT_ID, redirect_uri: 'http://127.0.0.1:8080/callback', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 'xyz' }] },
        response: {
          303: { description: 'Logged in: to redirect_uri with code and state (or with error and state)', type: 'null' },
          400: HtmlPage('The page again, naming the missing field; or an error page for a wrong client or redirect_uri'),
          401: HtmlPage('The page again: the credentials are not valid'),
          403: HtmlPage('The page again with a new CSRF token: the form came from another site or has expired'),
          429: { ...HtmlPage('The page again: too many failed logins; wait for Retry-After seconds'), headers: { 'retry-after': { type: 'integer', minimum: 0 } } },
        },
      },
    },
    async (request, reply) => {
      if (request.validationError !== undefined) return invalidRequest(reply, request.validationError.message);
      const form: AuthorizeForm = request.body;
      let params: AuthorizeParams;
      let scopes: Scope[];
      try {
        ({ params, scopes } = checked(request, form));
      } catch (error) {
        return refusal(reply, form, error);
      }
      const method: LoginMethod = form.method ?? 'password';
      const again = { params, method, ...(form.username === undefined ? {} : { username: form.username }) };
      if (!sameSite(request, originOf(request), form.csrf)) {
        return render(request, reply.code(403), { ...again, problem: { field: 'form', message: 'This form has expired or was sent from another site. Please log in again.' } }, true);
      }
      const missing = missingField(form, method);
      if (missing !== undefined) return render(request, reply.code(400), { ...again, problem: missing });
      const info = loginInfoOf(form, method);
      const keys = attemptKeys(`ip:${request.ip}`, WEB_CLIENT_ID, auth.loginKeyOf(WEB_CLIENT_ID, info));
      try {
        const code = await failures.attempt(Object.values(keys), 'too many failed logins; try again later', () => auth.loginForCode(info, { clientId: WEB_CLIENT_ID, redirectUri: params.redirect_uri, challenge: params.code_challenge, scopes }), (outcome) => (outcome.ok ? [] : countedKeys(outcome.error, keys)));
        const target = new URL(params.redirect_uri);
        target.searchParams.set('code', code);
        if (params.state !== undefined) target.searchParams.set('state', params.state);
        return await reply.redirect(target.toString(), 303);
      } catch (error) {
        if (error instanceof OAuthError && error.oauthCode === 'invalid_grant') return render(request, reply.code(401), { ...again, problem: WRONG_LOGIN[method] });
        if (error instanceof AppError && error.kind === 'rateLimited') {
          return render(request, reply.code(429).headers(error.headers), { ...again, problem: { field: 'form', message: 'Too many failed logins. Please wait a minute and try again.' } });
        }
        throw error;
      }
    },
  );
};

/** A request the schema refuses (a field too long …): its redirect_uri is unchecked, so a page, not a redirect. */
function invalidRequest(reply: FastifyReply, problem: string): FastifyReply {
  return html(reply.code(400), errorPage('This login request is not valid', problem));
}

function html(reply: FastifyReply, page: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
}

/** The Origin (else the Referer's origin) is this Purse's, and the form's token is the cookie's. */
function sameSite(request: FastifyRequest, origin: string, token: string | undefined): boolean {
  const sent = request.headers.origin ?? refererOrigin(request.headers.referer);
  if (sent !== origin) return false;
  const expected = request.cookies[CSRF_COOKIE];
  if (expected === undefined || token === undefined || !CSRF_PATTERN.test(expected)) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

function missingField(form: AuthorizeForm, method: LoginMethod): { field: string; message: string } | undefined {
  const fields: [keyof AuthorizeForm, string][] = method === 'password' ? [['username', 'Username'], ['password', 'Password']] : [['card', 'Card number'], ['pin', 'PIN']];
  for (const [name, label] of fields) {
    const value = form[name];
    if (typeof value !== 'string' || value === '') return { field: name, message: `${label} is required` };
  }
  return undefined;
}

function loginInfoOf(form: AuthorizeForm, method: LoginMethod): LoginInfo {
  return method === 'password' ? { type: 3, user: form.username ?? '', pwd: form.password ?? '' } : { type: 4, card: form.card ?? '', pin: form.pin ?? '' };
}

// POST /api/auth/token — MyQ's token endpoint (JSON or form-encoded), RFC 6749 errors — and
// POST /api/auth/revoke (RFC 7009).
import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

import { OAuthError, schemaProblem } from '../errors.js';
import { errorResponses } from '../schemas.js';

import type { FailureLimiter } from './failure-limiter.js';
import { RevokeRequestSchema, TokenRequestSchema, TokenResponseSchema } from './schemas.js';
import type { AuthService, RevokeRequest, TokenRequest } from './service.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  failures: FailureLimiter;
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, { auth, failures }) => {
  // OAuth2 clients send form bodies (RFC 6749 §4.4.2); only this plugin's routes take them.
  await app.register(formbody);
  app.post(
    '/api/auth/token',
    {
      attachValidation: true,
      schema: {
        operationId: 'getToken',
        tags: ['auth'],
        summary: 'Get an access token',
        description:
          'Grants: client_credentials, login_info (types 1–5) and refresh_token (when offline.access was granted). ' +
          'Client credentials in the body or as HTTP Basic. Failed attempts are limited per address, per client id and address, and per person logging in.',
        // JSON first: generated clients (orval …) send the first type the document lists.
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: TokenRequestSchema,
        response: { 200: TokenResponseSchema, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request, reply) => {
      if (request.validationError !== undefined) throw oauthValidationError(request.validationError.validation as FastifySchemaValidationError[]);
      const body: TokenRequest = { ...request.body, ...basicCredentials(request.headers.authorization) };
      const keys = attemptKeys(`ip:${request.ip}`, body.client_id, auth.loginAttemptKey(body));
      const token = await failures.attempt(Object.values(keys), 'too many failed token requests; try again later', () => auth.grant(body), (outcome) => (outcome.ok ? [] : countedKeys(outcome.error, keys)));
      void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return token;
    },
  );

  app.post(
    '/api/auth/revoke',
    {
      attachValidation: true,
      schema: {
        operationId: 'revokeToken',
        tags: ['auth'],
        summary: 'Revoke a token (log out)',
        description:
          'RFC 7009. Revoking a refresh token or an access token ends its session: the refresh token no longer refreshes and the access tokens of the session are refused at once. ' +
          'Answers 200 also for an unknown, foreign or already revoked token. An access token outside any session (client_credentials, or login_info without offline.access) cannot be revoked: 400 unsupported_token_type; it expires by itself. ' +
          'Client authentication as at the token endpoint; `purse-web` sends its client_id alone.',
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: RevokeRequestSchema,
        response: { 200: { description: 'Revoked, or nothing to revoke; no body' }, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request, reply) => {
      if (request.validationError !== undefined) throw oauthValidationError(request.validationError.validation as FastifySchemaValidationError[]);
      const body: RevokeRequest = { ...request.body, ...basicCredentials(request.headers.authorization) };
      const keys = attemptKeys(`ip:${request.ip}`, body.client_id, undefined);
      await failures.attempt(Object.values(keys), 'too many failed revocation requests; try again later', () => auth.revoke(body), (outcome) => (outcome.ok ? [] : countedKeys(outcome.error, keys)));
      return reply.header('cache-control', 'no-store').code(200).send('');
    },
  );
};

/** A body the schema refuses, as an RFC 6749 invalid_request naming the field. */
function oauthValidationError(validation: FastifySchemaValidationError[]): OAuthError {
  const detail = validation[0];
  const field = detail?.instancePath.replace(/^\//, '').replaceAll('/', '.') || 'body';
  const problem = detail === undefined ? 'is not valid' : schemaProblem(detail);
  return new OAuthError('invalid_request', `${field} ${problem}`, [{ field, problem }]);
}

export interface AttemptKeys {
  address: string;
  /** The client id as typed, from this address. */
  clientAtAddress?: string;
  /** The person a login names, at the client (AuthService.loginAttemptKey). */
  person?: string;
}

export function attemptKeys(address: string, clientId: string | undefined, person: string | undefined): AttemptKeys {
  return {
    address,
    ...(clientId === undefined ? {} : { clientAtAddress: `${address} client:${clientId}` }),
    ...(person === undefined ? {} : { person }),
  };
}

/**
 * Which counters a failed request counts against. Always the address. A wrong client secret counts
 * against the client only from that address: anyone can type a client id, and must not be able to
 * lock a real client out from elsewhere. A wrong login counts against the person it names at that
 * client, from any address, and never against the client itself: one person guessing must not lock
 * out the client's own grants or anyone else's logins.
 */
export function countedKeys(error: unknown, keys: AttemptKeys): string[] {
  if (!(error instanceof OAuthError)) return []; // Purse's trouble, not the caller's guess
  const subject = error.oauthCode === 'invalid_client' ? keys.clientAtAddress : error.oauthCode === 'invalid_grant' ? keys.person : undefined;
  return subject === undefined ? [keys.address] : [keys.address, subject];
}

/** RFC 6749 §2.3.1: client credentials may come as HTTP Basic instead of in the body. */
function basicCredentials(header: string | undefined): { client_id?: string; client_secret?: string } {
  const match = header === undefined ? null : /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header);
  if (match?.[1] === undefined) return {};
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return {};
  const credentials = { client_id: formDecode(text.slice(0, colon)), client_secret: formDecode(text.slice(colon + 1)) };
  // The header is decoded here, after the request-wide NUL check has run.
  if (`${credentials.client_id}${credentials.client_secret}`.includes('\u0000')) {
    throw new OAuthError('invalid_request', 'the Basic credentials must not contain NUL characters', [{ field: 'authorization', problem: 'contains a NUL character (U+0000)' }]);
  }
  return credentials;
}

function formDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // not percent-encoded after all; authentication will simply fail
  }
}

// The published contract, /openapi.json: what @fastify/swagger makes of the routes, plus what client
// generators and linters need of it — named schemas referenced by $ref, the Idempotency-Key header
// of every write that takes one, the Retry-After and Idempotent-Replayed response headers, and a
// description for every response. The routes' own schemas stay as they are: Fastify validates and
// serializes with them, the document only renders them.
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import type { RouteOptions } from 'fastify';

import { SCOPES } from './auth/scopes.js';
import { documentedFormOf, nameOf, namedSchemas, type DocumentedSchema } from './schemas.js';
import { VERSION } from './version.js';

const SCHEMAS_PATH = '#/components/schemas/';
const UNAVAILABLE = 503;

/** The tags, in the order the reference shows them. */
export const TAGS = [
  { name: 'auth', description: 'OAuth2 tokens (MyQ): client credentials, a person logging in, refresh tokens; the web app\'s login page (authorization code with PKCE) and revocation' },
  { name: 'users', description: "People (MyQ's users API); credentials are write-only" },
  { name: 'credit', description: 'Credit accounts, balances, statements and recharges by hand' },
  { name: 'recharge', description: "Recharge providers and their payments (MyQ's credit-recharging API): create, then commit or roll back" },
  { name: 'vouchers', description: 'Voucher batches: codes shown once, redeemed through the voucher provider' },
  { name: 'spending', description: 'Charges, holds and their capture or release, refunds of charges, transfers' },
  { name: 'payments', description: 'The card / MB WAY payment gateway: payments, refunds, reconciliation' },
  { name: 'webhooks', description: 'Signed event deliveries (Standard Webhooks) and their log' },
  { name: 'events', description: 'The events feed, in commit order' },
  { name: 'audit', description: 'Who did what, and with which rights' },
  { name: 'operations', description: 'Liveness, readiness and Prometheus metrics' },
] as const;

const IDEMPOTENCY_KEY = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x21-\\x7e]+$',
  description:
    'Makes a retry safe: a retry with the same key (for the same client, user and operation) gets the first answer back, refusals included, with `Idempotent-Replayed: true`; the same key with another body is a 409. Kept 24 hours.',
};

const RESPONSE_HEADERS = {
  retryAfter: { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
  replayed: { description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key', schema: { type: 'string', enum: ['true'] } },
};

/** What each status means, when the route says no more. */
const STATUS_TEXT: Readonly<Record<string, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'Done; no body',
  400: 'The request is not valid; `data` names each bad field',
  401: 'No valid access token (or client credentials)',
  402: 'Payment required: the available credit does not cover the amount, or the card or MB WAY payment was declined',
  403: 'The token lacks the scope, or its user the right',
  404: 'Not found',
  409: 'Conflict with the current state (named in the message), or an Idempotency-Key reused with another body',
  415: 'The body is not of a content type this operation takes',
  429: 'Too many attempts; wait for Retry-After seconds',
  503: 'The database is not reachable; try again after Retry-After seconds',
};

/** Statuses whose answer a retry with the same Idempotency-Key gets back: successes and stored refusals. */
const REPLAYED_STATUSES = /^(2\d\d|402|409)$/;

interface RouteDocument {
  schema: Record<string, unknown>;
  url: string;
}

/** The document's form of a schema: named shapes become $refs, loosely validated fields their documented form. */
function documented(node: unknown, isComponent = false): unknown {
  if (Array.isArray(node)) return node.map((item) => documented(item));
  if (typeof node !== 'object' || node === null) return node;
  const name = isComponent ? undefined : nameOf(node);
  if (name !== undefined) return { $ref: `${SCHEMAS_PATH}${name}` };
  const doc: DocumentedSchema | undefined = documentedFormOf(node);
  const source = doc ?? (node as DocumentedSchema);
  return Object.fromEntries(Object.entries(source).map(([key, value]) => [key, documented(value)]));
}

/** components.schemas: every named schema, its own named parts as $refs. */
function componentSchemas(): Record<string, object> {
  const names = [...namedSchemas().keys()].sort();
  return Object.fromEntries(names.map((name) => [name, documented(namedSchemas().get(name), true) as object]));
}

/** One route as the document shows it: named schemas, the Idempotency-Key header, security: [] when public. */
export function documentRoute({ schema, url, route }: { schema: unknown; url: string; route: RouteOptions }): RouteDocument {
  const source = (schema ?? {}) as Record<string, unknown>;
  const parts = Object.fromEntries(Object.entries(source).map(([key, value]) => [key, documented(value)]));
  const config = (route.config ?? {}) as { auth?: unknown; idempotent?: boolean };
  const headers = config.idempotent === true ? { headers: { type: 'object', properties: { 'Idempotency-Key': IDEMPOTENCY_KEY } } } : {};
  const security = config.auth === undefined ? { security: [] } : {};
  // Authenticating reads the database, which may be away for a moment on PostgreSQL.
  const response = config.auth === undefined ? parts.response : { [UNAVAILABLE]: { $ref: `${SCHEMAS_PATH}Error` }, ...(parts.response as object) };
  return { schema: { ...parts, ...headers, ...security, response }, url };
}

interface Operation {
  parameters?: { in: string; name: string }[];
  responses?: Record<string, { description?: string; headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
}

/** Response headers and descriptions, which need the whole operation to be decided. */
function finishOperation(operation: Operation): void {
  const idempotent = (operation.parameters ?? []).some((p) => p.in === 'header' && p.name === 'Idempotency-Key');
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    if (response.description === undefined || response.description === 'Default Response') response.description = STATUS_TEXT[status] ?? 'Answer';
    // Every refusal is the JSON error body, also where the success is CSV or Prometheus text; the
    // login page's refusals are pages, for the person in front of it.
    if (Number(status) >= 400 && response.content?.['text/html'] === undefined) response.content = { 'application/json': { schema: { $ref: `${SCHEMAS_PATH}Error` } } };
    const headers: Record<string, unknown> = { ...response.headers };
    if (status === '429' || status === '503') headers['Retry-After'] = RESPONSE_HEADERS.retryAfter;
    if (idempotent && REPLAYED_STATUSES.test(status)) headers['Idempotent-Replayed'] = RESPONSE_HEADERS.replayed;
    if (Object.keys(headers).length > 0) response.headers = headers;
  }
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

function finishDocument({ openapiObject }: { openapiObject: Record<string, unknown> }): Record<string, unknown> {
  const paths = (openapiObject.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const item of Object.values(paths)) {
    for (const [method, operation] of Object.entries(item)) if (HTTP_METHODS.has(method)) finishOperation(operation);
  }
  return openapiObject;
}

export function openApiOptions(): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Purse',
        version: VERSION,
        description:
          'Prepaid credit and the payments that fund it. MyQ X v3 credit-recharging API and a card / MB WAY payments API.\n\n' +
          'Amounts are in major units (13.50). Every error is `{code, message, data}`, `data` naming each bad field. ' +
          'Writes take an `Idempotency-Key` header that makes a retry safe.',
      },
      // Relative: "Try it out" and generated clients talk to the server that served this document.
      servers: [{ url: '/', description: 'This Purse' }],
      tags: TAGS.map((tag) => ({ ...tag })),
      components: {
        schemas: componentSchemas(),
        securitySchemes: {
          oauth2: {
            type: 'oauth2',
            description: 'POST /api/auth/token with client_credentials, login_info or refresh_token.',
            flows: { clientCredentials: { tokenUrl: '/api/auth/token', scopes: { ...SCOPES } } },
          },
        },
      },
    },
    transform: documentRoute,
    transformObject: finishDocument as unknown as FastifyDynamicSwaggerOptions['transformObject'],
  };
}

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="150" height="40" viewBox="0 0 150 40">
<rect x="2" y="8" width="32" height="24" rx="5" fill="#1f6f5c"/><rect x="20" y="15" width="16" height="10" rx="3" fill="#f2c14e"/>
<text x="44" y="29" font-family="Helvetica, Arial, sans-serif" font-size="24" font-weight="700" fill="#ffffff">Purse</text></svg>`;

export function swaggerUiOptions(): FastifySwaggerUiOptions {
  return {
    routePrefix: '/docs',
    // Swagger UI styles elements inline, which the pages' strict policy (server.ts) forbids; its
    // own scripts stay 'self' only.
    staticCSP: "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    logo: { type: 'image/svg+xml', content: Buffer.from(LOGO) },
    theme: {
      title: 'Purse — API reference',
      css: [{ filename: 'purse.css', content: '.swagger-ui .topbar { background-color: #173f35; }' }],
    },
    // The schemas section shows each named shape; requests keep their token across reloads.
    uiConfig: { docExpansion: 'list', deepLinking: true, defaultModelsExpandDepth: 1, persistAuthorization: true },
  };
}

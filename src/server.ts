// Assembles Fastify: logging, body parsers, the guard, each module's routes, OpenAPI, and the one
// place where errors become HTTP responses.
import type { DestinationStream } from 'pino';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import helmet from 'helmet';

import { installGuard } from './auth/guard.js';
import { repeatedKey } from './json-keys.js';
import { authRoutes } from './auth/routes.js';
import { authorizeRoutes } from './auth/authorize-routes.js';
import { accountRoutes } from './auth/account-routes.js';
import type { Context } from './context.js';
import { AppError, describeField, invalid, OAuthError, schemaProblem, type ErrorDetail } from './errors.js';
import { installBusinessMetrics } from './ops/business-metrics.js';
import { lazyChild } from './ops/lazy-logger.js';
import { installMetrics } from './ops/metrics.js';
import { opsRoutes } from './ops/routes.js';
import { openApiOptions, swaggerUiOptions } from './openapi.js';
import type { ErrorBody } from './schemas.js';
import { gatewayRoutes } from './gateway/routes.js';
import { ledgerRoutes } from './ledger/routes.js';
import { rechargeRoutes } from './recharge/routes.js';
import { spendingRoutes } from './spending/routes.js';
import { auditRoutes } from './audit/routes.js';
import { eventRoutes } from './events/routes.js';
import { webhookRoutes } from './webhooks/routes.js';
import { usersRoutes } from './users/routes.js';
import { voucherRoutes } from './vouchers/routes.js';
import { appPageFallback, loadWebApp, WEB_DIR, webRoutes } from './web/routes.js';
import { acceptedMediaTypes, dropUnknownQueryParameters, installContentTypeCheck, installMethodCheck, unsupportedMediaType } from './routing.js';

export { VERSION } from './version.js';

/** No request body of Purse nests deeper than a few levels; 32 leaves room and bounds every walk. */
const MAX_JSON_DEPTH = 32;

/** Never logged: credentials, card data, tokens. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.pwd',
  '*.pin',
  '*.client_secret',
  '*.secret',
  '*.refresh_token',
  '*.access_token',
  '*.token',
  '*.code_verifier',
  '*.csrf',
  '*.currentPassword',
  '*.newPassword',
  '*.card',
  '*.cards',
  '*.number',
  '*.cvv',
  '*.code',
  '*.additional_params.number',
  '*.additional_params.cvv',
  '*.params.card',
  '*.params.code',
  '*.card.number',
  '*.card.cvv',
];

export interface ServerOptions {
  /** Where logs go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
  /** Where the built web app is (tests point it at a build of their own); dist/web by default. */
  webDir?: string;
}

export async function buildServer(ctx: Context, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: ctx.config.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // The path without its query string: a query can carry a login card (/v3/users/find?card=…).
      serializers: {
        req: (request: { method: string; url: string; ip?: string }) => ({ method: request.method, path: request.url.split('?')[0] ?? '', remoteAddress: request.ip }),
      },
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
    },
    childLoggerFactory: (logger, bindings, childOptions) => lazyChild(logger, bindings, childOptions),
    bodyLimit: ctx.config.bodyLimitBytes,
    ...connectionLimits(ctx.config),
    // Gateway ids are 200 characters (the payments API's format); Fastify's default stops at 100 with a 414.
    routerOptions: { maxParamLength: 256 },
    // Unknown fields are refused with a 400 naming them, not silently dropped; every bad field is
    // reported, not only the first.
    // strictNumbers: "Infinity" and "1e400" in a query or path are not numbers.
    // coerceTypes true, not 'array': a one-element array is not a string (`grant_type: ["x"]`).
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: true, useDefaults: true, strictNumbers: true } },
    // Fastify's own early errors (a malformed URL escape …) get the same body as every other error.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const { status, body } = errorResponse(error);
      void reply.code(status).send(body);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Past the cap Node closes new connections at once: a flood of idle sockets cannot take the last
  // file descriptor that the database, the logs and /health need.
  app.server.maxConnections = ctx.config.maxConnections;

  app.setErrorHandler((fastifyError: FastifyError, request, reply) => {
    // Fastify's own 415 (no parser at all) names what the route takes, as the content-type check does.
    const error = fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? unsupportedMediaType(acceptedMediaTypes(request.routeOptions.schema)) : fastifyError;
    const { status, body } = errorResponse(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ statusCode: status, reason: body.message }, 'request refused');
    if (error instanceof AppError) void reply.headers(error.headers);
    return reply.code(status).send(body);
  });
  app.addHook('preValidation', async (request) => {
    dropUnknownQueryParameters(request);
    rejectLooseIntegerIds(request.params, request.routeOptions.schema?.params);
    rejectNulCharacters(request.params, 'params');
    rejectNulCharacters(request.query, 'querystring');
    rejectNulCharacters(request.body, 'body');
  });
  app.addHook('preHandler', async (request) => {
    rejectNonFiniteNumbers(request.params, 'params');
    rejectNonFiniteNumbers(request.query, 'querystring');
    rejectNonFiniteNumbers(request.body, 'body');
  });
  const web = loadWebApp(options.webDir ?? WEB_DIR, ctx.config.currency);
  installMethodCheck(app, appPageFallback(web));
  installContentTypeCheck(app);
  installBodyParsers(app);
  installNoStore(app);
  if (ctx.config.corsOrigins.length > 0) await app.register(cors, corsOptions(ctx.config.corsOrigins));
  installSecurityHeaders(app);
  const registry = installMetrics(app);
  installBusinessMetrics(app, registry, ctx, app.log);
  installGuard(app, ctx.auth);
  await app.register(swagger, openApiOptions());
  await app.register(swaggerUi, swaggerUiOptions());
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  await app.register(opsRoutes, { db: ctx.db, registry, metricsToken: ctx.config.metricsToken });
  await app.register(authRoutes, { auth: ctx.auth, failures: ctx.tokenFailures });
  await app.register(authorizeRoutes, { auth: ctx.auth, failures: ctx.tokenFailures, publicUrl: ctx.config.publicUrl });
  const { pipeline, clock } = ctx;
  await app.register(usersRoutes, { users: ctx.users, pipeline, clock });
  await app.register(accountRoutes, { auth: ctx.auth, failures: ctx.tokenFailures, pipeline, clock });
  await app.register(ledgerRoutes, { ledger: ctx.ledger, recharge: ctx.recharge, spending: ctx.spending, pipeline, clock });
  await app.register(rechargeRoutes, { recharge: ctx.recharge, pipeline, clock });
  await app.register(voucherRoutes, { vouchers: ctx.vouchers, pipeline, clock });
  await app.register(gatewayRoutes, { gateway: ctx.gateway, pipeline, clock });
  await app.register(spendingRoutes, { spending: ctx.spending, pipeline, clock });
  await app.register(webhookRoutes, { webhooks: ctx.webhooks, dispatcher: ctx.dispatcher, pipeline, clock });
  await app.register(eventRoutes, { events: ctx.events });
  await app.register(auditRoutes, { audit: ctx.audit });
  await app.register(webRoutes, { web });
  return app;
}

/**
 * Browser apps on the listed origins may call the API: exactly those origins, no cookies (Purse
 * authenticates with bearer tokens), and the headers a client reads or sends beyond the simple ones.
 * Any other origin gets no CORS headers, and its preflight falls through to the OPTIONS answer.
 */
function corsOptions(origins: readonly string[]): FastifyCorsOptions {
  const allowed = new Set(origins);
  return {
    origin: (origin, done) => {
      done(null, origin !== undefined && allowed.has(origin));
    },
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Accept'],
    exposedHeaders: ['Retry-After', 'Idempotent-Replayed', 'WWW-Authenticate', 'Allow', 'Content-Disposition'],
    credentials: false,
    maxAge: CORS_MAX_AGE_SECONDS,
    // A preflight without Access-Control-Request-Method is answered like any OPTIONS, not with a
    // text/plain 400 of the plugin's own.
    strictPreflight: false,
  };
}

/**
 * The usual security headers on every answer (helmet), and one strict Content-Security-
 * Policy for every page Purse serves (the web app, the login page): only its own scripts, styles,
 * images and API, no inline code, no framing, forms only to itself. Spelled out in full rather than
 * helmet's defaults, which add upgrade-insecure-requests and so break a Purse on plain
 * http://127.0.0.1. Swagger UI at /docs sets its own (openapi.ts).
 */
const HELMET_OPTIONS = {
  // Not helmet's no-referrer: under it a browser sends `Origin: null` with the login form's POST,
  // which the form's CSRF check (the Origin must be this Purse's) then refuses. same-origin still
  // tells no other site where a person came from.
  referrerPolicy: { policy: 'same-origin' as const },
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
  },
};

/**
 * helmet's middleware, built once: @fastify/helmet builds it again on every request, parsing the
 * CSP directives each time (about 2% of a recharge's CPU in the benchmark's profile).
 */
function installSecurityHeaders(app: FastifyInstance): void {
  const setHeaders = helmet(HELMET_OPTIONS);
  app.addHook('onRequest', (request, reply, done) => {
    setHeaders(request.raw, reply.raw, (error?: unknown) => {
      done(error instanceof Error ? error : undefined);
    });
  });
}

/** How long a browser may reuse a preflight's answer. */
const CORS_MAX_AGE_SECONDS = 600;

/**
 * A client that never finishes its headers or its body, or idles on a kept-alive connection, is
 * cut off; Fastify's own defaults wait for ever (request) or 72 s (keep-alive).
 */
function connectionLimits(config: Context['config']): { requestTimeout: number; keepAliveTimeout: number; http: { headersTimeout: number; connectionsCheckingInterval: number } } {
  const requestTimeoutMs = config.requestTimeoutSeconds * 1000;
  const headersTimeoutMs = config.headersTimeoutSeconds * 1000;
  return {
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutSeconds * 1000,
    // Node looks for overdue requests on this interval (30 s by default), so it bounds how late a
    // timeout fires; a tenth of the headers timeout keeps that slack small and the sweep cheap.
    http: { headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.max(100, Math.floor(headersTimeoutMs / 10)) },
  };
}

/**
 * JSON as Fastify parses it (prototype-poisoning checks included), except that an empty body is
 * no body: MyQ clients POST commit with `Content-Type: application/json` and nothing after it.
 */
function installBodyParsers(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  // Fastify reads text/plain bodies by default; no route of Purse takes one, so they are a 415.
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void json(request, text, (error, parsed: unknown) => {
      if (error !== null) {
        done(error, undefined);
        return;
      }
      const depth = nestingDepth(parsed, MAX_JSON_DEPTH);
      if (depth > MAX_JSON_DEPTH) {
        done(invalid(`body is nested deeper than ${MAX_JSON_DEPTH} levels`, [{ field: 'body', problem: `is nested deeper than ${MAX_JSON_DEPTH} levels` }]), undefined);
        return;
      }
      const repeated = repeatedKey(text);
      if (repeated !== undefined) {
        done(invalid(`body names the field "${repeated.slice(0, 64)}" twice`, [{ field: 'body', problem: `names the field "${repeated.slice(0, 64)}" more than once` }]), undefined);
        return;
      }
      done(null, parsed);
    });
  });
}

/**
 * How deeply objects and arrays nest, counted up to `limit + 1`. Iterative, so that a hostile
 * 5,000-deep body cannot overflow the stack here, and bounding it keeps every later recursive
 * walk (validation, the Idempotency-Key fingerprint, logging) safe.
 */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > limit) return depth;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(next.value)) pending.push({ value: child, depth });
  }
  return deepest;
}

/**
 * Ajv's type coercion turns "Infinity" and "1e309" into ±Infinity, which then passes `integer` and
 * `maximum`; after validation no number anywhere in a request may be non-finite.
 */
function rejectNonFiniteNumbers(value: unknown, part: string): void {
  forEachLeaf(value, part, 0, (leaf, path) => {
    if (typeof leaf === 'number' && !Number.isFinite(leaf)) throw invalid(`${path} must be a finite number`, [{ field: path, problem: 'must be a finite number' }]);
  });
}

/**
 * An id in a path is written in digits: Ajv's coercion would read `1e3` as user 1000 and `0x10` as
 * user 16, so that one resource had many names (and caches, logs and audits disagreed on which).
 */
function rejectLooseIntegerIds(params: unknown, schema: unknown): void {
  if (typeof params !== 'object' || params === null || typeof schema !== 'object' || schema === null) return;
  const properties = (schema as { properties?: Record<string, { type?: unknown } | undefined> }).properties ?? {};
  for (const [key, value] of Object.entries(params)) {
    if (properties[key]?.type !== 'integer' || typeof value !== 'string' || /^[0-9]{1,16}$/.test(value)) continue;
    throw invalid(`${describeField(`params.${key}`)} must be a whole number`, [{ field: `params.${key}`, problem: 'must be a whole number' }]);
  }
}

/**
 * API answers are for the caller alone: no shared cache keeps them (they may carry balances, a
 * secret shown once, voucher codes). A route that says otherwise keeps its own header.
 */
function installNoStore(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    if (request.headers.authorization !== undefined && !reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
  });
}

/** PostgreSQL cannot store U+0000 in text, and no field of Purse has a use for it. */
function rejectNulCharacters(value: unknown, part: string): void {
  forEachLeaf(value, part, 0, (leaf, path) => {
    if (typeof leaf === 'string' && leaf.includes('\u0000')) throw invalid(`${path} must not contain NUL characters`, [{ field: path, problem: 'contains a NUL character (U+0000)' }]);
  });
}

/** Every value that is not an object or array in a parsed request part, with its path; bounded in depth. */
function forEachLeaf(value: unknown, path: string, depth: number, visit: (leaf: unknown, path: string) => void): void {
  if (typeof value !== 'object' || value === null) {
    visit(value, path);
    return;
  }
  if (depth > MAX_JSON_DEPTH) return;
  for (const [key, child] of Object.entries(value)) forEachLeaf(child, `${path}.${key}`, depth + 1, visit);
}

/** The one mapping from errors to HTTP: AppError as it says, Fastify's 4xx as they are, else 500. */
export function errorResponse(error: FastifyError | AppError): { status: number; body: ErrorBody } {
  if (error instanceof AppError) {
    const body: ErrorBody = { code: error.status, message: error.message, data: error.data };
    if (error instanceof OAuthError) Object.assign(body, { error: error.oauthCode, error_description: error.message });
    return { status: error.status, body };
  }
  if (error.validation !== undefined) {
    const data = error.validation.map((v): ErrorDetail => ({ field: validationField(error.validationContext ?? 'body', v.instancePath, v.params), problem: schemaProblem(v) }));
    const first = data[0];
    const message = first === undefined ? 'request is not valid' : `${describeField(first.field ?? 'request')} ${first.problem}`;
    return { status: 400, body: { code: 400, message, data } };
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, body: { code: status, message: error.message, data: [] } };
  return { status: 500, body: { code: 500, message: 'internal error', data: [] } };
}

/** "body.params.amount", "querystring.limit": where the problem is, in the client's terms. */
function validationField(context: string, instancePath: string, params: Record<string, unknown>): string {
  const path = instancePath.split('/').filter((p) => p !== '');
  const extra = params.missingProperty ?? params.additionalProperty;
  if (typeof extra === 'string') path.push(extra);
  return [context, ...path].join('.');
}

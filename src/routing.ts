// HTTP's own rules, the same on every route: which methods a path has (405 with Allow, OPTIONS),
// which content types a body may come in (415 naming them), and query parameters a route does not
// know (dropped, not refused).
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';

import { AppError } from './errors.js';
import type { ErrorBody } from './schemas.js';

/** Methods whose requests Fastify reads a body for. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The order Allow lists methods in. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Every route's path pattern as a regular expression, with the methods it answers. */
export class RouteTable {
  private readonly patterns = new Map<string, { matcher: RegExp; methods: Set<string> }>();

  add(url: string, methods: readonly string[]): void {
    // `*` alone is CORS's preflight route for every path: it says nothing about which paths exist.
    if (url === '*' || url === '/*') return;
    const entry = this.patterns.get(url) ?? { matcher: patternOf(url), methods: new Set<string>() };
    for (const method of methods) entry.methods.add(method);
    if (entry.methods.has('GET')) entry.methods.add('HEAD');
    this.patterns.set(url, entry);
  }

  /** The methods some route answers on this path, in Allow's order; empty when no route has it. */
  methodsOf(path: string): string[] {
    const found = new Set<string>();
    for (const { matcher, methods } of this.patterns.values()) {
      if (matcher.test(path)) for (const method of methods) found.add(method);
    }
    if (found.size > 0) found.add('OPTIONS');
    return METHOD_ORDER.filter((m) => found.has(m));
  }
}

/** `/v3/users/:id/accounts` → /^\/v3\/users\/[^/]+\/accounts$/; a trailing `*` matches the rest. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * Collects every route as it is added (call before any route is), answers a known path with a
 * method it lacks 405 with Allow, and OPTIONS on a known path 204 with Allow (a browser's CORS
 * preflight is answered before this, by @fastify/cors, when PURSE_CORS_ORIGINS allows its origin).
 */
/** Answers an unrouted request itself (the web app's pages), or leaves it to the 404. */
export type Fallback = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;

export function installMethodCheck(app: FastifyInstance, fallback?: Fallback): void {
  const table = new RouteTable();
  app.addHook('onRoute', (route) => {
    table.add(route.url, Array.isArray(route.method) ? route.method : [route.method]);
  });
  app.setNotFoundHandler((request, reply) => notFound(table, request, reply, fallback));
}

function notFound(table: RouteTable, request: FastifyRequest, reply: FastifyReply, fallback: Fallback | undefined): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  const allowed = table.methodsOf(path);
  if (allowed.length === 0) return fallback?.(request, reply) ?? noRoute(request, path, reply);
  // A route of this method that found nothing itself (a static file that is not there); OPTIONS is
  // answered below whatever routes it.
  if (request.method !== 'OPTIONS' && allowed.includes(request.method)) return noRoute(request, path, reply);
  const allow = allowed.join(', ');
  if (request.method === 'OPTIONS') return reply.code(204).header('allow', allow).send();
  const message = `${request.method} is not allowed on ${path}; it answers ${allow}`;
  return reply.code(405).header('allow', allow).send({ code: 405, message, data: [{ field: 'method', problem: `must be one of ${allow}` }] } satisfies ErrorBody);
}

function noRoute(request: FastifyRequest, path: string, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ code: 404, message: `no route ${request.method} ${path}`, data: [] } satisfies ErrorBody);
}

/** The media types a route takes its body in: its per-type body schemas, its `consumes`, else JSON. */
export function acceptedMediaTypes(schema: FastifySchema | undefined): string[] {
  const body = schema?.body as { content?: Record<string, unknown> } | undefined;
  if (body?.content !== undefined) return Object.keys(body.content);
  const consumes = (schema as { consumes?: unknown } | undefined)?.consumes;
  return Array.isArray(consumes) ? consumes.map(String) : ['application/json'];
}

export function unsupportedMediaType(accepted: readonly string[]): AppError {
  const list = accepted.length === 1 ? (accepted[0] ?? '') : `one of ${accepted.join(', ')}`;
  return new AppError('unsupportedMediaType', `Content-Type must be ${list}`, [{ field: 'Content-Type', problem: `must be ${list}` }]);
}

/**
 * A body in a content type the route does not take is a 415 naming those it does, before any
 * parser runs: a parser another route of the same plugin registered must not make it a 400.
 */
export function installContentTypeCheck(app: FastifyInstance): void {
  app.addHook('preParsing', async (request) => {
    if (request.is404 || !BODY_METHODS.has(request.method) || !hasBody(request)) return;
    const accepted = acceptedMediaTypes(request.routeOptions.schema);
    if (!accepted.includes(mediaTypeOf(request))) throw unsupportedMediaType(accepted);
  });
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** `application/json; charset=utf-8` → `application/json`; none → ''. */
function mediaTypeOf(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Query parameters a route does not declare are dropped before validation rather than refused:
 * MyQ clients and browsers add cache busters (`?_=1700000000`). Bodies still refuse unknown fields.
 */
export function dropUnknownQueryParameters(request: FastifyRequest): void {
  const schema = request.routeOptions.schema?.querystring as { properties?: Record<string, unknown> } | undefined;
  const query = request.query;
  if (schema?.properties === undefined || typeof query !== 'object' || query === null) return;
  const known = schema.properties;
  for (const key of Object.keys(query)) {
    if (!Object.hasOwn(known, key)) Reflect.deleteProperty(query, key);
  }
}

// The request guard. Each route declares what it needs as metadata — `config.auth = { scope, right }`
// — and this hook enforces it before the body is even parsed. The same metadata becomes the
// route's OpenAPI `security` entry, so the documents and the checks cannot drift apart.
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { errorResponses } from '../schemas.js';

import type { Principal } from './principal.js';
import type { Right, Scope } from './scopes.js';
import type { AuthService } from './service.js';

export interface RouteAuth {
  /** Left out: any valid token will do (GET /v3/me, which every app asks first). */
  scope?: Scope;
  right?: Right;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function installGuard(app: FastifyInstance, auth: AuthService): void {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    const routeAuth = route.config?.auth;
    if (routeAuth === undefined) return;
    const schema = route.schema ?? {};
    const response = (schema.response ?? {}) as Record<number, unknown>;
    const needs = routeAuth.scope === undefined ? 'Any valid token' : `Scope \`${routeAuth.scope}\``;
    route.schema = {
      ...schema,
      security: [{ oauth2: routeAuth.scope === undefined ? [] : [routeAuth.scope] }],
      description: [schema.description, `${needs}${routeAuth.right === undefined ? '' : `; right \`${routeAuth.right}\``}.`].filter(Boolean).join(' '),
      response: { ...errorResponses(401, 403), ...response },
    };
  });

  app.addHook('onRequest', async (request) => {
    const routeAuth = request.routeOptions.config.auth;
    if (routeAuth === undefined) return;
    const principal = await auth.authenticate(request.headers.authorization);
    // Every later line of this request (its completion, a refusal) says who asked.
    request.log = request.log.child({ clientId: principal.clientId, userId: principal.userId });
    auth.authorize(principal, routeAuth.scope, routeAuth.right);
    request.principal = principal;
  });
}

/** The principal of a guarded route; calling it on an unguarded route is a programming error. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error(`route ${request.routeOptions.url ?? '?'} has no auth config`);
  return request.principal;
}

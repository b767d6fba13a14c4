// Liveness, readiness and metrics, for load balancers and Prometheus: unauthenticated, except
// /metrics when PURSE_METRICS_TOKEN is set.
import crypto from 'node:crypto';

import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';

import type { Db } from '../db/index.js';
import { unauthorized, unavailable } from '../errors.js';
import { errorResponses, named } from '../schemas.js';

const StatusSchema = named('Status', Type.Object({ status: Type.String() }));

/** Whether the request carries the metrics token, compared in constant time. */
function hasToken(header: string | undefined, token: string): boolean {
  // The scheme is case-insensitive (RFC 9110); the token is not.
  const given = (header ?? '').replace(/^bearer /i, '');
  return crypto.timingSafeEqual(crypto.createHash('sha256').update(given).digest(), crypto.createHash('sha256').update(token).digest()) && given !== header;
}

export const opsRoutes: FastifyPluginAsyncTypebox<{ db: Db; registry: Registry; metricsToken: string | undefined }> = async (app, { db, registry, metricsToken }) => {
  const tags = ['operations'];
  app.get('/health', { schema: { operationId: 'getHealth', tags, summary: 'The process is up', description: 'For liveness probes: answers without touching the database.', response: { 200: StatusSchema } } }, async () => ({ status: 'ok' }));

  app.get(
    '/ready',
    { schema: { operationId: 'getReadiness', tags, summary: 'The database answers', description: 'For readiness probes and load balancers: 503 while the database is not reachable.', response: { 200: StatusSchema, ...errorResponses(503) } } },
    async (request) => {
      try {
        await db.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        throw unavailable('the database is not reachable; try again shortly', 5);
      }
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    { schema: { operationId: 'getMetrics', tags, summary: 'Prometheus metrics', description: 'With PURSE_METRICS_TOKEN set, only for `Authorization: Bearer <token>`.', produces: ['text/plain'], response: { 200: Type.String(), ...errorResponses(401) } } },
    async (request, reply) => {
      if (metricsToken !== undefined && !hasToken(request.headers.authorization, metricsToken)) throw unauthorized('/metrics needs the metrics token');
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    },
  );
};

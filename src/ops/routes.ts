// Liveness, readiness and metrics: unauthenticated, for load balancers and Prometheus.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';

import type { Db } from '../db/index.js';
import { AppError } from '../errors.js';
import { errorResponses } from '../schemas.js';

const StatusSchema = Type.Object({ status: Type.String() });

export const opsRoutes: FastifyPluginAsyncTypebox<{ db: Db; registry: Registry }> = async (app, { db, registry }) => {
  const tags = ['operations'];
  app.get('/health', { schema: { tags, summary: 'The process is up', response: { 200: StatusSchema } } }, async () => ({ status: 'ok' }));

  app.get(
    '/ready',
    { schema: { tags, summary: 'The database answers', response: { 200: StatusSchema, ...errorResponses(503) } } },
    async (request) => {
      try {
        await db.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        throw new AppError('unavailable', 'database is not reachable');
      }
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    { schema: { tags, summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: Type.String() } } },
    async (_request, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
};

// GET /v3/audit: the audit trail, filtered and paged; right admin.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { DateTimeQuery, errorResponses, named, NullableInteger, NullableString, PagingQuery } from '../schemas.js';
import { isoToMs } from '../time.js';

import { actorFilter, type AuditService } from './service.js';

const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'a user id (`7` or `user:7`), or a client id (`client:…`, `cli`, `system:sweeper`)' })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'a command name (`payment.commit`) or prefix (`payment.*`)' })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'what it was about, e.g. `payment:12`, `user:7`' })),
    from: Type.Optional(DateTimeQuery('at or after')),
    to: Type.Optional(DateTimeQuery('at or before')),
    ...PagingQuery,
  },
  { additionalProperties: false },
);

const AuditEntrySchema = named('AuditEntry', Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.Object({ userId: NullableInteger(), clientId: NullableString() }),
  action: Type.String(),
  subject: Type.String(),
  detail: Type.Unknown(),
  rights: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'the rights the actor held then' }),
}));

const AuditPageSchema = named('AuditPage', Type.Object({ entries: Type.Array(AuditEntrySchema), count: Type.Integer() }));

export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditService }> = async (app, { audit }) => {
  app.get(
    '/v3/audit',
    {
      config: { auth: { scope: 'settings', right: 'admin' } },
      schema: { operationId: 'listAuditEntries', tags: ['audit'], summary: 'The audit trail, newest first', querystring: AuditQuery, response: { 200: AuditPageSchema, ...errorResponses(400, 403) } },
    },
    async (request) => {
      const { actor, action, subject, from, to, limit = 100, start = 0 } = request.query;
      return audit.page({ ...actorFilter(actor), action, subject, fromMs: isoToMs(from, 'querystring.from'), toMs: isoToMs(to, 'querystring.to') }, limit, start);
    },
  );
};

// GET /v3/events: the outbox for consumers that poll, in commit order; right manageSettings.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { invalid } from '../errors.js';
import { errorResponses, named } from '../schemas.js';

import { MAX_EVENTS_PER_PAGE, type EventFeed } from './service.js';
import { isEventPattern } from './types.js';

const EventsQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ maxLength: 40, description: 'the cursor of the previous page; none: from the start' })),
    types: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated types or prefixes (`payment.committed,charge.*`)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EVENTS_PER_PAGE, default: 100 })),
  },
  { additionalProperties: false },
);

const EventSchema = named(
  'Event',
  Type.Object({
    id: Type.String(),
    type: Type.String({ description: 'payment.committed, charge.posted …' }),
    subject: Type.String({ description: 'what it is about: `payment:12`' }),
    timestamp: Type.String({ format: 'date-time' }),
    data: Type.Unknown({ description: 'the object as the API shows it' }),
  }),
);

const EventPageSchema = named(
  'EventPage',
  Type.Object({
    events: Type.Array(EventSchema),
    cursor: Type.String({ description: 'pass as `after` for the next page; the same cursor again when nothing new has come' }),
  }),
);

export const eventRoutes: FastifyPluginAsyncTypebox<{ events: EventFeed }> = async (app, { events }) => {
  app.get(
    '/v3/events',
    {
      config: { auth: { scope: 'settings', right: 'manageSettings' } },
      schema: {
        operationId: 'listEvents',
        tags: ['events'],
        summary: 'Events in commit order',
        description: 'Never skips an event: a page ends before any transaction still running. Poll with the last cursor.',
        querystring: EventsQuery,
        response: { 200: EventPageSchema, ...errorResponses(400, 403) },
      },
    },
    async (request) => {
      const { after, types, limit = 100 } = request.query;
      const patterns = types === undefined || types === '' ? [] : types.split(',').map((t) => t.trim()).filter((t) => t !== '');
      const unknown = patterns.filter((p) => !isEventPattern(p));
      if (unknown.length > 0) throw invalid(`unknown event types: ${unknown.join(', ')}`, [{ field: 'querystring.types', problem: `unknown: ${unknown.join(', ')}` }]);
      return events.page(after, patterns, limit);
    },
  );
};

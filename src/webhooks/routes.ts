// /v3/webhooks: endpoints that receive every matching event, signed (Standard Webhooks), and their
// delivery log. Right manageSettings, checked in the commands and here for the reads.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import type { Clock } from '../clock.js';
import { commandOf, valueOf } from '../commands/http.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { invalid } from '../errors.js';
import { errorResponses } from '../schemas.js';

import type { WebhookDispatcher } from './dispatcher.js';
import { CreateWebhookBody, DeliveryListQuery, DeliveryListSchema, DeliveryParams, DeliverySchema, UpdateWebhookBody, WebhookListSchema, WebhookParams, WebhookSchema, WebhookWithSecretSchema } from './schemas.js';
import type { WebhookService } from './service.js';
import { deliveryView, webhookView } from './views.js';

export interface WebhookRoutesOptions {
  webhooks: WebhookService;
  dispatcher: WebhookDispatcher;
  pipeline: CommandPipeline;
  clock: Clock;
}

export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRoutesOptions> = async (app, { webhooks, dispatcher, pipeline, clock }) => {
  const tags = ['webhooks'];
  const auth = { scope: 'settings', right: 'manageSettings' } as const;
  const reads = { auth };

  app.post(
    '/v3/webhooks',
    {
      config: { auth },
      schema: {
        operationId: 'createWebhook',
        tags,
        summary: 'Register a webhook',
        description: 'Answers the signing secret this once. Each matching event is POSTed as `{id, type, timestamp, data}` with the Standard Webhooks headers, retried with backoff for days until a 2xx.',
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecretSchema, ...errorResponses(400, 403) },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'webhook.create', request.body)));
      return reply.code(201).send({ ...webhookView(webhook), secret });
    },
  );

  app.get('/v3/webhooks', { config: reads, schema: { operationId: 'listWebhooks', tags, summary: 'List webhooks', response: { 200: WebhookListSchema, ...errorResponses(403) } } }, async () => {
    const list = await webhooks.list();
    return { webhooks: list, count: list.length };
  });

  app.get('/v3/webhooks/:id', { config: reads, schema: { operationId: 'getWebhook', tags, summary: 'A webhook', params: WebhookParams, response: { 200: WebhookSchema, ...errorResponses(403, 404) } } }, async (request) => webhooks.get(request.params.id));

  app.patch(
    '/v3/webhooks/:id',
    {
      config: { auth, idempotent: true },
      // Before validation, which would turn null into false or "": a field is left out, never null.
      preValidation: async (request) => {
        const body = request.body as Record<string, unknown> | null;
        const nulls = body === null || typeof body !== 'object' ? [] : Object.keys(body).filter((key) => body[key] === null);
        if (nulls.length > 0) throw invalid('leave a field out to keep it; null changes nothing', nulls.map((key) => ({ field: `body.${key}`, problem: 'must not be null' })));
      },
      schema: { operationId: 'updateWebhook', tags, summary: 'Change a webhook', description: 'Only the fields given change.', params: WebhookParams, body: UpdateWebhookBody, response: { 200: WebhookSchema, ...errorResponses(400, 403, 404) } },
    },
    async (request, reply) => webhookView(valueOf(reply, await pipeline.execute(commandOf(request, clock, 'webhook.update', { id: request.params.id, ...request.body })))),
  );

  app.delete(
    '/v3/webhooks/:id',
    { config: { auth, idempotent: true }, schema: { operationId: 'deleteWebhook', tags, summary: 'Delete a webhook and its delivery log', params: WebhookParams, response: { 204: Type.Null(), ...errorResponses(403, 404) } } },
    async (request, reply) => {
      valueOf(reply, await pipeline.execute(commandOf(request, clock, 'webhook.delete', { id: request.params.id })));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v3/webhooks/:id/rotateSecret',
    {
      config: { auth },
      schema: { operationId: 'rotateWebhookSecret', tags, summary: 'Replace the signing secret', description: 'Answers the new secret this once; every later attempt is signed with it.', params: WebhookParams, response: { 200: WebhookWithSecretSchema, ...errorResponses(403, 404) } },
    },
    async (request, reply) => {
      const { webhook, secret } = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'webhook.rotateSecret', { id: request.params.id })));
      return { ...webhookView(webhook), secret };
    },
  );

  app.get(
    '/v3/webhooks/:id/deliveries',
    { config: reads, schema: { operationId: 'listWebhookDeliveries', tags, summary: 'Delivery log, newest first', params: WebhookParams, querystring: DeliveryListQuery, response: { 200: DeliveryListSchema, ...errorResponses(400, 403, 404) } } },
    async (request) => webhooks.deliveries(request.params.id, request.query.limit ?? 100, request.query.start ?? 0),
  );

  app.post(
    '/v3/webhooks/:id/deliveries/:deliveryId/retry',
    {
      config: { auth, idempotent: true },
      schema: { operationId: 'retryWebhookDelivery', tags, summary: 'Send a delivery again now', description: 'Whatever its state; answers 202 and sends it in the background.', params: DeliveryParams, response: { 202: DeliverySchema, ...errorResponses(400, 403, 404) } },
    },
    async (request, reply) => {
      const row = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'webhook.retryDelivery', { id: request.params.id, deliveryId: request.params.deliveryId })));
      dispatcher.kick();
      return reply.code(202).send(deliveryView(row));
    },
  );
};

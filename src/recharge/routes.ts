// /v3/rechargeProviders — MyQ's credit-recharging API: providers and the payment lifecycle.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { principalOf } from '../auth/guard.js';
import { hasRight } from '../auth/scopes.js';
import type { Clock } from '../clock.js';
import { commandOf, valueOf } from '../commands/http.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { forbidden } from '../errors.js';
import { fromMinor } from '../money.js';
import { booleanOf, errorResponses } from '../schemas.js';
import { isoToMs } from '../time.js';

import {
  CommitResultSchema,
  CreatedPaymentSchema,
  CreatePaymentBody,
  PaymentListQuery,
  PaymentListSchema,
  PaymentParams,
  PaymentSchema,
  ProviderListQuery,
  ProviderListSchema,
  ProviderParams,
  ProviderPatchBody,
  ProviderSchema,
  RollbackBody,
  UpdatePaymentBody,
} from './schemas.js';
import type { RechargeProvider } from './providers.js';
import type { RechargeService } from './service.js';
import { createdView, paymentView } from './views.js';

function providerView(provider: RechargeProvider, enabled?: boolean): { name: string; reference: string; description: string; params: string[]; enabled?: boolean } {
  return { name: provider.name, reference: provider.reference, description: provider.description, params: [...provider.params], ...(enabled === undefined ? {} : { enabled }) };
}

export const rechargeRoutes: FastifyPluginAsyncTypebox<{ recharge: RechargeService; pipeline: CommandPipeline; clock: Clock }> = async (app, { recharge, pipeline, clock }) => {
  const tags = ['recharge'];
  const managed = { scope: 'credit', right: 'managePayments' } as const;
  // Writes check managePayments in the service: self-service providers (vouchers) let a person
  // act on payments for themselves without it.
  const writes = { scope: 'credit' } as const;

  app.get(
    '/v3/rechargeProviders',
    {
      config: { auth: { scope: 'credit' } },
      schema: { operationId: 'listProviders', tags, summary: 'List the enabled recharge providers', querystring: ProviderListQuery, response: { 200: ProviderListSchema, ...errorResponses(400) } },
    },
    async (request) => {
      const all = booleanOf(request.query.all) === true;
      if (all && !hasRight(principalOf(request).rights, 'manageSettings')) throw forbidden('listing disabled providers needs the right manageSettings');
      const providers = (await recharge.listProviders(all)).map((p) => providerView(p.provider, all ? p.enabled : undefined));
      return { providers, count: providers.length };
    },
  );

  app.patch(
    '/v3/rechargeProviders/:reference',
    {
      config: { auth: { scope: 'credit', right: 'manageSettings' }, idempotent: true },
      schema: { operationId: 'updateProvider', tags, summary: 'Enable or disable a provider', params: ProviderParams, body: ProviderPatchBody, response: { 200: ProviderSchema, ...errorResponses(400, 404) } },
    },
    async (request, reply) => {
      const { reference } = request.params;
      const result = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'provider.setEnabled', { reference, enabled: request.body.enabled })));
      return providerView(recharge.provider(reference), result.enabled);
    },
  );

  app.get(
    '/v3/rechargeProviders/:reference/payments',
    {
      config: { auth: managed },
      schema: { operationId: 'listPayments', tags, summary: 'List payments', params: ProviderParams, querystring: PaymentListQuery, response: { 200: PaymentListSchema, ...errorResponses(400, 404) } },
    },
    async (request) => {
      const { userId, state, from, to, limit, start } = request.query;
      const { rows, count } = await recharge.list(request.params.reference, { userId, state, fromMs: isoToMs(from, 'querystring.from'), toMs: isoToMs(to, 'querystring.to') }, limit, start);
      return { payments: rows.map((row) => paymentView(row)), count };
    },
  );

  app.get(
    '/v3/rechargeProviders/:reference/payments/:id',
    {
      config: { auth: managed },
      schema: { operationId: 'getPayment', tags, summary: 'Get a payment', params: PaymentParams, response: { 200: PaymentSchema, ...errorResponses(400, 404) } },
    },
    async (request) => paymentView(await recharge.get(request.params.reference, request.params.id), true),
  );

  app.post(
    '/v3/rechargeProviders/:reference/payments',
    {
      config: { auth: writes, idempotent: true },
      schema: {
        operationId: 'createPayment',
        tags,
        summary: 'Create a payment',
        description:
          'Uncommitted until committed; expires after PURSE_PAYMENT_TTL_SECONDS. Takes an Idempotency-Key header. A declined card or MB WAY payment is a 402; a person topping up for themselves past the 24-hour limit gets a 429 with Retry-After.',
        params: ProviderParams,
        body: CreatePaymentBody,
        response: { 200: CreatedPaymentSchema, ...errorResponses(400, 402, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const input = { reference: request.params.reference, ...request.body };
      return createdView(valueOf(reply, await pipeline.execute(commandOf(request, clock, 'payment.create', input))));
    },
  );

  app.patch(
    '/v3/rechargeProviders/:reference/payments/:id',
    {
      config: { auth: writes, idempotent: true },
      schema: { operationId: 'updatePayment', tags, summary: 'Update a created payment', params: PaymentParams, body: UpdatePaymentBody, response: { 204: Type.Null(), ...errorResponses(400, 404, 409) } },
    },
    async (request, reply) => {
      const input = { reference: request.params.reference, id: request.params.id, ...request.body };
      valueOf(reply, await pipeline.execute(commandOf(request, clock, 'payment.update', input)));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v3/rechargeProviders/:reference/payments/:id/commit',
    {
      config: { auth: writes, idempotent: true },
      schema: { operationId: 'commitPayment', tags, summary: 'Commit a payment: the credit is topped up', params: PaymentParams, response: { 200: CommitResultSchema, ...errorResponses(400, 404, 409) } },
    },
    async (request, reply) => {
      const row = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'payment.commit', { reference: request.params.reference, id: request.params.id })));
      return { amount: fromMinor(row.amount_minor, row.currency) };
    },
  );

  app.post(
    '/v3/rechargeProviders/:reference/payments/:id/rollback',
    {
      config: { auth: writes, idempotent: true },
      // MyQ clients may send no body at all; that is a rollback without a reason.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: { operationId: 'rollbackPayment', tags, summary: 'Roll a payment back', params: PaymentParams, body: RollbackBody, response: { 200: PaymentSchema, ...errorResponses(400, 404, 409) } },
    },
    async (request, reply) => {
      const input = { reference: request.params.reference, id: request.params.id, reason: request.body.reason ?? '' };
      return paymentView(valueOf(reply, await pipeline.execute(commandOf(request, clock, 'payment.rollback', input))), true);
    },
  );
};

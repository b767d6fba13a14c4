// /api/payments, /api/refunds, /api/reconciliation — the card / MB WAY payments API of spec
// file 002, done correctly: 404 for unknown ids, 400 naming the field, no card data kept or shown.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import type { Clock } from '../clock.js';
import { commandOf, valueOf } from '../commands/http.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { invalid } from '../errors.js';
import { toMinor } from '../money.js';
import { errorResponses } from '../schemas.js';
import { parseDateTime } from '../time.js';

import {
  CreatePaymentBody,
  GatewayPaymentSchema,
  PaymentIdParams,
  PaymentListQuery,
  ReconciliationSchema,
  RefundBody,
  RefundListQuery,
  RefundSchema,
  UpdatePaymentBody,
  type GatewayPaymentView,
  type PaymentListQueryInput,
} from './schemas.js';
import type { GatewayService } from './service.js';
import type { GatewayPaymentRow, PaymentFilter } from './store.js';
import { gatewayPaymentView, refundView } from './views.js';

function filterOf(query: PaymentListQueryInput, currency: string): PaymentFilter {
  const money = (text: string | undefined, field: string): number | undefined => (text === undefined ? undefined : toMinor(text, currency, field));
  const time = (text: string | undefined, field: string): number | undefined => (text === undefined ? undefined : parseDateTime(text, field));
  const filter: PaymentFilter = {
    paymentId: query.payment_id,
    method: query.payment_method,
    status: query.status,
    amountGteMinor: money(query.amount_gte, 'amount_gte'),
    amountLteMinor: money(query.amount_lte, 'amount_lte'),
    createdGteMs: time(query.created_at_gte, 'created_at_gte'),
    createdLteMs: time(query.created_at_lte, 'created_at_lte'),
    settledGteMs: time(query.settled_at_gte, 'settled_at_gte'),
    settledLteMs: time(query.settled_at_lte, 'settled_at_lte'),
  };
  if (filter.amountGteMinor !== undefined && filter.amountLteMinor !== undefined && filter.amountGteMinor > filter.amountLteMinor) {
    throw invalid('amount_gte is above amount_lte', [{ field: 'amount_gte', problem: 'must not exceed amount_lte' }]);
  }
  return filter;
}

export const gatewayRoutes: FastifyPluginAsyncTypebox<{ gateway: GatewayService; pipeline: CommandPipeline; clock: Clock }> = async (app, { gateway, pipeline, clock }) => {
  const tags = ['payments'];
  const auth = { scope: 'payments', right: 'managePayments' } as const;
  const write = { auth, idempotent: true };
  const detailed = (row: GatewayPaymentRow): GatewayPaymentView => gatewayPaymentView(row, true);

  app.get(
    '/api/payments',
    {
      config: { auth },
      schema: { operationId: 'listGatewayPayments', tags, summary: 'List payments (without additional_params)', querystring: PaymentListQuery, response: { 200: Type.Array(GatewayPaymentSchema), ...errorResponses(400) } },
    },
    async (request) => {
      const rows = await gateway.list(filterOf(request.query, gateway.currency), request.query.limit, request.query.offset);
      return rows.map((row) => gatewayPaymentView(row, false));
    },
  );

  app.get(
    '/api/payments/:id',
    { config: { auth }, schema: { operationId: 'getGatewayPayment', tags, summary: 'A payment with its additional_params', params: PaymentIdParams, response: { 200: GatewayPaymentSchema, ...errorResponses(400, 404) } } },
    async (request) => gatewayPaymentView(await gateway.get(request.params.id), true),
  );

  app.post(
    '/api/payments',
    {
      config: write,
      schema: {
        operationId: 'createGatewayPayment',
        tags,
        summary: 'Authorize and capture a payment',
        description: 'Declined test numbers give status `error` with a `decline_reason`; bad card or phone data is a 400 and nothing is kept.',
        body: CreatePaymentBody,
        response: { 201: GatewayPaymentSchema, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const row = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'gateway.createPayment', request.body)));
      return reply.code(201).header('location', `/api/payments/${row.payment_id}`).send(detailed(row));
    },
  );

  app.put(
    '/api/payments/:id',
    {
      config: write,
      schema: {
        operationId: 'updateGatewayPayment',
        tags,
        summary: 'Update a payment: amount while untouched, settlement once',
        params: PaymentIdParams,
        body: UpdatePaymentBody,
        response: { 200: GatewayPaymentSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => detailed(valueOf(reply, await pipeline.execute(commandOf(request, clock, 'gateway.updatePayment', { paymentId: request.params.id, ...request.body })))),
  );

  app.delete(
    '/api/payments/:id',
    {
      config: write,
      schema: { operationId: 'voidGatewayPayment', tags, summary: 'Void an unsettled payment without refunds (kept, status voided)', params: PaymentIdParams, response: { 200: GatewayPaymentSchema, ...errorResponses(400, 404, 409) } },
    },
    async (request, reply) => detailed(valueOf(reply, await pipeline.execute(commandOf(request, clock, 'gateway.voidPayment', { paymentId: request.params.id })))),
  );

  app.get(
    '/api/refunds',
    { config: { auth }, schema: { operationId: 'listRefunds', tags, summary: 'List refunds', querystring: RefundListQuery, response: { 200: Type.Array(RefundSchema), ...errorResponses(400) } } },
    async (request) => {
      const rows = await gateway.listRefunds({ paymentId: request.query.payment_id, refundId: request.query.refund_id }, request.query.limit, request.query.offset);
      return rows.map((row) => refundView(row, gateway.currency));
    },
  );

  app.get(
    '/api/refunds/:id',
    { config: { auth }, schema: { operationId: 'getRefund', tags, summary: 'A refund', params: PaymentIdParams, response: { 200: RefundSchema, ...errorResponses(400, 404) } } },
    async (request) => refundView(await gateway.getRefund(request.params.id), gateway.currency),
  );

  app.post(
    '/api/refunds',
    {
      config: write,
      schema: {
        operationId: 'createRefund',
        tags,
        summary: 'Refund a success or settled payment',
        description: "Refunds never add up to more than the payment. A refund of a payment that bought credit takes the credit back, or is refused (409) when the balance is too low.",
        body: RefundBody,
        response: { 201: RefundSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const refund = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'gateway.refund', { paymentId: request.body.payment_id, amount: request.body.amount })));
      return reply.code(201).header('location', `/api/refunds/${refund.refund_id}`).send(refundView(refund, gateway.currency));
    },
  );

  app.get(
    '/api/reconciliation',
    { config: { auth }, schema: { operationId: 'getReconciliation', tags, summary: 'Every mismatch between gateway payments, refunds and the ledger', response: { 200: ReconciliationSchema } } },
    async () => {
      const mismatches = await gateway.reconcile();
      return { mismatches, count: mismatches.length };
    },
  );
};

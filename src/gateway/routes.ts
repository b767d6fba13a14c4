// /api/payments, /api/refunds, /api/reconciliation — the card / MB WAY payments API of spec
// file 002, done correctly: 404 for unknown ids, 400 naming the field, no card data kept or shown.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { principalOf } from '../auth/guard.js';
import type { Clock } from '../clock.js';
import { remember } from '../idempotency/plugin.js';
import { actorOf } from '../auth/principal.js';
import { invalid } from '../errors.js';
import { fromMinor, toMinor } from '../money.js';
import { errorResponses } from '../schemas.js';
import { parseDateTime } from '../time.js';

import { maskedNumber } from './card.js';
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
  type RefundView,
} from './schemas.js';
import type { GatewayService } from './service.js';
import type { GatewayPaymentRow, PaymentFilter, RefundRow } from './store.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function gatewayPaymentView(row: GatewayPaymentRow, detail: boolean): GatewayPaymentView {
  const amount = fromMinor(row.amount_minor, row.currency);
  const view: GatewayPaymentView = {
    payment_id: row.payment_id,
    amount,
    payment_method: row.payment_method,
    status: row.status,
    settled_at: iso(row.settled_at_ms),
    settled_amount: row.settled_amount_minor === null ? null : fromMinor(row.settled_amount_minor, row.currency),
    created_at: new Date(row.created_at_ms).toISOString(),
    decline_reason: row.decline_reason,
  };
  if (!detail) return view;
  const base = { payment: row.payment_id, amount, method: row.payment_method };
  const additional =
    row.payment_method === 'mbway'
      ? { ...base, phone_number: row.phone_number }
      : { ...base, number: maskedNumber({ bin: row.card_bin ?? '', last4: row.card_last4 ?? '', length: row.card_length ?? 0 }), name: row.card_name, expiration_month: row.card_exp_month, expiration_year: row.card_exp_year };
  return { ...view, additional_params: additional };
}

const refundView = (row: RefundRow, currency: string): RefundView => ({ refund_id: row.refund_id, payment_id: row.payment_id, amount: fromMinor(row.amount_minor, currency), created_at: new Date(row.created_at_ms).toISOString() });

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

export const gatewayRoutes: FastifyPluginAsyncTypebox<{ gateway: GatewayService; clock: Clock }> = async (app, { gateway, clock }) => {
  const tags = ['payments'];
  const auth = { scope: 'payments', right: 'managePayments' } as const;
  const write = { auth, idempotent: true };
  const detailed = (row: GatewayPaymentRow): GatewayPaymentView => gatewayPaymentView(row, true);

  app.get(
    '/api/payments',
    {
      config: { auth },
      schema: { tags, summary: 'List payments (without additional_params)', querystring: PaymentListQuery, response: { 200: Type.Array(GatewayPaymentSchema), ...errorResponses(400) } },
    },
    async (request) => {
      const rows = await gateway.list(filterOf(request.query, gateway.currency), request.query.limit, request.query.offset);
      return rows.map((row) => gatewayPaymentView(row, false));
    },
  );

  app.get(
    '/api/payments/:id',
    { config: { auth }, schema: { tags, summary: 'A payment with its additional_params', params: PaymentIdParams, response: { 200: GatewayPaymentSchema, ...errorResponses(400, 404) } } },
    async (request) => gatewayPaymentView(await gateway.get(request.params.id), true),
  );

  app.post(
    '/api/payments',
    {
      config: write,
      schema: {
        tags,
        summary: 'Authorize and capture a payment',
        description: 'Declined test numbers give status `error` with a `decline_reason`; bad card or phone data is a 400 and nothing is kept.',
        body: CreatePaymentBody,
        response: { 201: GatewayPaymentSchema, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const row = await gateway.create(request.body, actorOf(principalOf(request)), remember(request, 201, detailed, clock));
      return reply.code(201).header('location', `/api/payments/${row.payment_id}`).send(detailed(row));
    },
  );

  app.put(
    '/api/payments/:id',
    {
      config: write,
      schema: {
        tags,
        summary: 'Update a payment: amount while untouched, settlement once',
        params: PaymentIdParams,
        body: UpdatePaymentBody,
        response: { 200: GatewayPaymentSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => detailed(await gateway.update(request.params.id, request.body, actorOf(principalOf(request)), remember(request, 200, detailed, clock))),
  );

  app.delete(
    '/api/payments/:id',
    {
      config: write,
      schema: { tags, summary: 'Void an unsettled payment without refunds (kept, status voided)', params: PaymentIdParams, response: { 200: GatewayPaymentSchema, ...errorResponses(400, 404, 409) } },
    },
    async (request) => detailed(await gateway.void(request.params.id, actorOf(principalOf(request)), remember(request, 200, detailed, clock))),
  );

  app.get(
    '/api/refunds',
    { config: { auth }, schema: { tags, summary: 'List refunds', querystring: RefundListQuery, response: { 200: Type.Array(RefundSchema), ...errorResponses(400) } } },
    async (request) => {
      const rows = await gateway.listRefunds({ paymentId: request.query.payment_id, refundId: request.query.refund_id }, request.query.limit, request.query.offset);
      return rows.map((row) => refundView(row, gateway.currency));
    },
  );

  app.get(
    '/api/refunds/:id',
    { config: { auth }, schema: { tags, summary: 'A refund', params: PaymentIdParams, response: { 200: RefundSchema, ...errorResponses(400, 404) } } },
    async (request) => refundView(await gateway.getRefund(request.params.id), gateway.currency),
  );

  app.post(
    '/api/refunds',
    {
      config: write,
      schema: {
        tags,
        summary: 'Refund a success or settled payment',
        description: "Refunds never add up to more than the payment. A refund of a payment that bought credit takes the credit back, or is refused (409) when the balance is too low.",
        body: RefundBody,
        response: { 201: RefundSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const render = (row: RefundRow): RefundView => refundView(row, gateway.currency);
      const refund = await gateway.refund(request.body.payment_id, request.body.amount, actorOf(principalOf(request)), remember(request, 201, render, clock));
      return reply.code(201).header('location', `/api/refunds/${refund.refund_id}`).send(render(refund));
    },
  );

  app.get(
    '/api/reconciliation',
    { config: { auth }, schema: { tags, summary: 'Every mismatch between gateway payments, refunds and the ledger', response: { 200: ReconciliationSchema } } },
    async () => {
      const mismatches = await gateway.reconcile();
      return { mismatches, count: mismatches.length };
    },
  );
};

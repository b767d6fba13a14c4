// Spending credit: charges, holds and their capture or release, refunds of charges, transfers.
// Every write takes an Idempotency-Key; who may do what is decided in commands.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

import { principalOf } from '../auth/guard.js';
import type { Clock } from '../clock.js';
import { commandOf, valueOf } from '../commands/http.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { forbidden } from '../errors.js';
import { AccountParams } from '../ledger/schemas.js';
import { mayReadCredit } from '../ledger/service.js';
import { fromMinor } from '../money.js';
import { errorResponses } from '../schemas.js';
import { isoToMs } from '../time.js';

import {
  CaptureBody,
  ChargeBody,
  ChargeListQuery,
  ChargeListSchema,
  ChargeRefundBody,
  ChargeRefundListSchema,
  ChargeRefundResultSchema,
  ChargeSchema,
  HoldBody,
  HoldListQuery,
  HoldListSchema,
  HoldSchema,
  IdParams,
  TransferBody,
  TransferSchema,
} from './schemas.js';
import type { SpendingService } from './service.js';
import { chargeRefundView, chargeView, holdView, transferView } from './views.js';

export interface SpendingRoutesOptions {
  spending: SpendingService;
  pipeline: CommandPipeline;
  clock: Clock;
}

const READ_RIGHTS = 'that needs the right chargeCredit, manageUsers or managePayments';

export const spendingRoutes: FastifyPluginAsyncTypebox<SpendingRoutesOptions> = async (app, { spending, pipeline, clock }) => {
  const tags = ['spending'];
  const auth = { scope: 'credit' } as const;

  app.post(
    '/v3/users/:id/accounts/:reference/charges',
    {
      config: { auth, idempotent: true },
      schema: {
        operationId: 'createCharge',
        tags,
        summary: 'Charge credit',
        description: "Posted only when the available credit (balance − held) covers it, else 402 and nothing changes. One's own account with the `credit` scope; another's needs chargeCredit.",
        params: AccountParams,
        body: ChargeBody,
        response: { 201: ChargeSchema, ...errorResponses(400, 402, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const input = { userId: request.params.id, reference: request.params.reference, ...request.body };
      const row = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'charge.post', input)));
      return reply.code(201).send(chargeView(row));
    },
  );

  app.get(
    '/v3/users/:id/accounts/:reference/charges',
    {
      config: { auth },
      schema: { operationId: 'listCharges', tags, summary: 'Charges of an account, newest first', description: "One's own; another person's needs the right chargeCredit, manageUsers or managePayments.", params: AccountParams, querystring: ChargeListQuery, response: { 200: ChargeListSchema, ...errorResponses(400, 403, 404) } },
    },
    async (request) => {
      const { id, reference } = request.params;
      if (!mayReadCredit(principalOf(request), id)) throw forbidden(`reading another person's charges: ${READ_RIGHTS}`);
      const { from, to, limit = 100, start = 0 } = request.query;
      const { rows, count } = await spending.charges({ userId: id, reference, fromMs: isoToMs(from, 'querystring.from'), toMs: isoToMs(to, 'querystring.to') }, limit, start);
      return { charges: rows.map(chargeView), count };
    },
  );

  app.get(
    '/v3/charges/:id',
    { config: { auth }, schema: { operationId: 'getCharge', tags, summary: 'A charge', params: IdParams, response: { 200: ChargeSchema, ...errorResponses(400, 404) } } },
    async (request) => chargeView(await spending.charge(request.params.id, principalOf(request))),
  );

  app.post(
    '/v3/charges/:id/refunds',
    {
      config: { auth, idempotent: true },
      schema: {
        operationId: 'refundCharge',
        tags,
        summary: 'Refund a charge',
        description: 'Gives credit back; refunds never add up to more than the charge. Needs chargeCredit or managePayments.',
        params: IdParams,
        body: ChargeRefundBody,
        response: { 201: ChargeRefundResultSchema, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { refund, charge } = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'charge.refund', { id: request.params.id, ...request.body })));
      return reply.code(201).send({ ...chargeRefundView(refund, charge.currency), charge: chargeView(charge) });
    },
  );

  app.get(
    '/v3/charges/:id/refunds',
    { config: { auth }, schema: { operationId: 'listChargeRefunds', tags, summary: 'Refunds of a charge', params: IdParams, response: { 200: ChargeRefundListSchema, ...errorResponses(400, 404) } } },
    async (request) => {
      const { charge, refunds } = await spending.refunds(request.params.id, principalOf(request));
      return { refunds: refunds.map((r) => chargeRefundView(r, charge.currency)), count: refunds.length };
    },
  );

  app.post(
    '/v3/users/:id/accounts/:reference/holds',
    {
      config: { auth, idempotent: true },
      schema: {
        operationId: 'createHold',
        tags,
        summary: 'Hold credit',
        description: 'Reserves the amount (402 when the available credit does not cover it) until it is captured, released or expires (default 900 s, at most 7 days).',
        params: AccountParams,
        body: HoldBody,
        response: { 201: HoldSchema, ...errorResponses(400, 402, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const input = { userId: request.params.id, reference: request.params.reference, ...request.body };
      const row = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'hold.place', input)));
      return reply.code(201).send(holdView(row));
    },
  );

  app.get(
    '/v3/users/:id/accounts/:reference/holds',
    {
      config: { auth },
      schema: { operationId: 'listHolds', tags, summary: 'Holds of an account, newest first', description: "One's own; another person's needs the right chargeCredit, manageUsers or managePayments.", params: AccountParams, querystring: HoldListQuery, response: { 200: HoldListSchema, ...errorResponses(400, 403, 404) } },
    },
    async (request) => {
      const { id, reference } = request.params;
      if (!mayReadCredit(principalOf(request), id)) throw forbidden(`reading another person's holds: ${READ_RIGHTS}`);
      const { state, limit = 100, start = 0 } = request.query;
      const { rows, count } = await spending.holds({ userId: id, reference, state }, limit, start);
      return { holds: rows.map(holdView), count };
    },
  );

  app.get(
    '/v3/holds/:id',
    { config: { auth }, schema: { operationId: 'getHold', tags, summary: 'A hold', params: IdParams, response: { 200: HoldSchema, ...errorResponses(400, 404) } } },
    async (request) => holdView(await spending.hold(request.params.id, principalOf(request))),
  );

  app.post(
    '/v3/holds/:id/capture',
    {
      config: { auth, idempotent: true },
      // A capture of the whole hold may come with no body at all.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        operationId: 'captureHold',
        tags,
        summary: 'Capture a hold',
        description: 'Charges what the job cost — at most the held amount, by default all of it — and releases the rest. Answers the charge. Only a held hold changes (409 otherwise). Whoever placed the hold may, and holders of chargeCredit.',
        params: IdParams,
        body: CaptureBody,
        response: { 200: ChargeSchema, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request, reply) => chargeView(valueOf(reply, await pipeline.execute(commandOf(request, clock, 'hold.capture', { id: request.params.id, amount: request.body.amount })))),
  );

  app.post(
    '/v3/holds/:id/release',
    {
      config: { auth, idempotent: true },
      schema: { operationId: 'releaseHold', tags, summary: 'Release a hold', description: 'Gives the reserved credit back. Only a held hold changes (409 otherwise). Whoever placed the hold may, and holders of chargeCredit.', params: IdParams, response: { 200: HoldSchema, ...errorResponses(400, 403, 404, 409) } },
    },
    async (request, reply) => holdView(valueOf(reply, await pipeline.execute(commandOf(request, clock, 'hold.release', { id: request.params.id })))),
  );

  app.post(
    '/v3/users/:id/accounts/:reference/transfers',
    {
      config: { auth, idempotent: true },
      schema: {
        operationId: 'createTransfer',
        tags,
        summary: 'Transfer credit to another person',
        description: "From one's own account when PURSE_TRANSFERS=on (else 403); holders of chargeCredit always may. 402 when the available credit does not cover it. Both statements show it.",
        params: AccountParams,
        body: TransferBody,
        response: { 201: TransferSchema, ...errorResponses(400, 402, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const input = { userId: request.params.id, reference: request.params.reference, ...request.body };
      const { transfer, balanceMinor } = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'transfer.post', input)));
      return reply.code(201).send({ ...transferView(transfer), balance: fromMinor(balanceMinor, transfer.currency) });
    },
  );
};

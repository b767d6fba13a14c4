// /v3/vouchers/batches — generate (codes shown once, JSON or CSV), list with counts, expire.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';

import type { Clock } from '../clock.js';
import { commandOf, valueOf } from '../commands/http.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { errorResponses } from '../schemas.js';

import { BatchListQuery, BatchListSchema, BatchParams, BatchSchema, GenerateBatchBody, GeneratedBatchSchema } from './schemas.js';
import type { VoucherService } from './service.js';
import { batchView, codesCsv } from './views.js';

export const voucherRoutes: FastifyPluginAsyncTypebox<{ vouchers: VoucherService; pipeline: CommandPipeline; clock: Clock }> = async (app, { vouchers, pipeline, clock }) => {
  const tags = ['vouchers'];
  const auth = { scope: 'credit', right: 'manageVouchers' } as const;

  app.post(
    '/v3/vouchers/batches',
    {
      config: { auth },
      bodyLimit: 64 * 1024,
      schema: {
        operationId: 'generateVoucherBatch',
        tags,
        summary: 'Generate a batch of vouchers',
        description: 'Answers the batch with its codes — the only time they are shown. `Accept: text/csv` answers them as CSV.',
        produces: ['application/json', 'text/csv'],
        body: GenerateBatchBody,
        response: { 201: GeneratedBatchSchema, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const { batchId, codes } = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'voucher.generate', request.body)));
      const stats = await vouchers.batch(batchId);
      void reply.code(201).header('location', `/v3/vouchers/batches/${stats.batch.id}`);
      if ((request.headers.accept ?? '').includes('text/csv')) {
        // Text, not the JSON schema: the reply is sent as it is.
        return reply.type('text/csv; charset=utf-8').send(codesCsv(stats, codes) as unknown as Static<typeof GeneratedBatchSchema>);
      }
      return { ...batchView(stats), codes };
    },
  );

  app.get(
    '/v3/vouchers/batches',
    { config: { auth }, schema: { operationId: 'listVoucherBatches', tags, summary: 'List voucher batches with their counts', querystring: BatchListQuery, response: { 200: BatchListSchema, ...errorResponses(400) } } },
    async (request) => {
      const { batches, count } = await vouchers.batches(request.query.limit, request.query.start);
      return { batches: batches.map(batchView), count };
    },
  );

  app.get(
    '/v3/vouchers/batches/:id',
    { config: { auth }, schema: { operationId: 'getVoucherBatch', tags, summary: 'A voucher batch with its counts', params: BatchParams, response: { 200: BatchSchema, ...errorResponses(400, 404) } } },
    async (request) => batchView(await vouchers.batch(request.params.id)),
  );

  app.post(
    '/v3/vouchers/batches/:id/expire',
    { config: { auth, idempotent: true }, schema: { operationId: 'expireVoucherBatch', tags, summary: 'Expire a batch now', params: BatchParams, response: { 200: BatchSchema, ...errorResponses(400, 404, 409) } } },
    async (request, reply) => {
      const { batchId } = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'voucher.expireBatch', { batchId: request.params.id })));
      return batchView(await vouchers.batch(batchId));
    },
  );
};

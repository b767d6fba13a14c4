// Credit: accounts, balances, the statement (JSON, or CSV streamed in constant memory), and
// recharges by hand — one person, or many from a CSV.
import { Readable } from 'node:stream';

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { stringify } from 'csv-stringify';
import { Type } from 'typebox';

import { principalOf } from '../auth/guard.js';
import type { Clock } from '../clock.js';
import { commandOf, valueOf } from '../commands/http.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { SAFE_CSV_CAST } from '../csv.js';
import { invalid } from '../errors.js';
import { fromMinor } from '../money.js';
import type { RechargeService } from '../recharge/service.js';
import type { SpendingService } from '../spending/service.js';
import { errorResponses } from '../schemas.js';
import { isoToMs } from '../time.js';

import { AccountParams, AccountsSchema, LedgerVerificationSchema, BalanceSchema, BulkRechargeBody, BulkRechargeResultSchema, RechargeBody, RechargeResultSchema, StatementQuery, StatementSchema, type StatementEntry } from './schemas.js';
import type { LedgerService } from './service.js';
import type { StatementFilter } from './store.js';
import { verifyBooks } from './verify.js';

export interface LedgerRoutesOptions {
  ledger: LedgerService;
  recharge: RechargeService;
  spending: SpendingService;
  pipeline: CommandPipeline;
  clock: Clock;
}

/** Most problems one answer lists; a ledger that far gone needs `purse ledger verify` for the rest. */
const MAX_LISTED_PROBLEMS = 1000;

const CSV_COLUMNS: (keyof StatementEntry)[] = ['id', 'date', 'type', 'balance', 'value', 'provider', 'paymentId', 'description'];

export const ledgerRoutes: FastifyPluginAsyncTypebox<LedgerRoutesOptions> = async (app, { ledger, recharge, spending, pipeline, clock }) => {
  const tags = ['credit'];
  // Only this plugin's routes (the bulk recharge) take CSV; everywhere else text/csv is a 415.
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });
  const UserParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, examples: [1] }) });

  app.post(
    '/v3/ledger/verify',
    {
      config: { auth: { scope: 'settings', right: 'admin' } },
      schema: {
        operationId: 'verifyLedger',
        tags,
        summary: 'Verify the ledger',
        description: 'Runs what `purse ledger verify` runs: every transaction balances, every balance matches its postings, every payment and hold agrees with its postings. Changes nothing.',
        response: { 200: LedgerVerificationSchema },
      },
    },
    async () => {
      const checkedAt = new Date(clock.nowMs()).toISOString();
      const problems = await verifyBooks({ ledger, recharge, spending });
      const listed = problems.length > MAX_LISTED_PROBLEMS ? [...problems.slice(0, MAX_LISTED_PROBLEMS), `… and ${problems.length - MAX_LISTED_PROBLEMS} more`] : problems;
      return { ok: problems.length === 0, problems: listed, checkedAt };
    },
  );

  app.get(
    '/v3/users/:id/accounts',
    {
      config: { auth: { scope: 'credit' } },
      schema: { operationId: 'listAccounts', tags, summary: "A person's credit accounts", description: "One's own; another's needs manageUsers or managePayments.", params: UserParams, response: { 200: AccountsSchema, ...errorResponses(400, 404) } },
    },
    async (request) => {
      ledger.assertMayRead(principalOf(request), request.params.id);
      const [accounts, providers] = await Promise.all([ledger.accounts(request.params.id), recharge.listProviders(false)]);
      const rechargeProviders = providers.map(({ provider }) => ({ name: provider.name, reference: provider.reference }));
      return { credit: { enabled: true }, accounts: accounts.map((a) => ({ name: a.name, reference: a.reference, type: 'credit' as const, rechargeProviders })) };
    },
  );

  app.get(
    '/v3/users/:id/accounts/:reference/balance',
    {
      config: { auth: { scope: 'credit' } },
      schema: { operationId: 'getBalance', tags, summary: 'Balance of an account', description: '`amount` is the posted balance (MyQ); `available` = amount − held: what charges, holds and transfers may take.', params: AccountParams, response: { 200: BalanceSchema, ...errorResponses(400, 404) } },
    },
    async (request) => {
      ledger.assertMayRead(principalOf(request), request.params.id);
      const balance = await ledger.balance(request.params.id, request.params.reference);
      const money = (minor: number): number => fromMinor(minor, ledger.currency);
      return { amount: money(balance.amountMinor), held: money(balance.heldMinor), available: money(balance.availableMinor) };
    },
  );

  app.get(
    '/v3/users/:id/accounts/:reference/statement',
    {
      config: { auth: { scope: 'credit' } },
      schema: {
        operationId: 'getStatement',
        tags,
        summary: 'Credit statement',
        description: 'Entries oldest first, each with the balance after it. `Accept: text/csv` streams the whole statement (paging ignored).',
        produces: ['application/json', 'text/csv'],
        params: AccountParams,
        querystring: StatementQuery,
        response: { 200: StatementSchema, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { id, reference } = request.params;
      ledger.assertMayRead(principalOf(request), id);
      const { from, to, provider, type, limit, start } = request.query;
      const filter: StatementFilter = { fromMs: isoToMs(from, 'querystring.from'), toMs: isoToMs(to, 'querystring.to'), provider, type };
      if (!(request.headers.accept ?? '').includes('text/csv')) return ledger.statement(id, reference, filter, limit, start);
      await ledger.balanceMinor(id, reference); // 404 before the first byte, not in the middle of a stream
      const csv = Readable.from(ledger.statementStream(id, reference, filter)).pipe(stringify({ header: true, columns: CSV_COLUMNS, cast: SAFE_CSV_CAST }));
      void reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="statement-${id}-${reference}.csv"`);
      // A stream is sent as is; the JSON response schema does not apply to it.
      return reply.send(csv as unknown as Awaited<ReturnType<LedgerService['statement']>>);
    },
  );

  app.post(
    '/v3/users/:id/accounts/:reference/recharge',
    {
      config: { auth: { scope: 'credit', right: 'rechargeCredit' }, idempotent: true },
      schema: {
        operationId: 'rechargeCredit',
        tags,
        summary: 'Recharge by hand',
        description: 'A negative amount lowers the credit, never below zero. Takes an Idempotency-Key header.',
        params: AccountParams,
        body: RechargeBody,
        response: { 200: RechargeResultSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const input = { userId: request.params.id, reference: request.params.reference, amount: request.body.amount, description: request.body.description ?? '' };
      const result = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'credit.recharge', input)));
      return { transactionId: result.transactionId, amount: fromMinor(result.amountMinor, ledger.currency), balance: fromMinor(result.balanceMinor, ledger.currency) };
    },
  );

  app.post(
    '/v3/credit/bulkRecharge',
    {
      config: { auth: { scope: 'credit', right: 'rechargeCredit' }, idempotent: true },
      bodyLimit: 16 * 1024 * 1024, // the rows are capped by PURSE_BULK_MAX_ROWS; this caps what surrounds them
      schema: {
        operationId: 'bulkRecharge',
        tags,
        summary: 'Recharge many people from a CSV',
        description:
          'The CSV as a JSON body `{"csv": "…"}` (what a generated client sends) or as the body itself, `text/csv`: rows of `user;amount` or `user,amount`, optional header, at most PURSE_BULK_MAX_ROWS rows of at most 256 characters. ' +
          'All rows or none; the first 100 bad rows are reported with their line numbers, the rest counted.',
        // JSON first: generated clients send the first type the document lists.
        body: { content: { 'application/json': { schema: BulkRechargeBody }, 'text/csv': { schema: Type.String({ description: 'the CSV', examples: ['user;amount\nadmin;1\n'] }) } } },
        response: { 200: BulkRechargeResultSchema, ...errorResponses(400, 404, 409, 415) },
      },
    },
    async (request, reply) => {
      const result = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'credit.bulkRecharge', { csv: bulkCsvOf(request.body) })));
      return { count: result.count, total: fromMinor(result.totalMinor, ledger.currency) };
    },
  );
};

/** The CSV of a bulk recharge, whichever of its two content types it came in (both schema-checked). */
function bulkCsvOf(body: unknown): string {
  if (typeof body === 'string') return body;
  const csv: unknown = typeof body === 'object' && body !== null ? (body as { csv?: unknown }).csv : undefined;
  if (typeof csv !== 'string') throw invalid('body.csv is required', [{ field: 'body.csv', problem: 'is required' }]);
  return csv;
}

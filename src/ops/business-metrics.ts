// The metrics an operator watches beside the HTTP ones: money moved and its outcomes (counted from
// the events each committed command emitted), token and voucher failures, webhook deliveries and
// their backlog, and what Purse owes people (read from the database at each scrape). Each business
// event also logs one line.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';

import type { Context } from '../context.js';
import type { EmittedEvent } from '../commands/types.js';
import { MAX_TOTAL_MINOR, toMinor } from '../money.js';

/** Which events move money, and how: the counter's label, and where the event data keeps the amount. */
const MONEY: Readonly<Record<string, { movement: string; field: string }>> = {
  'payment.committed': { movement: 'recharged', field: 'amount' },
  'recharge.manual': { movement: 'recharged', field: 'amount' },
  'recharge.bulk': { movement: 'recharged', field: 'total' },
  'charge.posted': { movement: 'charged', field: 'amount' },
  'charge.refunded': { movement: 'refunded', field: 'amount' },
  'refund.created': { movement: 'refunded', field: 'amount' },
  'transfer.posted': { movement: 'transferred', field: 'amount' },
};

const RECHARGE_OUTCOMES: Readonly<Record<string, string>> = { 'payment.committed': 'committed', 'payment.rolledBack': 'rolledBack', 'payment.expired': 'expired' };

export function installBusinessMetrics(app: FastifyInstance, registry: Registry, ctx: Context, log: FastifyBaseLogger): void {
  const registers = [registry];
  const recharges = new Counter({ name: 'purse_recharges_total', help: 'recharge payments by provider and how they ended', labelNames: ['provider', 'outcome'], registers });
  const money = new Counter({ name: 'purse_money_minor_total', help: `amounts moved, in minor units of ${ctx.config.currency}`, labelNames: ['movement'], registers });
  const tokens = new Counter({ name: 'purse_token_requests_total', help: 'token requests by outcome', labelNames: ['outcome'], registers });
  new Counter({
    name: 'purse_voucher_failures_total',
    help: 'wrong voucher codes',
    registers,
    collect() {
      this.reset();
      this.inc(ctx.voucherFailures.failuresTotal);
    },
  });
  new Counter({
    name: 'purse_webhook_deliveries_total',
    help: 'webhook delivery attempts of this process by outcome',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(ctx.dispatcher.outcomes)) this.labels(outcome).inc(n);
    },
  });
  // Both backlog gauges are collected together at a scrape: one query serves them.
  let backlog: ReturnType<typeof ctx.webhooks.backlog> | null = null;
  const backlogOnce = (): ReturnType<typeof ctx.webhooks.backlog> => {
    backlog ??= ctx.webhooks.backlog(ctx.clock.nowMs()).finally(() => {
      backlog = null;
    });
    return backlog;
  };
  new Gauge({
    name: 'purse_webhook_backlog',
    help: 'undelivered webhook deliveries of enabled endpoints',
    registers,
    async collect() {
      this.set((await backlogOnce()).pending);
    },
  });
  new Gauge({
    name: 'purse_webhook_oldest_undelivered_seconds',
    help: 'age of the oldest undelivered webhook delivery of an enabled endpoint',
    registers,
    async collect() {
      this.set((await backlogOnce()).oldestAgeSeconds);
    },
  });
  new Gauge({
    name: 'purse_credit_minor',
    help: `credit people hold (outstanding: the operator's liability) and what open holds reserve of it, minor units of ${ctx.config.currency}`,
    labelNames: ['measure'],
    registers,
    async collect() {
      const { outstandingMinor, heldMinor } = await ctx.ledger.liabilities();
      this.labels('outstanding').set(outstandingMinor);
      this.labels('held').set(heldMinor);
    },
  });
  new Gauge({
    name: 'purse_open_holds',
    help: 'holds not yet captured, released or expired',
    registers,
    async collect() {
      this.set(await ctx.spending.openHolds());
    },
  });

  ctx.pipeline.onCommitted((events) => {
    for (const event of events) {
      log.info({ event: event.type, subject: event.subject }, 'business event');
      count(event);
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url === '/api/auth/token') tokens.labels(reply.statusCode < 400 ? 'granted' : 'refused').inc();
  });

  function count(event: EmittedEvent): void {
    const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<string, unknown>;
    const outcome = RECHARGE_OUTCOMES[event.type];
    if (outcome !== undefined) recharges.labels(typeof data.provider === 'string' ? data.provider : 'unknown', outcome).inc();
    if (event.type === 'recharge.manual') recharges.labels('manual', 'committed').inc();
    const moved = MONEY[event.type];
    if (moved === undefined) return;
    try {
      // A bulk's total may be more than one amount may: read it under the books' ceiling.
      money.labels(moved.movement).inc(Math.abs(toMinor(data[moved.field], ctx.config.currency, moved.field, MAX_TOTAL_MINOR)));
    } catch {
      // An event without an amount moves nothing to count.
    }
  }
}

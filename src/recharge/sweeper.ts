// Expires overdue recharge payments and holds (releasing what they held), forgets old idempotency keys
// and failure windows that ran out: once at start, then on a timer. One sweep at a time; a failed
// sweep is logged and retried later. Every process sharing a PostgreSQL database sweeps, and that is
// safe: each expiry is a conditional UPDATE of a row still 'created' or 'held' (one process's expiry
// wins, the others change nothing), and the deletions delete what is there.
import type { FastifyBaseLogger } from 'fastify';

import type { Context } from '../context.js';

export function startSweeper(ctx: Context, log: FastifyBaseLogger): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const sweep = async (): Promise<void> => {
    try {
      const expired = await ctx.recharge.expireOverdue();
      const holdsExpired = await ctx.spending.expireOverdue();
      const forgotten = await ctx.pipeline.forgetOldRecords(ctx.clock.nowMs());
      await ctx.tokenFailures.prune();
      await ctx.voucherFailures.prune();
      if (expired + holdsExpired + forgotten > 0) log.info({ expired, holdsExpired, forgotten }, 'sweep: expired overdue payments and holds, forgot old idempotency keys');
    } catch (error) {
      log.error({ err: error }, 'sweep failed; will try again');
    }
  };
  running = sweep();
  const timer = setInterval(() => {
    running = running.then(sweep);
  }, ctx.config.sweepIntervalSeconds * 1000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

// Delivers events to webhook endpoints, at least once, off the request path:
//   fan out   — read the events outbox in commit order from the dispatcher's position and write one
//               delivery per event and matching endpoint, moving the position in the same
//               transaction (a crash loses nothing and fans out nothing twice);
//   claim     — take due deliveries under a lease (SKIP LOCKED on PostgreSQL), so that of several
//               processes one sends each;
//   send      — POST the Standard Webhooks message (signed by the standardwebhooks library) with a
//               10 s timeout, several at a time, never on a request's path;
//   record    — the attempt, and the delivery's next state: delivered, or due again after a backoff
//               with jitter; an endpoint failing for 5 days is switched off, with an event.
import type { Hasher } from '../auth/hashing.js';
import { SYSTEM_WEBHOOKS_ACTOR } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import type { Db } from '../db/index.js';
import { eventsAfter, eventsByIds, newestSettledPosition, type EventRow } from '../events/service.js';
import { matchesAny } from '../events/types.js';

import { signedMessage } from './signing.js';
import * as store from './store.js';

const SECOND_MS = 1000;
const HOUR_MS = 3600 * SECOND_MS;
/** After the first failure, then the second …; every 12 h after the last of these. */
export const RETRY_SCHEDULE_MS: readonly number[] = [5 * SECOND_MS, 5 * 60 * SECOND_MS, 30 * 60 * SECOND_MS, 2 * HOUR_MS, 5 * HOUR_MS, 10 * HOUR_MS];
export const RETRY_EVERY_MS = 12 * HOUR_MS;
/** An endpoint that has failed without a single success for this long is switched off. */
export const DISABLE_AFTER_MS = 5 * 24 * HOUR_MS;
/** A receiver that has not answered in this long has failed this attempt. */
export const SEND_TIMEOUT_MS = 10 * SECOND_MS;
/** A claimed delivery is another process's to take again after this: longer than any send. */
const LEASE_MS = 3 * SEND_TIMEOUT_MS;
/** Sends in flight at once, per process … */
const MAX_IN_FLIGHT = 16;
/** … and to any one endpoint: a receiver that hangs holds 4 slots for 10 s, never all of them. */
const MAX_IN_FLIGHT_PER_ENDPOINT = 4;
/** Events read per fan-out step. */
const FAN_OUT_PAGE = 500;
const CURSOR = 'webhooks';
/** How long a receiver's error text is kept. */
const MAX_ERROR_LENGTH = 300;

/** When a delivery that has failed `failures` times is due again: the schedule, ±10% jitter. */
export function nextAttemptAt(failures: number, nowMs: number, random = Math.random): number {
  const delayMs = RETRY_SCHEDULE_MS[failures - 1] ?? RETRY_EVERY_MS;
  return nowMs + Math.round(delayMs * (0.9 + 0.2 * random()));
}

export type DispatchLog = (fields: Record<string, unknown>, message: string) => void;

export class WebhookDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly inFlightTo = new Map<string, number>();
  private running: Promise<void> = Promise.resolve();
  private kicked = false;
  private stopped = false;
  /** Whether any endpoint was enabled at the last step: with none, commits do not wake the dispatcher. */
  private anyEnabled = true;
  private log: DispatchLog = () => undefined;
  /** Attempts since start, by outcome, for /metrics. */
  readonly outcomes = { delivered: 0, failed: 0 };

  constructor(
    private readonly db: Db,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    private readonly pipeline: CommandPipeline,
  ) {}

  /** One step at a time: a fan-out, then claims for the free send slots. */
  tick(): Promise<void> {
    this.running = this.running.then(() => this.step()).catch((error: unknown) => {
      this.log({ err: error }, 'webhook dispatch failed; will try again');
    });
    return this.running;
  }

  /** A tick soon (coalesced): after a commit with events, or when a send slot frees. */
  kick(): void {
    if (this.kicked || this.stopped) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      void this.tick();
    });
  }

  /** Until nothing is due and nothing is in flight: for tests and the command line. */
  async drain(): Promise<void> {
    for (;;) {
      await this.tick();
      if (this.inFlight.size === 0) return;
      await Promise.all([...this.inFlight]);
    }
  }

  /** Ticks every second and after every commit that emitted events, until stopped; logs each attempt. */
  start(log: DispatchLog): { stop(): Promise<void> } {
    this.log = log;
    const timer = setInterval(() => void this.tick(), SECOND_MS);
    timer.unref();
    this.pipeline.onCommitted((events) => {
      if (events.length > 0 && this.anyEnabled) this.kick();
    });
    this.kick();
    return {
      stop: async () => {
        // No tick after this: the database is about to close.
        this.stopped = true;
        clearInterval(timer);
        await this.running;
        await Promise.all([...this.inFlight]);
      },
    };
  }

  private async step(): Promise<void> {
    while ((await this.fanOut()) === FAN_OUT_PAGE);
    const free = MAX_IN_FLIGHT - this.inFlight.size;
    if (free <= 0 || !this.anyEnabled) return;
    const nowMs = this.clock.nowMs();
    const busy = [...this.inFlightTo].filter(([, n]) => n >= MAX_IN_FLIGHT_PER_ENDPOINT).map(([id]) => id);
    const claimed = await this.db.write((tx) => store.claimDue(tx, nowMs, nowMs + LEASE_MS, free, MAX_IN_FLIGHT_PER_ENDPOINT, busy));
    if (claimed.length === 0) return;
    const { webhooks, events } = await this.db.read(async (q) => ({
      webhooks: new Map((await store.listWebhooks(q)).map((w) => [w.id, w])),
      events: new Map((await eventsByIds(q, claimed.map((d) => d.event_id))).map((e) => [e.id, e])),
    }));
    for (const delivery of claimed) {
      const webhook = webhooks.get(delivery.webhook_id);
      const event = events.get(delivery.event_id);
      if (webhook === undefined || event === undefined) continue; // deleted meanwhile; its deliveries went with it
      this.inFlightTo.set(webhook.id, (this.inFlightTo.get(webhook.id) ?? 0) + 1);
      // Nothing a send meets (a receiver, the database gone for a moment) may end the process: the
      // failure is logged and the lease runs out, so the delivery is tried again.
      const sending: Promise<void> = this.attempt(delivery, webhook, event)
        .catch((error: unknown) => {
          this.log({ err: error, webhookId: webhook.id, deliveryId: delivery.id }, 'webhook attempt could not be recorded; it will be tried again');
        })
        .finally(() => {
          this.inFlight.delete(sending);
          const left = (this.inFlightTo.get(webhook.id) ?? 1) - 1;
          if (left <= 0) this.inFlightTo.delete(webhook.id);
          else this.inFlightTo.set(webhook.id, left);
          this.kick();
        });
      this.inFlight.add(sending);
    }
  }

  /** Reads one page of events after the position and writes their deliveries; how many events it read. */
  private fanOut(): Promise<number> {
    return this.db.write(async (tx) => {
      const position = await store.lockCursor(tx, CURSOR);
      if (position === undefined) throw new Error('the webhooks cursor row is missing');
      const webhooks = (await store.listWebhooks(tx)).filter((w) => w.enabled === 1);
      this.anyEnabled = webhooks.length > 0;
      if (!this.anyEnabled) {
        // Nobody listens: skip what has settled instead of reading it.
        const newest = await newestSettledPosition(tx);
        if (newest !== undefined && newest.id > position.event_id) await store.moveCursor(tx, CURSOR, newest.tx_order, newest.id);
        return 0;
      }
      const events = await eventsAfter(tx, { txOrder: position.tx_order, id: position.event_id }, FAN_OUT_PAGE);
      const last = events.at(-1);
      if (last === undefined) return 0;
      const deliveries = events.flatMap((event) =>
        webhooks
          // An endpoint hears of the events after the newest one when it was registered (ids, not clocks).
          .filter((w) => event.id > w.from_event_id && matchesAny(event.type, w.events.split(' ')))
          .map((w) => ({ webhookId: w.id, eventId: event.id, eventType: event.type })),
      );
      store.queueDeliveries(tx, deliveries, this.clock.nowMs());
      await store.moveCursor(tx, CURSOR, last.tx_order, last.id);
      return events.length;
    });
  }

  private async attempt(delivery: store.ClaimedDelivery, webhook: store.WebhookRow, event: EventRow): Promise<void> {
    const startedAt = performance.now();
    let result: store.AttemptResult;
    try {
      const message = signedMessage(this.hasher.unseal(webhook.secret_sealed), event, new Date());
      const response = await fetch(webhook.url, { method: 'POST', headers: message.headers, body: message.body, redirect: 'manual', signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
      await response.body?.cancel();
      const durationMs = Math.round(performance.now() - startedAt);
      result = { statusCode: response.status, durationMs, error: response.ok ? null : `answered ${response.status}` };
    } catch (error) {
      const durationMs = Math.round(performance.now() - startedAt);
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      const reason = timedOut ? `no answer within ${SEND_TIMEOUT_MS / 1000} s` : describe(error);
      result = { statusCode: null, durationMs, error: reason.slice(0, MAX_ERROR_LENGTH) };
    }
    await this.record(delivery, webhook, result);
  }

  private async record(delivery: store.ClaimedDelivery, webhook: store.WebhookRow, result: store.AttemptResult): Promise<void> {
    const delivered = result.error === null;
    this.outcomes[delivered ? 'delivered' : 'failed'] += 1;
    const atMs = this.clock.nowMs();
    const failingSinceMs = await this.db.write(async (tx) => {
      if (!(await store.recordAttempt(tx, delivery, result, delivered, delivered ? atMs : nextAttemptAt(delivery.attempts + 1, atMs), atMs))) return null;
      return (await store.markFailing(tx, webhook.id, !delivered, atMs))?.failing_since_ms ?? null;
    });
    this.log({ webhookId: webhook.id, deliveryId: delivery.id, eventId: delivery.event_id, statusCode: result.statusCode, durationMs: result.durationMs, error: result.error }, delivered ? 'webhook delivered' : 'webhook delivery failed');
    if (failingSinceMs !== null && atMs - failingSinceMs >= DISABLE_AFTER_MS) {
      const reason = `failed for 5 days without a success; last: ${result.error ?? ''}`;
      const { outcome } = await this.pipeline.execute({ name: 'webhook.disable', input: { id: webhook.id, reason }, actor: SYSTEM_WEBHOOKS_ACTOR, atMs });
      if (!outcome.ok) this.log({ webhookId: webhook.id, error: outcome.error.message }, 'webhook could not be switched off');
    }
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

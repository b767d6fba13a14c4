// Reading webhooks and their delivery log. Changes are commands.ts; sending is dispatcher.ts.
import type { Db } from '../db/index.js';
import { notFound } from '../errors.js';

import * as store from './store.js';
import { deliveryView, webhookView, type DeliveryView, type WebhookView } from './views.js';

export class WebhookService {
  constructor(private readonly db: Db) {}

  async list(): Promise<WebhookView[]> {
    return (await this.db.read((q) => store.listWebhooks(q))).map(webhookView);
  }

  async get(id: string): Promise<WebhookView> {
    const row = await this.db.read((q) => store.getWebhook(q, id));
    if (row === undefined) throw notFound(`webhook ${id} not found`);
    return webhookView(row);
  }

  /** Newest first, each with its attempts (status code, duration, error). */
  async deliveries(id: string, limit: number, start: number): Promise<{ deliveries: DeliveryView[]; count: number }> {
    return this.db.read(async (q) => {
      if ((await store.getWebhook(q, id)) === undefined) throw notFound(`webhook ${id} not found`);
      const { rows, count } = await store.listDeliveries(q, id, limit, start);
      const attempts = await store.attemptsOf(q, rows.map((r) => r.id));
      return { deliveries: rows.map((row) => deliveryView(row, attempts.filter((a) => a.delivery_id === row.id))), count };
    });
  }

  /** Undelivered deliveries of enabled endpoints, and the age of the oldest, for /metrics. */
  async backlog(nowMs: number): Promise<{ pending: number; oldestAgeSeconds: number }> {
    const row = await this.db.read((q) => store.backlog(q));
    const oldest = row?.oldest_ms ?? null;
    return { pending: row?.n ?? 0, oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (nowMs - oldest) / 1000) };
  }
}

// Webhook endpoints as commands (right manageSettings): register, change, delete, rotate the
// signing secret, retry a delivery; and Purse's own switching off of an endpoint that kept failing.
import crypto from 'node:crypto';

import type { Hasher } from '../auth/hashing.js';
import { actorHasRight, actorLabel, isPurseItself } from '../auth/principal.js';
import type { Command, CommandDefinition, Effects } from '../commands/types.js';
import type { ReadTx } from '../db/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import { newestEventId } from '../events/service.js';
import { isEventPattern } from '../events/types.js';

import * as store from './store.js';
import { webhookView } from './views.js';

declare module '../commands/types.js' {
  interface CommandMap {
    'webhook.create': { input: { url: string; events: string[]; description?: string }; output: { webhook: store.WebhookRow; secret: string } };
    'webhook.update': { input: { id: string; url?: string; events?: string[]; description?: string; enabled?: boolean }; output: store.WebhookRow };
    'webhook.delete': { input: { id: string }; output: { id: string } };
    'webhook.rotateSecret': { input: { id: string }; output: { webhook: store.WebhookRow; secret: string } };
    'webhook.retryDelivery': { input: { id: string; deliveryId: number }; output: store.DeliveryRow };
    'webhook.disable': { input: { id: string; reason: string }; output: store.WebhookRow | null };
  }
}

/** At most this many endpoints: every event is matched against each of them. */
export const MAX_WEBHOOKS = 100;
export const MAX_URL_LENGTH = 2048;

interface Secret {
  secret: string;
  sealed: string;
}

export function webhookCommands(hasher: Hasher): {
  create: CommandDefinition<'webhook.create', Secret & { url: string; events: string }>;
  update: CommandDefinition<'webhook.update', { url?: string; events?: string }>;
  remove: CommandDefinition<'webhook.delete'>;
  rotateSecret: CommandDefinition<'webhook.rotateSecret', Secret>;
  retry: CommandDefinition<'webhook.retryDelivery'>;
  disable: CommandDefinition<'webhook.disable'>;
} {
  const newSecret = async (): Promise<Secret> => {
    // Standard Webhooks secrets: `whsec_` + base64 of 24 random bytes.
    const secret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
    return { secret, sealed: hasher.seal(secret) };
  };
  return {
    create: {
      name: 'webhook.create',
      // Its answer holds the secret, which is stored only sealed: no idempotency record keeps it.
      idempotent: false,
      prepare: async ({ input }) => ({ ...(await newSecret()), url: checkedUrl(input.url), events: checkedEvents(input.events) }),
      authorize: manageSettings,
      run: async (tx, { input, actor, atMs }, prepared, effects) => {
        // The dispatcher's position row doubles as the lock that makes the count below exact on PostgreSQL.
        await store.lockCursor(tx, 'webhooks');
        const count = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhooks');
        if ((count?.n ?? 0) >= MAX_WEBHOOKS) throw invalid(`at most ${MAX_WEBHOOKS} webhooks`, [{ field: 'url', problem: `${MAX_WEBHOOKS} webhooks exist already` }]);
        const row: store.WebhookRow = {
          id: `wh_${crypto.randomBytes(12).toString('base64url')}`,
          url: prepared.url,
          events: prepared.events,
          description: input.description ?? '',
          enabled: 1,
          secret_sealed: prepared.sealed,
          failing_since_ms: null,
          disabled_reason: null,
          from_event_id: await newestEventId(tx),
          created_by: actorLabel(actor),
          created_at_ms: atMs,
          updated_at_ms: atMs,
        };
        await store.insertWebhook(tx, row);
        changed(effects, 'webhook.created', row);
        return { webhook: row, secret: prepared.secret };
      },
    },
    update: {
      name: 'webhook.update',
      prepare: async ({ input }) => ({
        ...(input.url === undefined ? {} : { url: checkedUrl(input.url) }),
        ...(input.events === undefined ? {} : { events: checkedEvents(input.events) }),
      }),
      authorize: manageSettings,
      run: async (tx, { input, atMs }, prepared, effects) => {
        const row = await store.updateWebhook(tx, input.id, { ...prepared, description: input.description, enabled: input.enabled }, atMs);
        if (row === undefined) throw notFound(`webhook ${input.id} not found`);
        changed(effects, 'webhook.updated', row);
        return row;
      },
    },
    remove: {
      name: 'webhook.delete',
      authorize: manageSettings,
      run: async (tx, { input }, _prepared, effects) => {
        const row = await store.getWebhook(tx, input.id);
        if (row === undefined || !(await store.deleteWebhook(tx, input.id))) throw notFound(`webhook ${input.id} not found`);
        changed(effects, 'webhook.deleted', row);
        return { id: input.id };
      },
    },
    rotateSecret: {
      name: 'webhook.rotateSecret',
      idempotent: false,
      prepare: newSecret,
      authorize: manageSettings,
      run: async (tx, { input, atMs }, { secret, sealed }, effects) => {
        const row = await store.setSecret(tx, input.id, sealed, atMs);
        if (row === undefined) throw notFound(`webhook ${input.id} not found`);
        effects.about(`webhook:${row.id}`, { rotated: true });
        return { webhook: row, secret };
      },
    },
    retry: {
      name: 'webhook.retryDelivery',
      authorize: manageSettings,
      run: async (tx, { input, atMs }, _prepared, effects) => {
        const webhook = await store.getWebhook(tx, input.id);
        if (webhook === undefined) throw notFound(`webhook ${input.id} not found`);
        if (webhook.enabled !== 1) throw conflict(`webhook ${input.id} is switched off; PATCH it with enabled: true first`);
        const row = await store.retryNow(tx, input.id, input.deliveryId, atMs);
        if (row === undefined) {
          if ((await store.getDelivery(tx, input.id, input.deliveryId)) === undefined) throw notFound(`delivery ${input.deliveryId} of webhook ${input.id} not found`);
          throw conflict(`delivery ${input.deliveryId} is being sent right now; see its attempts in a moment`);
        }
        effects.about(`webhook:${input.id}`, { deliveryId: row.id });
        return row;
      },
    },
    disable: {
      name: 'webhook.disable',
      authorize: async (_q, { actor }) => {
        if (!isPurseItself(actor)) throw forbidden('PATCH the webhook with enabled: false instead');
      },
      run: async (tx, { input, atMs }, _prepared, effects) => {
        const row = await store.disableFailing(tx, input.id, input.reason, atMs);
        if (row === undefined) return null;
        changed(effects, 'webhook.disabled', row);
        return row;
      },
    },
  };
}

async function manageSettings(_q: ReadTx, { actor }: Command<'webhook.create' | 'webhook.update' | 'webhook.delete' | 'webhook.rotateSecret' | 'webhook.retryDelivery'>): Promise<void> {
  if (!actorHasRight(actor, 'manageSettings')) throw forbidden('webhooks need the right "manageSettings"');
}

/**
 * Events and the audit trail show an endpoint's URL as its origin only: receivers often carry a
 * token in the path or query (`/services/T0/B0/XYZ`), which only GET /v3/webhooks shows.
 */
function changed(effects: Effects, type: 'webhook.created' | 'webhook.updated' | 'webhook.deleted' | 'webhook.disabled', row: store.WebhookRow): void {
  const url = `${new URL(row.url).origin}/…`;
  effects.about(`webhook:${row.id}`, { url, events: row.events });
  effects.emit(type, `webhook:${row.id}`, { ...webhookView(row), url });
}

/** An absolute http(s) URL without credentials in it. */
function checkedUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('url must be an absolute http or https URL', [{ field: 'url', problem: 'is not a URL' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('url must be an absolute http or https URL', [{ field: 'url', problem: `${url.protocol} is not http or https` }]);
  if (url.username !== '' || url.password !== '') throw invalid('url must not carry a user name or password', [{ field: 'url', problem: 'has credentials in it' }]);
  if (text.length > MAX_URL_LENGTH) throw invalid(`url must be at most ${MAX_URL_LENGTH} characters`, [{ field: 'url', problem: 'is too long' }]);
  return url.toString();
}

/** Known types, `prefix.*` or `*`; each once. */
function checkedEvents(events: readonly string[]): string {
  if (events.length === 0) throw invalid('events must name at least one event type, prefix.* or *', [{ field: 'events', problem: 'is empty' }]);
  const unknown = events.filter((e) => !isEventPattern(e));
  if (unknown.length > 0) throw invalid(`unknown event type${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ')}`, unknown.map((e) => ({ field: 'events', problem: `"${e}" is no event type, prefix.* or *` })));
  return [...new Set(events)].join(' ');
}

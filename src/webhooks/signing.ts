// One webhook message as the Standard Webhooks specification has it: the JSON body
// `{id, type, timestamp, data}`, and `webhook-id`, `webhook-timestamp` and `webhook-signature`
// (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`), signed by the standardwebhooks library.
import { Webhook } from 'standardwebhooks';

import type { EventRow } from '../events/service.js';
import { VERSION } from '../version.js';

export interface SignedMessage {
  headers: Record<string, string>;
  body: string;
}

/**
 * The same event always goes out with the same `webhook-id` (its event id), so that a receiver can
 * drop a repeat; the timestamp is the moment of this attempt, in real time, which receivers check
 * against their own clocks.
 */
export function signedMessage(secret: string, event: EventRow, sentAt: Date): SignedMessage {
  const id = `evt_${event.id}`;
  const body = JSON.stringify({ id, type: event.type, timestamp: new Date(event.occurred_at_ms).toISOString(), data: JSON.parse(event.data) as unknown });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': `Purse-Webhooks/${VERSION}`,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, sentAt, body),
    },
  };
}

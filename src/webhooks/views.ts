// The public shapes of webhooks and their deliveries. The secret never appears here: it is shown
// once, by the commands that make it.
import type { AttemptRow, DeliveryRow, WebhookRow } from './store.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  failingSince: string | null;
  disabledReason: string | null;
  created: string;
  updated: string;
}

export function webhookView(row: WebhookRow): WebhookView {
  return {
    id: row.id,
    url: row.url,
    events: row.events.split(' '),
    description: row.description,
    enabled: row.enabled === 1,
    failingSince: iso(row.failing_since_ms),
    disabledReason: row.disabled_reason,
    created: new Date(row.created_at_ms).toISOString(),
    updated: new Date(row.updated_at_ms).toISOString(),
  };
}

export interface AttemptView {
  at: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface DeliveryView {
  id: number;
  eventId: string;
  eventType: string;
  state: string;
  attempts: number;
  nextAttempt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  created: string;
  delivered: string | null;
  attemptLog: AttemptView[];
}

export function deliveryView(row: DeliveryRow, attempts: readonly AttemptRow[] = []): DeliveryView {
  return {
    id: row.id,
    eventId: `evt_${row.event_id}`,
    eventType: row.event_type,
    state: row.state,
    attempts: row.attempts,
    nextAttempt: row.state === 'pending' ? iso(row.next_attempt_at_ms) : null,
    lastStatus: row.last_status,
    lastError: row.last_error,
    created: new Date(row.created_at_ms).toISOString(),
    delivered: iso(row.delivered_at_ms),
    attemptLog: attempts.map((a) => ({ at: new Date(a.attempted_at_ms).toISOString(), statusCode: a.status_code, durationMs: a.duration_ms, error: a.error })),
  };
}

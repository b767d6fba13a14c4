// Every event type Purse emits: what a webhook may subscribe to, and what the pipeline accepts
// (an unknown type is a programming mistake, caught by the first test that emits it).

export const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'client.created',
  'client.revoked',
  'session.revoked',
  'provider.enabled',
  'provider.disabled',
  'payment.created',
  'payment.updated',
  'payment.committed',
  'payment.rolledBack',
  'payment.expired',
  'recharge.manual',
  'recharge.bulk',
  'voucherBatch.created',
  'voucherBatch.expired',
  'voucher.redeemed',
  'gateway.payment.authorized',
  'gateway.payment.declined',
  'gateway.payment.updated',
  'gateway.payment.settled',
  'gateway.payment.voided',
  'refund.created',
  'charge.posted',
  'charge.refunded',
  'hold.placed',
  'hold.captured',
  'hold.released',
  'hold.expired',
  'transfer.posted',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.disabled',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const KNOWN: ReadonlySet<string> = new Set(EVENT_TYPES);

export function isEventType(type: string): type is EventType {
  return KNOWN.has(type);
}

/**
 * Whether a subscription pattern names something: an event type, `*`, or a prefix ending in `.*`
 * that some type starts with (`charge.*`, `gateway.*`, `gateway.payment.*`).
 */
export function isEventPattern(pattern: string): boolean {
  if (pattern === '*' || KNOWN.has(pattern)) return true;
  if (!pattern.endsWith('.*')) return false;
  const prefix = pattern.slice(0, -1);
  return EVENT_TYPES.some((type) => type.startsWith(prefix));
}

/** Whether an event type matches one of the patterns. */
export function matchesAny(type: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

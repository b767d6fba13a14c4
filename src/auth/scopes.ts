// Scopes narrow what a token may do; rights say what the person behind it may do. A request needs
// both: the route's scope in the token and the route's right on the user.

export const SCOPES = {
  credit: 'read and change credit: accounts, balances, recharge payments, charges, holds and transfers',
  users: 'read and manage users',
  'offline.access': 'receive a refresh token',
  payments: 'card and MB WAY payments, refunds and reconciliation (/api)',
  settings: 'webhooks, the events feed and the audit trail',
} as const;

export type Scope = keyof typeof SCOPES;

export const RIGHTS = ['admin', 'manageUsers', 'managePayments', 'rechargeCredit', 'chargeCredit', 'manageVouchers', 'manageSettings'] as const;

export type Right = (typeof RIGHTS)[number];

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

export function isRight(value: string): value is Right {
  return (RIGHTS as readonly string[]).includes(value);
}

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

/** Space-separated text ↔ set, as OAuth2 writes scopes; unknown names are returned apart. */
export function parseScopes(text: string): { known: Scope[]; unknown: string[] } {
  const names = [...new Set(text.split(' ').filter((s) => s !== ''))];
  return { known: names.filter(isScope), unknown: names.filter((s) => !isScope(s)) };
}

export function formatScopes(scopes: Iterable<Scope>): string {
  return [...scopes].join(' ');
}

/** `admin` implies every right. */
export function hasRight(rights: ReadonlySet<Right>, right: Right): boolean {
  return rights.has('admin') || rights.has(right);
}

/**
 * Rights as stored: each once, sorted. One text per set, so that a statement can tell whether the
 * rights an actor was authorized with are still those stored (commands/pipeline.ts) by comparing text.
 */
export function formatRights(rights: Iterable<Right>): string {
  return [...new Set(rights)].sort().join(' ');
}

export function parseRights(text: string): Set<Right> {
  return new Set(text.split(' ').filter(isRight));
}

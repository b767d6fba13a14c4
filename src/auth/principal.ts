import { hasRight, type Right, type Scope } from './scopes.js';

/** Who is asking over HTTP: the user behind the token, through which client, with which scopes. */
export interface Principal {
  /** A person who logged in (login_info), or an API client acting as its own user (client_credentials). */
  kind: 'person' | 'client';
  userId: number;
  clientId: string;
  scopes: ReadonlySet<Scope>;
  /** The user's rights as stored now, not as they were when the token was issued. */
  rights: ReadonlySet<Right>;
  /** The same, as the text stored: a command checks, in its last statement, that it is still that text. */
  storedRights: string;
  familyId: string | null;
}

/**
 * Who does a thing, as plain data — the same type for HTTP, the command line and Purse's own
 * timers, in every command and audit entry. A person or an API client acts with the rights of its
 * user (re-read inside each command's transaction); the operator at the command line and the
 * sweeper may do everything.
 */
export type Actor =
  | { kind: 'person' | 'client'; userId: number; clientId: string; familyId: string | null; scopes: readonly Scope[]; rights: readonly Right[]; storedRights?: string }
  | { kind: 'cli' }
  | { kind: 'system'; name: string };

export const CLI_ACTOR: Actor = { kind: 'cli' };
export const SWEEPER_ACTOR: Actor = { kind: 'system', name: 'sweeper' };
export const SYSTEM_WEBHOOKS_ACTOR: Actor = { kind: 'system', name: 'webhooks' };

export function actorOf(principal: Principal): Actor {
  return { kind: principal.kind, userId: principal.userId, clientId: principal.clientId, familyId: principal.familyId, scopes: [...principal.scopes], rights: [...principal.rights], storedRights: principal.storedRights };
}

/** The operator at the command line, or one of Purse's own timers: not someone over HTTP. */
export function isPurseItself(actor: Actor): actor is Extract<Actor, { kind: 'cli' | 'system' }> {
  return actor.kind === 'cli' || actor.kind === 'system';
}

/** The command line and Purse itself may do everything; a person or client what its user's rights allow. */
export function actorHasRight(actor: Actor, right: Right): boolean {
  return isPurseItself(actor) || hasRight(new Set(actor.rights), right);
}

/** The user an actor acts as, or null for the command line and Purse itself. */
export function actorUserId(actor: Actor): number | null {
  return actor.kind === 'person' || actor.kind === 'client' ? actor.userId : null;
}

/** How an actor is written into ledger transactions and logs. */
export function actorLabel(actor: Actor): string {
  if (actor.kind === 'cli') return 'cli';
  if (actor.kind === 'system') return `system:${actor.name}`;
  return `user:${actor.userId} client:${actor.clientId}`;
}

import { hasRight, type Right, type Scope } from './scopes.js';

/** Who is asking: the user behind the token, through which client, with which scopes. */
export interface Principal {
  userId: number;
  clientId: string;
  scopes: ReadonlySet<Scope>;
  /** The user's rights as stored now, not as they were when the token was issued. */
  rights: ReadonlySet<Right>;
  familyId: string | null;
}

/** Who did a thing, for the audit trail: a principal, or an operator at the command line. */
export type Actor = { kind: 'principal'; principal: Principal } | { kind: 'cli' };

export const CLI_ACTOR: Actor = { kind: 'cli' };

export function actorOf(principal: Principal): Actor {
  return { kind: 'principal', principal };
}

/** The command line is the operator of the machine: it may do everything. */
export function actorHasRight(actor: Actor, right: Right): boolean {
  return actor.kind === 'cli' || hasRight(actor.principal.rights, right);
}

/** How an actor is written into ledger transactions and logs. */
export function actorLabel(actor: Actor): string {
  return actor.kind === 'cli' ? 'cli' : `user:${actor.principal.userId} client:${actor.principal.clientId}`;
}

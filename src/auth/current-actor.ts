// The actor as the database says it is now, checked inside every command's transaction: a token
// checked at the door may belong to a person deactivated, a client revoked or a right withdrawn
// since. The check rides on the command's last round trip (Tx.flush) and is optimistic: a command
// authorized with rights that turn out to have changed is undone and run again with the new ones.
import type { Row, Statement } from '../db/index.js';
import { unauthorized } from '../errors.js';

import type { Actor } from './principal.js';
import { parseRights } from './scopes.js';
import { principalStateQuery, type PrincipalRow } from './store.js';

/** The read that tells whether the actor still holds; none for the command line and Purse itself. */
export function actorStateQuery(actor: Actor): Statement | undefined {
  if (actor.kind === 'cli' || actor.kind === 'system') return undefined;
  return principalStateQuery(actor.userId, actor.clientId, actor.familyId);
}

/**
 * The actor as `row` shows it now: the same actor when nothing changed, the actor with its current
 * rights when they changed, or a 401 when it may no longer act at all.
 */
export function actorNow(actor: Actor, row: Row | undefined): Actor {
  if (actor.kind === 'cli' || actor.kind === 'system') return actor;
  const state = row as Partial<PrincipalRow> | undefined;
  if (state?.active !== 1 || state.client_revoked_at_ms !== null || state.family_revoked_at_ms !== null) throw unauthorized('token has been revoked');
  const rights = [...parseRights(state.rights ?? '')];
  const same = rights.length === actor.rights.length && rights.every((r) => actor.rights.includes(r));
  return same ? actor : { ...actor, rights };
}

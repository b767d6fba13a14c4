// The actor as the database says it is now, checked inside every command's transaction: a token
// checked at the door may belong to a person deactivated, a client revoked or a right withdrawn
// since. The check rides on the command's audit entry — which records the rights the actor held —
// and is optimistic: a command authorized with rights that turn out to have changed is undone and
// run again with the new ones.
import type { SqlValue } from '../db/index.js';
import { unauthorized } from '../errors.js';

import { isPurseItself, type Actor } from './principal.js';
import { parseRights } from './scopes.js';

/**
 * An SQL expression for the rights the actor holds now as stored (`users.rights`), or NULL when it
 * may not act at all: person inactive, client revoked, refresh family revoked. The command line and
 * Purse itself hold every right and have no row: NULL, and nothing to check.
 */
export function actorRightsExpression(actor: Actor): { sql: string; params: SqlValue[] } {
  if (isPurseItself(actor)) return { sql: 'NULL', params: [] };
  return {
    sql: `(SELECT CASE WHEN u.active = 1 AND c.revoked_at_ms IS NULL
                        AND NOT EXISTS (SELECT 1 FROM token_families f WHERE f.id = ? AND f.revoked_at_ms IS NOT NULL)
                  THEN u.rights END
           FROM users u, api_clients c WHERE u.id = ? AND c.id = ?)`,
    params: [actor.familyId, actor.userId, actor.clientId],
  };
}

/**
 * The actor as stored now, from what `actorRightsExpression` gave: the same actor when nothing
 * changed, the actor with its current rights when they changed, or a 401 when it may no longer act.
 */
export function actorNow(actor: Actor, rightsNow: SqlValue | undefined): Actor {
  if (isPurseItself(actor)) return actor;
  if (typeof rightsNow !== 'string') throw unauthorized('token has been revoked');
  const rights = [...parseRights(rightsNow)];
  const same = rights.length === actor.rights.length && rights.every((r) => actor.rights.includes(r));
  return same ? actor : { ...actor, rights };
}

// The actor as the database says it is now, read inside a command's transaction: a token checked
// at the door may belong to a person deactivated, a client revoked or a right withdrawn since.
import type { ReadTx } from '../db/index.js';
import { unauthorized } from '../errors.js';

import type { Actor } from './principal.js';
import { parseRights } from './scopes.js';
import { getPrincipalState } from './store.js';

export async function currentActor(tx: ReadTx, actor: Actor): Promise<Actor> {
  if (actor.kind === 'cli' || actor.kind === 'system') return actor;
  const state = await getPrincipalState(tx, actor.userId, actor.clientId, actor.familyId);
  if (state === undefined || state.active !== 1 || state.client_revoked_at_ms !== null || state.family_revoked_at_ms !== null) {
    throw unauthorized('token has been revoked');
  }
  return { ...actor, rights: [...parseRights(state.rights)] };
}

// What the guard reads about a token's user and client on every request (active, rights,
// revoked), remembered for a moment. This process forgets it all at once whenever it changes a
// user, revokes a client or kills a refresh family, so here changes apply at the next request;
// other processes sharing a PostgreSQL database forget it when the change's notification reaches
// them (milliseconds: CommandPipeline.invalidateOn), and within a second if one is ever missed.
import { TtlCache } from '../ttl-cache.js';

import type { PrincipalRow } from './store.js';

export class PrincipalCache extends TtlCache<string, PrincipalRow> {}

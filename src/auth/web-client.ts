// Purse's own browser app as an OAuth2 client. It is a public client (RFC 6749 §2.1): it has no
// secret, since a page cannot keep one, and so may use only the grants a stolen client id gains
// nothing from — a code bound to a PKCE verifier, and refresh tokens it already holds. It is made
// at every start (bootstrap.ts), with every scope: a person's rights still limit what they do.
import type { Tx } from '../db/index.js';
import type { Effects } from '../commands/types.js';

import { ALL_SCOPES, formatScopes } from './scopes.js';

export const WEB_CLIENT_ID = 'purse-web';

/**
 * Registers the web app's client unless it exists. api_clients needs a user; the client acts as
 * the first administrator, which matters nowhere (it may not use client_credentials) but the list.
 * No secret hash: argon2 refuses every secret against an empty one.
 */
export async function ensureWebClient(tx: Tx, atMs: number, effects: Effects): Promise<boolean> {
  const result = await tx.run(
    `INSERT INTO api_clients (id, name, secret_hash, scopes, user_id, created_at_ms)
     SELECT ?, 'Purse web app', '', ?, min(id), ? FROM users WHERE (' ' || rights || ' ') LIKE '% admin %' HAVING min(id) IS NOT NULL
     ON CONFLICT (id) DO NOTHING`,
    [WEB_CLIENT_ID, formatScopes(ALL_SCOPES), atMs],
  );
  if (result.changes === 0) return false;
  effects.audit('client.create', `client:${WEB_CLIENT_ID}`, { scopes: formatScopes(ALL_SCOPES) });
  return true;
}

// First start: an administrator with every right and an API client allowed every scope, acting as
// that administrator. Their secrets are printed once, unless the operator supplied them.
//
// It is one command, and its transaction first claims the `bootstrap` row of `singletons`: of
// several processes starting on one empty PostgreSQL database at the same moment, one claims it and
// the others wait on that row, then find it claimed and change nothing — one administrator and one
// client whatever the timing. Users created with `purse user create` before the first `serve` are
// kept; the administrator is created unless its username is taken (then it is granted `admin`).
import crypto from 'node:crypto';

import { newClientSecret, type Hasher } from './auth/hashing.js';
import { clientExists, registerClient } from './auth/commands.js';
import { isPurseItself, type Actor } from './auth/principal.js';
import { ALL_SCOPES, formatRights } from './auth/scopes.js';
import { ensureWebClient } from './auth/web-client.js';
import type { CommandDefinition, Effects } from './commands/types.js';
import type { Context } from './context.js';
import type { Tx } from './db/index.js';
import { forbidden } from './errors.js';
import { createPerson, personByUsername, updatePerson } from './users/commands.js';
import { identityKey } from './users/views.js';

export interface BootstrapInput {
  adminUsername: string;
  /** In the clear: hashed before the transaction, never stored. */
  adminPassword: string;
  clientId: string;
  clientSecret: string;
}

export interface BootstrapResult {
  adminCreated: boolean;
  clientCreated: boolean;
}

declare module './commands/types.js' {
  interface CommandMap {
    'system.bootstrap': { input: BootstrapInput; output: BootstrapResult };
  }
}

interface Prepared {
  passwordHash: string;
  secretHash: string;
}

/** The actor of start-up: Purse itself. */
const STARTUP_ACTOR: Actor = { kind: 'system', name: 'startup' };

export function bootstrapCommand(hasher: Hasher, currency: string): CommandDefinition<'system.bootstrap', Prepared> {
  return {
    name: 'system.bootstrap',
    changesActors: true,
    idempotent: false,
    prepare: async ({ input }) => ({ passwordHash: await hasher.slowHash(input.adminPassword), secretHash: await hasher.slowHash(input.clientSecret) }),
    authorize: async (_q, { actor }) => {
      if (!isPurseItself(actor)) throw forbidden('only Purse itself starts Purse');
    },
    run: async (tx, { input, atMs }, prepared, effects) => {
      const claimed = await tx.run("INSERT INTO singletons (name, created_at_ms) VALUES ('bootstrap', ?) ON CONFLICT (name) DO NOTHING", [atMs]);
      // After the administrator, whom it acts as; at every start, so that an older database gets it too.
      const result = claimed.changes === 0 ? { adminCreated: false, clientCreated: false } : await firstStart(tx, input, prepared, currency, atMs, effects);
      await ensureWebClient(tx, atMs, effects);
      return result;
    },
  };
}

async function firstStart(tx: Tx, input: BootstrapInput, prepared: Prepared, currency: string, atMs: number, effects: Effects): Promise<BootstrapResult> {
  const { adminId, adminCreated } = await ensureAdmin(tx, input.adminUsername, prepared.passwordHash, currency, atMs, effects);
  // A configured client id that some earlier `purse client create` took is left as it is.
  const clientCreated = !(await clientExists(tx, input.clientId));
  if (clientCreated) await registerClient(tx, { id: input.clientId, name: 'bootstrap', scopes: [...ALL_SCOPES], userId: adminId }, prepared.secretHash, atMs, effects);
  effects.about('bootstrap', { adminCreated, clientCreated });
  return { adminCreated, clientCreated };
}

async function ensureAdmin(tx: Tx, username: string, passwordHash: string, currency: string, atMs: number, effects: Effects): Promise<{ adminId: number; adminCreated: boolean }> {
  const existing = await personByUsername(tx, username);
  if (existing === undefined) {
    const columns = { username, username_key: identityKey(username), fullname: 'Administrator', rights: 'admin', password_hash: passwordHash };
    const created = await createPerson(tx, { columns }, currency, atMs, effects);
    return { adminId: created.id, adminCreated: true };
  }
  if (!existing.rights.includes('admin')) {
    await updatePerson(tx, existing.id, { columns: { rights: formatRights([...existing.rights, 'admin']) } }, ['rights'], atMs, effects);
  }
  return { adminId: existing.id, adminCreated: false };
}

export interface BootstrapReport {
  admin?: { username: string; password: string | null };
  client?: { id: string; secret: string | null };
}

export async function bootstrap(ctx: Context): Promise<BootstrapReport> {
  const { config } = ctx;
  const password = config.adminPassword ?? crypto.randomBytes(18).toString('base64url');
  const secret = config.bootstrapClientSecret ?? newClientSecret();
  const clientId = config.bootstrapClientId ?? crypto.randomUUID();
  const result = await ctx.pipeline.perform('system.bootstrap', { adminUsername: config.adminUsername, adminPassword: password, clientId, clientSecret: secret }, STARTUP_ACTOR);
  return {
    ...(result.adminCreated ? { admin: { username: config.adminUsername, password: config.adminPassword === undefined ? password : null } } : {}),
    ...(result.clientCreated ? { client: { id: clientId, secret: config.bootstrapClientSecret === undefined ? secret : null } } : {}),
  };
}

/** The lines `purse serve` prints on first start. */
export function describeBootstrap(report: BootstrapReport): string[] {
  const lines: string[] = [];
  if (report.admin === undefined && report.client === undefined) return lines;
  lines.push('First start: created the administrator and an API client. Secrets are shown only this once; store them now.');
  if (report.admin !== undefined) {
    lines.push(`  administrator  ${report.admin.username}`, `  password       ${report.admin.password ?? '(from PURSE_ADMIN_PASSWORD)'}`);
  }
  if (report.client !== undefined) {
    lines.push(`  client_id      ${report.client.id}`, `  client_secret  ${report.client.secret ?? '(from PURSE_BOOTSTRAP_CLIENT_SECRET)'}`);
  }
  return lines;
}

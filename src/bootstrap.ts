// First start: an administrator with every right and an API client allowed every scope, acting as
// that administrator. Their secrets are printed once, unless the operator supplied them. Later
// starts (there is a client) change nothing; a first start interrupted before the client was
// created completes on the next.
import crypto from 'node:crypto';

import { CLI_ACTOR } from './auth/principal.js';
import { ALL_SCOPES, formatScopes } from './auth/scopes.js';
import type { Context } from './context.js';
import { AppError } from './errors.js';

export interface BootstrapReport {
  admin?: { username: string; password: string | null };
  client?: { id: string; secret: string | null };
}

export async function bootstrap(ctx: Context): Promise<BootstrapReport> {
  const report: BootstrapReport = {};
  const { config, users, auth } = ctx;
  // First start = no API client yet. Users may already exist (created with `purse user create`
  // before the first `serve`); the administrator is created unless its username is taken.
  const firstStart = (await auth.listClients()).length === 0;
  const adminExists = await users.resolve(config.adminUsername).then(
    () => true,
    () => false,
  );
  if (firstStart && !adminExists) {
    const password = config.adminPassword ?? crypto.randomBytes(18).toString('base64url');
    try {
      await users.create({ username: config.adminUsername, fullname: 'Administrator', rights: ['admin'], password }, CLI_ACTOR);
      report.admin = { username: config.adminUsername, password: config.adminPassword === undefined ? password : null };
    } catch (error) {
      // Another Purse process on the same database bootstrapped first.
      if (!(error instanceof AppError && error.kind === 'conflict')) throw error;
    }
  }
  if (firstStart) {
    const existing = await users.resolve(config.adminUsername);
    const admin = existing.rights.includes('admin') ? existing : await users.grant(existing.id, 'admin', CLI_ACTOR);
    const created = await auth.createClient(
      { name: 'bootstrap', scopes: formatScopes(ALL_SCOPES), userId: admin.id, id: config.bootstrapClientId, secret: config.bootstrapClientSecret },
      CLI_ACTOR,
    );
    report.client = { id: created.id, secret: config.bootstrapClientSecret === undefined ? created.secret : null };
  }
  return report;
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

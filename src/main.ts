#!/usr/bin/env node
// The `purse` command line. Every setting of config.ts is also a flag here; errors are one line
// on stderr and a non-zero exit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Command, Option } from 'commander';

import { hashKeyIsKnown } from './auth/keys.js';
import { CLI_ACTOR } from './auth/principal.js';
import { isRight, RIGHTS } from './auth/scopes.js';
import { actorFilter } from './audit/service.js';
import { CONFIG_ITEMS, loadConfig, rawFromEnv, type ConfigKey, type RawConfig } from './config.js';
import { createContext, type Context, type ContextOptions } from './context.js';
import { restoreDatabase } from './db/restore.js';
import { AppError, reasonOf } from './errors.js';
import { PrivateFile } from './files.js';
import { moneyText } from './money.js';
import { serve } from './serve.js';
import { buildServer, VERSION } from './server.js';
import { HOLD_STATES, holdView } from './spending/views.js';
import { parseDateTime } from './time.js';
import type { BatchStats } from './vouchers/service.js';
import { batchView, codesCsv } from './vouchers/views.js';
import { verifyBooks } from './ledger/verify.js';

const program = new Command('purse')
  .description('Purse: prepaid credit and the payments that fund it')
  .version(VERSION)
  .configureHelp({ showGlobalOptions: true })
  .showHelpAfterError('(run with --help for usage)');

// Commander camel-cases each flag into the attribute name, which is the config key (data-dir → dataDir).
for (const item of Object.values(CONFIG_ITEMS)) {
  const fallback = 'default' in item ? ` (default ${item.default})` : '';
  program.addOption(new Option(`--${item.flag} <value>`, `${item.description}${fallback}; env ${item.env}`));
}

function configFrom(command: Command): ReturnType<typeof loadConfig> {
  const options = command.optsWithGlobals<Record<string, unknown>>();
  const flags: RawConfig = {};
  for (const key of Object.keys(CONFIG_ITEMS) as ConfigKey[]) {
    const value = options[key];
    if (typeof value === 'string') flags[key] = value;
  }
  return loadConfig(rawFromEnv(process.env, flags));
}

/** A `--limit` option: 1–9999. */
function limitOf(text: string): number {
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1) throw new AppError('invalid', '--limit must be a whole number from 1 to 9999');
  return Number(text);
}

/** An id argument: a whole number from 1; `what` names it in the refusal ("the hold id"). */
function idOf(text: string, what: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw new AppError('invalid', `${what} must be a whole number`);
  return Number(text);
}

/** Runs a command against a context and always closes the database afterwards. */
async function withContext(command: Command, fn: (ctx: Context) => Promise<void>, options: ContextOptions = {}): Promise<void> {
  // A one-shot command has no HTTP to keep the writer off: the writer thread's start would be its cost.
  const ctx = await createContext({ ...configFrom(command), logLevel: 'silent', sqliteWriter: 'loop' }, undefined, options);
  try {
    await fn(ctx);
  } finally {
    await ctx.close();
  }
}

program
  .command('serve')
  .description('serve the HTTP API (what `npm start` runs); creates the schema and, on first start, the administrator')
  .action(async (_options: unknown, command: Command) => {
    await serve(configFrom(command));
  });

program
  .command('migrate')
  .description('apply pending schema migrations, say which, and exit')
  .action(async (_options: unknown, command: Command) => {
    await withContext(command, (ctx) => {
      if (ctx.appliedMigrations.length === 0) console.log(`database is up to date (${ctx.db.engine})`);
      else printMigrations(ctx);
      return Promise.resolve();
    });
  });

program
  .command('backup')
  .description('copy the SQLite database, consistently, while Purse serves, into a new FILE (mode 0600); on PostgreSQL use pg_dump')
  .argument('<file>', 'a file that does not exist yet')
  .action(async (file: string, _options: unknown, command: Command) => {
    await withContext(command, async (ctx) => {
      await ctx.db.backup(file);
      console.log(`backed up the database to ${file}`);
    });
  });

program
  .command('restore')
  .description('replace the SQLite database with a backup (stop Purse first), then verify its ledger; on PostgreSQL use pg_restore')
  .argument('<file>', 'a backup made by purse backup')
  .option('--force', 'replace the database that is there (never one in use)')
  .action(async (file: string, options: { force?: boolean }, command: Command) => {
    const config = configFrom(command);
    const restored = restoreDatabase(config.database, file, options.force === true);
    console.log(`restored ${file} as ${restored.file} (schema version ${restored.schemaVersion})`);
    if (!hashKeyIsKnown(config)) {
      console.error(`warning: no keys.json in ${config.dataDir} and no PURSE_HASH_KEY: new keys are generated, and the login cards, PINs, voucher codes and webhook secrets of the backup will not work; restore the keys.json kept with it first (purse serve refuses keys other than those the database was first started with)`);
    }
    // Its keys may be elsewhere still (warned above): the backup is verified all the same.
    await withContext(
      command,
      async (ctx) => {
        printMigrations(ctx);
        await verifyLedger(ctx);
      },
      { otherKeysAllowed: true },
    );
  });

program
  .command('openapi')
  .description("print Purse's OpenAPI document (what /openapi.json serves) without a database or a listening port")
  .option('--output <file>', 'write it to FILE instead of standard output')
  .action(async (options: { output?: string }, command: Command) => {
    const text = `${JSON.stringify(await openApiDocument(command), null, 2)}\n`;
    if (options.output === undefined) process.stdout.write(text);
    else fs.writeFileSync(options.output, text);
  });

/**
 * The document of a server built over a throwaway SQLite file in a temporary directory: the routes
 * make the document, the data does not, so the build needs neither the real database nor its keys.
 */
async function openApiDocument(command: Command): Promise<unknown> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-openapi-'));
  try {
    const config = { ...configFrom(command), dataDir, database: { engine: 'sqlite' as const, file: path.join(dataDir, 'purse.db') }, logLevel: 'silent' as const, sqliteWriter: 'loop' as const };
    const ctx = await createContext(config);
    try {
      const app = await buildServer(ctx);
      await app.ready();
      const document: unknown = app.swagger();
      await app.close();
      return document;
    } finally {
      await ctx.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const client = program.command('client').description('API clients ("REST API applications")');

client
  .command('create')
  .description('register an API client; prints its id and secret once')
  .requiredOption('--name <name>', 'a name people recognise')
  .requiredOption('--scopes <scopes>', 'space-separated scopes it may ask for, e.g. "credit users"')
  .requiredOption('--user <user>', 'username or id of the user it acts as')
  .action(async (options: { name: string; scopes: string; user: string }, command: Command) => {
    await withContext(command, async (ctx) => {
      const user = await ctx.users.resolve(options.user);
      const created = await ctx.auth.createClient({ name: options.name, scopes: options.scopes, userId: user.id }, CLI_ACTOR);
      console.log(`client_id      ${created.id}`);
      console.log(`client_secret  ${created.secret}`);
      console.log('The secret is shown only this once.');
    });
  });

client
  .command('list')
  .description('list API clients')
  .action(async (_options: unknown, command: Command) => {
    await withContext(command, async (ctx) => {
      for (const c of await ctx.auth.listClients(CLI_ACTOR)) {
        console.log([c.id, c.name, `scopes="${c.scopes.join(' ')}"`, `user=${c.userId}`, c.createdAt, c.revoked ? 'REVOKED' : 'active'].join('  '));
      }
    });
  });

client
  .command('revoke')
  .description('revoke an API client: its secret and every token it holds stop working')
  .argument('<client-id>')
  .action(async (clientId: string, _options: unknown, command: Command) => {
    await withContext(command, async (ctx) => {
      await ctx.auth.revokeClient(clientId, CLI_ACTOR);
      console.log(`revoked ${clientId}`);
    });
  });

const user = program.command('user').description('people and their credentials');

user
  .command('create')
  .description('create a user')
  .argument('<username>')
  .option('--fullname <name>')
  .option('--email <email>')
  .option('--code <code>', 'personal number')
  .option('--password <password>', 'login password (or use `user set-password`)')
  .action(async (username: string, options: { fullname?: string; email?: string; code?: string; password?: string }, command: Command) => {
    await withContext(command, async (ctx) => {
      const created = await ctx.pipeline.perform('user.create', { username, ...options }, CLI_ACTOR);
      console.log(`created user ${created.id} (${created.username})`);
    });
  });

user
  .command('set-password')
  .description('set a login password (read from --password or from the first line of standard input)')
  .argument('<user>', 'username or id')
  .option('--password <password>')
  .action(async (reference: string, options: { password?: string }, command: Command) => {
    const password = options.password ?? (await firstLineOfStdin('password'));
    await updateUser(command, reference, { password }, 'password set');
  });

user
  .command('set-pin')
  .description('set a login PIN (4–16 digits; read from --pin or standard input)')
  .argument('<user>', 'username or id')
  .option('--pin <pin>')
  .action(async (reference: string, options: { pin?: string }, command: Command) => {
    const pin = options.pin ?? (await firstLineOfStdin('PIN'));
    if (!/^[0-9]{4,16}$/.test(pin)) throw new AppError('invalid', 'a PIN is 4–16 digits');
    await updateUser(command, reference, { pin }, 'PIN set');
  });

user
  .command('add-card')
  .description('add a login card')
  .argument('<user>', 'username or id')
  .argument('<card>', 'the card number as the reader gives it')
  .action(async (reference: string, card: string, _options: unknown, command: Command) => {
    if (!/^[A-Za-z0-9:-]{4,64}$/.test(card)) throw new AppError('invalid', 'a card is 4–64 letters, digits, ":" or "-"');
    await withContext(command, async (ctx) => {
      const target = await ctx.users.resolve(reference);
      await ctx.pipeline.perform('user.addCard', { id: target.id, card }, CLI_ACTOR);
      console.log(`card added to ${target.username}`);
    });
  });

user
  .command('grant')
  .description(`grant a right: ${RIGHTS.join(', ')}`)
  .argument('<user>', 'username or id')
  .argument('<right>')
  .action(async (reference: string, right: string, _options: unknown, command: Command) => {
    if (!isRight(right)) throw new AppError('invalid', `unknown right "${right}"; rights are ${RIGHTS.join(', ')}`);
    await withContext(command, async (ctx) => {
      const target = await ctx.users.resolve(reference);
      const updated = await ctx.pipeline.perform('user.update', { id: target.id, rights: [...new Set([...target.rights, right])] }, CLI_ACTOR);
      console.log(`${updated.username} now has: ${updated.rights.join(', ')}`);
    });
  });

program
  .command('recharge')
  .description("recharge a person's credit by hand (a negative amount lowers it), or many people from a CSV of user;amount rows")
  .argument('[user]', 'username or id')
  .argument('[amount]', 'in major units, e.g. 13 or -2.50')
  .option('--csv <file>', 'MyQ bulk-recharge CSV: all rows or none')
  .option('--description <text>', 'shown in the statement', '')
  .action(async (reference: string | undefined, amount: string | undefined, options: { csv?: string; description: string }, command: Command) => {
    if (options.csv === undefined && (reference === undefined || amount === undefined)) throw new AppError('invalid', 'give USER AMOUNT, or --csv FILE');
    await withContext(command, async (ctx) => {
      if (options.csv !== undefined) {
        const result = await ctx.pipeline.perform('credit.bulkRecharge', { csv: fs.readFileSync(options.csv, 'utf8') }, CLI_ACTOR);
        console.log(`recharged ${result.count} rows, ${moneyText(result.totalMinor, ctx.config.currency)} in all`);
        return;
      }
      const target = await ctx.users.resolve(reference ?? '');
      const result = await ctx.pipeline.perform('credit.recharge', { userId: target.id, reference: 'credit', amount, description: options.description }, CLI_ACTOR);
      console.log(`${target.username}: balance ${moneyText(result.balanceMinor, ctx.config.currency)}`);
    });
  });

program
  .command('charge')
  .description("charge a person's credit (only if the available credit covers it)")
  .argument('<user>', 'username or id')
  .argument('<amount>', 'in major units, e.g. 2.50')
  .option('--description <text>', 'shown in the statement')
  .action(async (reference: string, amount: string, options: { description?: string }, command: Command) => {
    await withContext(command, async (ctx) => {
      const target = await ctx.users.resolve(reference);
      const charge = await ctx.pipeline.perform('charge.post', { userId: target.id, reference: 'credit', amount, description: options.description }, CLI_ACTOR);
      const money = (minor: number): string => moneyText(minor, ctx.config.currency);
      console.log(`charge ${charge.id}: ${target.username} charged ${money(charge.amount_minor)}, balance ${money(charge.balance_after_minor)}`);
    });
  });

program
  .command('holds')
  .description('list holds, newest first')
  .option('--user <user>', 'username or id')
  .option('--state <state>', `one of ${HOLD_STATES.join(', ')}`)
  .option('--limit <n>', 'at most this many', '100')
  .action(async (options: { user?: string; state?: string; limit: string }, command: Command) => {
    const state = HOLD_STATES.find((s) => s === options.state);
    if (options.state !== undefined && state === undefined) throw new AppError('invalid', `--state must be one of ${HOLD_STATES.join(', ')}`);
    const limit = limitOf(options.limit);
    await withContext(command, async (ctx) => {
      const userId = options.user === undefined ? undefined : (await ctx.users.resolve(options.user)).id;
      const { rows, count } = await ctx.spending.holds({ userId, state }, limit, 0);
      for (const row of rows.map(holdView)) console.log(`hold ${row.id}  user=${row.userId}  ${row.state}  amount=${row.amount}${row.captured === null ? '' : ` captured=${row.captured}`}  expires=${row.expires}  ${row.description}`);
      console.error(`${rows.length} of ${count} hold${count === 1 ? '' : 's'}`);
    });
  });

const hold = program.command('hold').description('one hold');

hold
  .command('release')
  .description('release a held hold: the reserved credit is available again')
  .argument('<id>')
  .action(async (id: string, _options: unknown, command: Command) => {
    const holdId = idOf(id, 'the hold id');
    await withContext(command, async (ctx) => {
      const released = await ctx.pipeline.perform('hold.release', { id: holdId }, CLI_ACTOR);
      console.log(`hold ${released.id} released`);
    });
  });

const webhook = program.command('webhook').description('webhook endpoints: signed events, POSTed as they happen');

webhook
  .command('add')
  .description('register an endpoint; prints its id and signing secret (shown this once)')
  .argument('<url>', 'http or https URL that receives a POST per event')
  .requiredOption('--events <list>', 'comma-separated event types or prefixes, e.g. payment.committed,charge.* or *')
  .option('--description <text>')
  .action(async (url: string, options: { events: string; description?: string }, command: Command) => {
    const events = options.events.split(',').map((e) => e.trim()).filter((e) => e !== '');
    await withContext(command, async (ctx) => {
      const { webhook: added, secret } = await ctx.pipeline.perform('webhook.create', { url, events, description: options.description }, CLI_ACTOR);
      console.log(`webhook ${added.id}  ${added.url}  events=${added.events.replaceAll(' ', ',')}`);
      console.log(`secret   ${secret}   (shown this once: verify signatures with it)`);
    });
  });

webhook
  .command('list')
  .description('list endpoints with their state')
  .action(async (_options: unknown, command: Command) => {
    await withContext(command, async (ctx) => {
      for (const w of await ctx.webhooks.list()) {
        const state = w.enabled ? (w.failingSince === null ? 'enabled' : `FAILING since ${w.failingSince}`) : `DISABLED${w.disabledReason === null ? '' : ` (${w.disabledReason})`}`;
        console.log(`${w.id}  ${w.url}  events=${w.events.join(',')}  ${state}`);
      }
    });
  });

webhook
  .command('deliveries')
  .description("an endpoint's delivery log, newest first, with every attempt")
  .argument('<id>')
  .option('--limit <n>', 'at most this many deliveries', '20')
  .action(async (id: string, options: { limit: string }, command: Command) => {
    const limit = limitOf(options.limit);
    await withContext(command, async (ctx) => {
      const { deliveries, count } = await ctx.webhooks.deliveries(id, limit, 0);
      for (const d of deliveries) {
        const attempts = d.attemptLog.map((a) => `${a.statusCode ?? 'no answer'} ${a.durationMs}ms${a.error === null ? '' : ` (${a.error})`}`).join('; ');
        console.log(`delivery ${d.id}  ${d.eventId}  ${d.eventType}  ${d.state}  attempts=${d.attempts}${d.nextAttempt === null ? '' : `  next=${d.nextAttempt}`}  ${attempts}`);
      }
      console.error(`${deliveries.length} of ${count} deliver${count === 1 ? 'y' : 'ies'}`);
    });
  });

program
  .command('audit')
  .description('the audit trail, newest first')
  .option('--actor <who>', 'a user id, or a client id (cli, system:sweeper …)')
  .option('--action <name>', 'a command name (payment.commit) or prefix (payment.*)')
  .option('--subject <subject>', 'e.g. payment:12, user:7')
  .option('--from <time>', 'at or after, ISO 8601')
  .option('--to <time>', 'at or before, ISO 8601')
  .option('--limit <n>', 'at most this many entries', '50')
  .action(async (options: { actor?: string; action?: string; subject?: string; from?: string; to?: string; limit: string }, command: Command) => {
    const limit = limitOf(options.limit);
    const filter = {
      ...actorFilter(options.actor),
      action: options.action,
      subject: options.subject,
      fromMs: options.from === undefined ? undefined : parseDateTime(options.from, '--from'),
      toMs: options.to === undefined ? undefined : parseDateTime(options.to, '--to'),
    };
    await withContext(command, async (ctx) => {
      const { entries, count } = await ctx.audit.page(filter, limit, 0);
      for (const e of entries) {
        const who = e.actor.userId === null ? (e.actor.clientId ?? '?') : `user:${e.actor.userId} client:${e.actor.clientId ?? '?'}`;
        console.log(`${e.at}  ${who}  ${e.action}  ${e.subject}  ${JSON.stringify(e.detail)}`);
      }
      console.error(`${entries.length} of ${count} entr${count === 1 ? 'y' : 'ies'}`);
    });
  });

const voucher = program.command('voucher').description('prepaid vouchers');

voucher
  .command('generate')
  .description('generate a batch of vouchers; prints the codes (or writes them to --csv FILE) — the only time they are shown')
  .requiredOption('--quantity <n>', 'how many, 1–100000')
  .requiredOption('--value <amount>', 'value of each voucher, e.g. 10 or 2.50')
  .requiredOption('--valid-until <date>', 'last valid day (2027-06-30) or a date-time')
  .option('--prefix <text>', 'printed before each code, letters and digits')
  .option('--description <text>')
  .option('--csv <file>', 'write the codes to this new CSV file (mode 0600) instead of standard output')
  .action(async (options: { quantity: string; value: string; validUntil: string; prefix?: string; description?: string; csv?: string }, command: Command) => {
    if (!/^\d+$/.test(options.quantity)) throw new AppError('invalid', '--quantity must be a whole number');
    const input = { quantity: Number(options.quantity), value: options.value, validUntil: options.validUntil, prefix: options.prefix, description: options.description };
    // Claimed before the batch is committed: a batch whose codes reach no one is money nobody holds.
    const csvFile = options.csv === undefined ? undefined : PrivateFile.create(options.csv, '--csv');
    try {
      await withContext(command, async (ctx) => {
        const { batchId, codes } = await ctx.pipeline.perform('voucher.generate', input, CLI_ACTOR);
        const stats = await ctx.vouchers.batch(batchId);
        await handOver(ctx, codesCsv(stats, codes), csvFile, batchId);
        console.error(`batch ${stats.batch.id}: ${codes.length} vouchers of ${moneyText(stats.batch.value_minor, ctx.config.currency)}, valid until ${new Date(stats.batch.valid_until_ms).toISOString()}`);
      });
    } catch (error) {
      csvFile?.remove();
      throw error;
    }
  });

/** The codes to their one reader; when the file cannot take them, the batch is expired at once. */
async function handOver(ctx: Context, csv: string, file: PrivateFile | undefined, batchId: number): Promise<void> {
  if (file === undefined) {
    process.stdout.write(csv);
    return;
  }
  try {
    file.write(csv);
    file.close();
  } catch (error) {
    await ctx.pipeline.perform('voucher.expireBatch', { batchId }, CLI_ACTOR);
    throw new AppError('unavailable', `cannot write ${file.path}: ${reasonOf(error)}; batch ${batchId} is expired, so none of its unseen codes can be redeemed`);
  }
}

voucher
  .command('expire')
  .description('expire a batch now: none of its unredeemed vouchers can be redeemed any more')
  .argument('<batch>', 'the batch id')
  .action(async (batch: string, _options: unknown, command: Command) => {
    const batchId = idOf(batch, 'the batch id');
    await withContext(command, async (ctx) => {
      await ctx.pipeline.perform('voucher.expireBatch', { batchId }, CLI_ACTOR);
      console.log(batchLine(await ctx.vouchers.batch(batchId)));
    });
  });

voucher
  .command('batches')
  .description('list voucher batches with issued, redeemed, expired and outstanding counts')
  .action(async (_options: unknown, command: Command) => {
    await withContext(command, async (ctx) => {
      const { batches } = await ctx.vouchers.batches(1000, 0);
      for (const stats of batches) console.log(batchLine(stats));
    });
  });

const gatewayCommand = program.command('gateway').description('the card and MB WAY payment gateway');

gatewayCommand
  .command('settle')
  .description('settle every success payment created before the cutoff, for amount − refunds')
  .option('--before <time>', 'cutoff, ISO 8601 (default: now)')
  .action(async (options: { before?: string }, command: Command) => {
    await withContext(command, async (ctx) => {
      const cutoffMs = options.before === undefined ? ctx.clock.nowMs() : parseDateTime(options.before, '--before');
      const { count } = await ctx.pipeline.perform('gateway.settleBefore', { cutoffMs }, CLI_ACTOR);
      console.log(`settled ${count} payment${count === 1 ? '' : 's'} created before ${new Date(cutoffMs).toISOString()}`);
    });
  });

gatewayCommand
  .command('reconcile')
  .description('list every mismatch between gateway payments, refunds and the ledger; exit 1 if there is any')
  .action(async (_options: unknown, command: Command) => {
    await withContext(command, async (ctx) => {
      const mismatches = await ctx.gateway.reconcile();
      if (mismatches.length === 0) {
        console.log('reconciled: gateway payments, refunds and the ledger agree');
        return;
      }
      for (const m of mismatches) console.log(`${m.payment_id.slice(0, 24)}…  ${m.problem}`);
      throw new AppError('conflict', `reconciliation found ${mismatches.length} mismatch${mismatches.length === 1 ? '' : 'es'}`);
    });
  });

const ledger = program.command('ledger').description('the double-entry ledger');

ledger
  .command('verify')
  .description('recompute every balance from the postings; exit 1 with a report on any mismatch')
  .action(async (_options: unknown, command: Command) => {
    await withContext(command, verifyLedger);
  });

const provider = program.command('provider').description('recharge providers');

provider
  .command('list')
  .description('list recharge providers and whether each is enabled')
  .action(async (_options: unknown, command: Command) => {
    await withContext(command, async (ctx) => {
      for (const p of await ctx.recharge.listProviders(true)) console.log(`${p.provider.reference}  ${p.enabled ? 'enabled ' : 'DISABLED'}  ${p.provider.name}`);
    });
  });

for (const [name, enabled] of [['enable', true], ['disable', false]] as const) {
  provider
    .command(name)
    .description(`${name} a recharge provider`)
    .argument('<reference>')
    .action(async (reference: string, _options: unknown, command: Command) => {
      await withContext(command, async (ctx) => {
        await ctx.pipeline.perform('provider.setEnabled', { reference, enabled }, CLI_ACTOR);
        console.log(`${reference} ${enabled ? 'enabled' : 'disabled'}`);
      });
    });
}

function batchLine(stats: BatchStats): string {
  const view = batchView(stats);
  return `batch ${view.id}  value=${view.value} ${view.currency}  validUntil=${view.validUntil}  issued=${view.issued} redeemed=${view.redeemed} reserved=${view.reserved} expired=${view.expiredCount} outstanding=${view.valueOutstanding}${view.expired ? '  EXPIRED' : ''}`;
}

function printMigrations(ctx: Context): void {
  for (const m of ctx.appliedMigrations) console.log(`applied migration ${m.version}: ${m.name}`);
}

/** `ledger verify`: prints the result; a problem makes the exit code 1. */
async function verifyLedger(ctx: Context): Promise<void> {
  const problems = await verifyBooks(ctx);
  if (problems.length === 0) {
    console.log('ledger verified: every transaction balances, every balance matches its postings');
    return;
  }
  for (const problem of problems) console.log(problem);
  throw new AppError('conflict', `ledger verification found ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
}

async function updateUser(command: Command, reference: string, patch: { password?: string; pin?: string }, done: string): Promise<void> {
  if (patch.password !== undefined && (patch.password.length < 8 || patch.password.length > 256)) {
    throw new AppError('invalid', 'a password is 8–256 characters');
  }
  await withContext(command, async (ctx) => {
    const target = await ctx.users.resolve(reference);
    await ctx.pipeline.perform('user.update', { id: target.id, ...patch }, CLI_ACTOR);
    console.log(`${done} for ${target.username}`);
  });
}

async function firstLineOfStdin(what: string): Promise<string> {
  if (process.stdin.isTTY) throw new AppError('invalid', `give the ${what} as an option or on standard input`);
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n') || text.length > 4096) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`purse: ${reasonOf(error)}`);
  process.exit(1);
}

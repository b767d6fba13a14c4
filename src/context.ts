// Wires the services and the command pipeline together once, for the server and for the command
// line alike.
import { AccessTokens } from './auth/access-tokens.js';
import { authCommands } from './auth/commands.js';
import { FailureLimiter } from './auth/failure-limiter.js';
import { Hasher } from './auth/hashing.js';
import { PrincipalCache } from './auth/principal-cache.js';
import { FailureWindows } from './auth/failure-windows.js';
import { checkKeyFingerprints, loadKeys } from './auth/keys.js';
import { AuthService } from './auth/service.js';
import { bootstrapCommand } from './bootstrap.js';
import { systemClock, type Clock } from './clock.js';
import { CommandPipeline } from './commands/pipeline.js';
import type { Config } from './config.js';
import type { CommitHorizon } from './db/commit-horizon.js';
import { openDb, type Db } from './db/index.js';
import { SqliteDb } from './db/sqlite.js';
import { SqliteThreadDb } from './db/sqlite-thread.js';
import { migrate, type AppliedMigration } from './db/migrations.js';
import { AuditService } from './audit/service.js';
import { EventFeed } from './events/service.js';
import { gatewayCommands } from './gateway/commands.js';
import { GatewayRechargeProvider } from './gateway/providers.js';
import { GatewayService } from './gateway/service.js';
import { ensureSystemAccounts, SPEND_PROVIDER } from './ledger/postings.js';
import { LedgerService } from './ledger/service.js';
import { rechargeCommands } from './recharge/commands.js';
import { MANUAL_PROVIDER, ManualRecharge } from './recharge/manual-commands.js';
import { externalProvider } from './recharge/providers.js';
import { RechargeService } from './recharge/service.js';
import { spendingCommands } from './spending/commands.js';
import { SpendingService } from './spending/service.js';
import { userCommands } from './users/commands.js';
import { UsersService } from './users/service.js';
import { voucherCommands } from './vouchers/commands.js';
import { webhookCommands } from './webhooks/commands.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { WebhookService } from './webhooks/service.js';
import { VoucherProvider } from './vouchers/provider.js';
import { VoucherService } from './vouchers/service.js';

export interface Context {
  config: Config;
  clock: Clock;
  db: Db;
  /** The migrations opening the database applied just now (none when it was up to date). */
  appliedMigrations: readonly AppliedMigration[];
  hasher: Hasher;
  pipeline: CommandPipeline;
  users: UsersService;
  ledger: LedgerService;
  recharge: RechargeService;
  vouchers: VoucherService;
  gateway: GatewayService;
  spending: SpendingService;
  auth: AuthService;
  events: EventFeed;
  audit: AuditService;
  webhooks: WebhookService;
  dispatcher: WebhookDispatcher;
  tokenFailures: FailureLimiter;
  voucherFailures: FailureLimiter;
  close(): Promise<void>;
}

const MINUTE_MS = 60_000;

export interface ContextOptions {
  /**
   * Skip the check of the keys against the database's fingerprints: `purse restore`, which warns
   * instead, may verify a backup whose keys are elsewhere.
   */
  otherKeysAllowed?: boolean;
  /**
   * The context of SQLite's writer thread (writer-thread.ts): it holds the writer, told of each
   * batch through `horizon`; the event loop's context has migrated and checked everything already.
   */
  writerThread?: { horizon: CommitHorizon };
}

/** The writer thread's module: built beside this one, or its TypeScript source under tsx. */
const WRITER_THREAD_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './writer-thread.ts' : './writer-thread.js', import.meta.url);

function openContextDb(config: Config, options: ContextOptions): Db {
  const target = config.database;
  if (target.engine === 'sqlite' && options.writerThread !== undefined) return new SqliteDb(target.file, options.writerThread.horizon);
  if (target.engine === 'sqlite' && config.sqliteWriter === 'thread') return new SqliteThreadDb(target.file, WRITER_THREAD_ENTRY, { config });
  return openDb(target, config.dbPoolSize, config.dbQueryTimeoutSeconds * 1000);
}

/**
 * Opens the database, applies pending migrations, checks the keys against the ones the database
 * was first started with, builds every service and registers every command.
 */
export async function createContext(config: Config, clock: Clock = systemClock, options: ContextOptions = {}): Promise<Context> {
  const keys = loadKeys(config);
  const db = openContextDb(config, options);
  const startsDb = options.writerThread === undefined;
  let appliedMigrations: AppliedMigration[] = [];
  try {
    if (startsDb) appliedMigrations = await migrate(db, config.currency, clock.nowMs());
    if (startsDb && options.otherKeysAllowed !== true) await checkKeyFingerprints(db, keys, config.dataDir, clock.nowMs());
  } catch (error) {
    await db.close();
    throw error;
  }
  const { currency } = config;
  const hasher = new Hasher(keys.hashKey);
  const pipeline = new CommandPipeline(db, clock, (text) => hasher.keyed('idempotency', text), db instanceof SqliteThreadDb ? (transaction) => db.call(transaction) : undefined);
  const ledger = new LedgerService(db, currency, clock);
  const users = new UsersService(db, hasher);
  const recharge = new RechargeService(db, clock, pipeline);
  const vouchers = new VoucherService(db, hasher, clock);
  const gateway = new GatewayService(db, currency);
  recharge.register(externalProvider);
  recharge.register(new GatewayRechargeProvider('card', 'Card', 'Buy credit by card through Purse’s payment gateway.', 'credit_card'));
  recharge.register(new GatewayRechargeProvider('mbway', 'MB WAY', 'Buy credit with MB WAY through Purse’s payment gateway.', 'mbway'));
  // Several processes share a PostgreSQL database, so they share its failure counts too; SQLite's
  // one process counts in memory (no write, no fsync, per attempt).
  const shared = (scope: string): FailureWindows | undefined => (db.engine === 'postgres' ? new FailureWindows(db, scope) : undefined);
  const voucherFailures = new FailureLimiter(config.voucherFailuresPer15Minutes, 15 * MINUTE_MS, clock, shared('voucher'));
  recharge.register(new VoucherProvider(vouchers, voucherFailures));
  const auth = new AuthService(db, hasher, new AccessTokens(keys.tokenKey, config.accessTokenTtlSeconds, clock), users, clock, config.refreshTokenTtlSeconds, new PrincipalCache(clock), pipeline);

  const spending = new SpendingService(db, clock, pipeline);
  const selfTopUp = { maxMinor: config.selfTopUpMaxMinor, dailyMinor: config.selfTopUpDailyMinor };
  const ceilings = { maxAmountMinor: config.maxAmountMinor, maxBalanceMinor: config.maxBalanceMinor };
  const payments = rechargeCommands({ provider: (reference) => recharge.provider(reference), payment: (reference, id) => recharge.get(reference, id), currency, paymentTtlSeconds: config.paymentTtlSeconds, selfTopUp, ...ceilings });
  const manual = new ManualRecharge(currency, users, { ...ceilings, bulkMaxRows: config.bulkMaxRows });
  const people = userCommands({ hasher, currency });
  const clients = authCommands(hasher);
  const batches = voucherCommands({ hasher, currency, maxAmountMinor: config.maxAmountMinor });
  const cards = gatewayCommands(currency, config.maxAmountMinor);
  const spend = spendingCommands({ currency, transfersEnabled: config.transfersEnabled, ...ceilings });
  const hooks = webhookCommands(hasher);
  // One call each: every definition keeps its own input, prepared and output types.
  pipeline.register(payments.create);
  pipeline.register(payments.update);
  pipeline.register(payments.commit);
  pipeline.register(payments.rollback);
  pipeline.register(payments.expire);
  pipeline.register(payments.setEnabled);
  pipeline.register(manual.recharge);
  pipeline.register(manual.bulk);
  pipeline.register(people.create);
  pipeline.register(people.update);
  pipeline.register(people.addCard);
  pipeline.register(clients.createClient);
  pipeline.register(clients.revokeClient);
  pipeline.register(clients.issueToken);
  pipeline.register(clients.issueCode);
  pipeline.register(clients.revokeSession);
  pipeline.register(clients.changePassword);
  pipeline.register(batches.generate);
  pipeline.register(batches.expireBatch);
  pipeline.register(cards.create);
  pipeline.register(cards.update);
  pipeline.register(cards.void);
  pipeline.register(cards.settleBefore);
  pipeline.register(cards.refund);
  pipeline.register(spend.charge);
  pipeline.register(spend.refund);
  pipeline.register(spend.hold);
  pipeline.register(spend.capture);
  pipeline.register(spend.release);
  pipeline.register(spend.expire);
  pipeline.register(spend.transfer);
  pipeline.register(hooks.create);
  pipeline.register(hooks.update);
  pipeline.register(hooks.remove);
  pipeline.register(hooks.rotateSecret);
  pipeline.register(hooks.retry);
  pipeline.register(hooks.disable);
  pipeline.register(bootstrapCommand(hasher, currency));

  // Every provider's system accounts exist before the first posting needs them.
  if (startsDb) {
    await db.write(async (tx) => {
      for (const provider of [...recharge.references(), MANUAL_PROVIDER, SPEND_PROVIDER]) await ensureSystemAccounts(tx, provider, currency, clock.nowMs());
    });
  }
  return {
    config,
    clock,
    db,
    appliedMigrations,
    hasher,
    pipeline,
    users,
    ledger,
    recharge,
    vouchers,
    gateway,
    spending,
    auth,
    events: new EventFeed(db),
    audit: new AuditService(db),
    webhooks: new WebhookService(db),
    dispatcher: new WebhookDispatcher(db, hasher, clock, pipeline),
    tokenFailures: new FailureLimiter(config.tokenFailuresPerMinute, MINUTE_MS, clock, shared('token')),
    voucherFailures,
    close: () => db.close(),
  };
}

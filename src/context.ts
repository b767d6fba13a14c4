// Wires the services and the command pipeline together once, for the server and for the command
// line alike.
import { AccessTokens } from './auth/access-tokens.js';
import { authCommands } from './auth/commands.js';
import { FailureLimiter } from './auth/failure-limiter.js';
import { Hasher } from './auth/hashing.js';
import { PrincipalCache } from './auth/principal-cache.js';
import { loadKeys } from './auth/keys.js';
import { AuthService } from './auth/service.js';
import { bootstrapCommand } from './bootstrap.js';
import { systemClock, type Clock } from './clock.js';
import { CommandPipeline } from './commands/pipeline.js';
import type { Config } from './config.js';
import { openDb, type Db } from './db/index.js';
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

/** Opens the database, applies pending migrations, builds every service and registers every command. */
export async function createContext(config: Config, clock: Clock = systemClock): Promise<Context> {
  const keys = loadKeys(config);
  const db = openDb(config.database, config.dbPoolSize, config.dbQueryTimeoutSeconds * 1000);
  let appliedMigrations: AppliedMigration[];
  try {
    appliedMigrations = await migrate(db, config.currency, clock.nowMs());
  } catch (error) {
    await db.close();
    throw error;
  }
  const { currency } = config;
  const hasher = new Hasher(keys.hashKey);
  const pipeline = new CommandPipeline(db, clock, (text) => hasher.keyed('idempotency', text));
  const ledger = new LedgerService(db, currency, clock);
  const users = new UsersService(db, hasher);
  const recharge = new RechargeService(db, clock, pipeline);
  const vouchers = new VoucherService(db, hasher, clock);
  const gateway = new GatewayService(db, currency);
  recharge.register(externalProvider);
  recharge.register(new GatewayRechargeProvider('card', 'Card', 'Buy credit by card through Purse’s payment gateway.', 'credit_card'));
  recharge.register(new GatewayRechargeProvider('mbway', 'MB WAY', 'Buy credit with MB WAY through Purse’s payment gateway.', 'mbway'));
  const voucherFailures = new FailureLimiter(config.voucherFailuresPer15Minutes, 15 * MINUTE_MS, clock);
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
  await db.write(async (tx) => {
    for (const provider of [...recharge.references(), MANUAL_PROVIDER, SPEND_PROVIDER]) await ensureSystemAccounts(tx, provider, currency, clock.nowMs());
  });
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
    tokenFailures: new FailureLimiter(config.tokenFailuresPerMinute, MINUTE_MS, clock),
    voucherFailures,
    close: () => db.close(),
  };
}

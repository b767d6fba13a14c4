// Wires the services together once, for the server and for the command line alike.
import { AccessTokens } from './auth/access-tokens.js';
import { FailureLimiter } from './auth/failure-limiter.js';
import { Hasher } from './auth/hashing.js';
import { PrincipalCache } from './auth/principal-cache.js';
import { loadKeys } from './auth/keys.js';
import { AuthService } from './auth/service.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { openDb, type Db } from './db/index.js';
import { migrate } from './db/migrations.js';
import { GatewayRechargeProvider } from './gateway/providers.js';
import { GatewayService } from './gateway/service.js';
import { LedgerService } from './ledger/service.js';
import { MANUAL_PROVIDER, ManualRechargeService } from './recharge/manual-service.js';
import { externalProvider } from './recharge/providers.js';
import { RechargeService } from './recharge/service.js';
import { UsersService } from './users/service.js';
import { VoucherProvider } from './vouchers/provider.js';
import { VoucherService } from './vouchers/service.js';

export interface Context {
  config: Config;
  clock: Clock;
  db: Db;
  hasher: Hasher;
  users: UsersService;
  ledger: LedgerService;
  recharge: RechargeService;
  manual: ManualRechargeService;
  vouchers: VoucherService;
  gateway: GatewayService;
  auth: AuthService;
  tokenFailures: FailureLimiter;
  close(): Promise<void>;
}

const MINUTE_MS = 60_000;

/** Opens the database, applies pending migrations and builds every service. */
export async function createContext(config: Config, clock: Clock = systemClock): Promise<Context> {
  const keys = loadKeys(config);
  const db = openDb(config.database, config.dbPoolSize);
  try {
    await migrate(db, config.currency, clock.nowMs());
  } catch (error) {
    await db.close();
    throw error;
  }
  const hasher = new Hasher(keys.hashKey);
  // One writer on SQLite: shards would only add rows. Parallel writers on PostgreSQL: spread the hot row.
  const ledger = new LedgerService(db, config.currency, db.engine === 'postgres' ? 16 : 1);
  const principals = new PrincipalCache(clock);
  const users = new UsersService(db, hasher, clock, ledger, principals);
  const accessTokens = new AccessTokens(keys.tokenKey, config.accessTokenTtlSeconds, clock);
  const recharge = new RechargeService(db, clock, ledger, users, config.paymentTtlSeconds);
  recharge.register(externalProvider);
  const gateway = new GatewayService(db, clock, ledger);
  recharge.register(new GatewayRechargeProvider('card', 'Card', 'Buy credit by card through Purse’s payment gateway.', 'credit_card', gateway));
  recharge.register(new GatewayRechargeProvider('mbway', 'MB WAY', 'Buy credit with MB WAY through Purse’s payment gateway.', 'mbway', gateway));
  const vouchers = new VoucherService(db, hasher, clock, config.currency);
  recharge.register(new VoucherProvider(vouchers, new FailureLimiter(config.voucherFailuresPer15Minutes, 15 * MINUTE_MS, clock)));
  const manual = new ManualRechargeService(db, clock, ledger, users);
  await ledger.warmSystemAccounts(db, [...recharge.references(), MANUAL_PROVIDER], clock.nowMs());
  const auth = new AuthService(db, hasher, accessTokens, users, clock, config.refreshTokenTtlSeconds, principals);
  return {
    config,
    clock,
    db,
    hasher,
    users,
    ledger,
    recharge,
    manual,
    vouchers,
    gateway,
    auth,
    tokenFailures: new FailureLimiter(config.tokenFailuresPerMinute, MINUTE_MS, clock),
    close: () => db.close(),
  };
}

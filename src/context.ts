// Wires the services together once, for the server and for the command line alike.
import { AccessTokens } from './auth/access-tokens.js';
import { FailureLimiter } from './auth/failure-limiter.js';
import { Hasher } from './auth/hashing.js';
import { loadKeys } from './auth/keys.js';
import { AuthService } from './auth/service.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { openDb, type Db } from './db/index.js';
import { migrate } from './db/migrations.js';
import { UsersService } from './users/service.js';

export interface Context {
  config: Config;
  clock: Clock;
  db: Db;
  hasher: Hasher;
  users: UsersService;
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
    await migrate(db, clock.nowMs());
  } catch (error) {
    await db.close();
    throw error;
  }
  const hasher = new Hasher(keys.hashKey);
  const users = new UsersService(db, hasher, clock);
  const accessTokens = new AccessTokens(keys.tokenKey, config.accessTokenTtlSeconds, clock);
  const auth = new AuthService(db, hasher, accessTokens, users, clock, config.refreshTokenTtlSeconds);
  return {
    config,
    clock,
    db,
    hasher,
    users,
    auth,
    tokenFailures: new FailureLimiter(config.tokenFailuresPerMinute, MINUTE_MS, clock),
    close: () => db.close(),
  };
}

// Every setting in one table: environment variable ↔ `purse serve` flag ↔ default.
// Values are validated once, at start; a bad value stops the start with one line naming the variable.
import path from 'node:path';

import { AppError } from './errors.js';
import { currencyExponent, toMinor } from './money.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Where SQLite's writer runs: a thread of its own, or the event loop (sqlite-thread.ts). */
export type SqliteWriter = 'thread' | 'loop';
const SQLITE_WRITERS: readonly SqliteWriter[] = ['thread', 'loop'];

export type DatabaseTarget = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string };

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseTarget;
  sqliteWriter: SqliteWriter;
  currency: string;
  adminUsername: string;
  adminPassword: string | undefined;
  bootstrapClientId: string | undefined;
  bootstrapClientSecret: string | undefined;
  logLevel: LogLevel;
  tokenKey: string | undefined;
  hashKey: string | undefined;
  bodyLimitBytes: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  tokenFailuresPerMinute: number;
  dbPoolSize: number;
  workers: number;
  paymentTtlSeconds: number;
  sweepIntervalSeconds: number;
  voucherFailuresPer15Minutes: number;
  transfersEnabled: boolean;
  selfTopUpMaxMinor: number;
  selfTopUpDailyMinor: number;
  metricsToken: string | undefined;
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  maxConnections: number;
  maxAmountMinor: number;
  maxBalanceMinor: number;
  bulkMaxRows: number;
  dbQueryTimeoutSeconds: number;
  corsOrigins: string[];
  publicUrl: string | undefined;
}

export class ConfigError extends Error {}

interface Item {
  env: string;
  flag: string;
  description: string;
  default?: string;
}

/** The configuration table; README.md's table is written from the same facts. */
export const CONFIG_ITEMS = {
  host: { env: 'HOST', flag: 'host', default: '127.0.0.1', description: 'address to listen on' },
  port: { env: 'PORT', flag: 'port', default: '8080', description: 'TCP port (0 picks a free one)' },
  dataDir: { env: 'PURSE_DATA_DIR', flag: 'data-dir', default: './data', description: 'directory for the SQLite file and generated keys' },
  databaseUrl: { env: 'DATABASE_URL', flag: 'database-url', description: 'unset or sqlite:PATH → SQLite ($PURSE_DATA_DIR/purse.db); postgres://… → PostgreSQL' },
  sqliteWriter: { env: 'PURSE_SQLITE_WRITER', flag: 'sqlite-writer', default: 'thread', description: 'SQLite, `purse serve`: thread runs the writer (statements, COMMIT, fsync) on a thread of its own, so HTTP never waits behind a batch; loop runs it on the event loop (one thread fewer, for one core). One-shot commands always use loop' },
  currency: { env: 'PURSE_CURRENCY', flag: 'currency', default: 'EUR', description: 'ISO 4217 currency of every account and payment' },
  adminUsername: { env: 'PURSE_ADMIN_USERNAME', flag: 'admin-username', default: 'admin', description: 'administrator created on first start' },
  adminPassword: { env: 'PURSE_ADMIN_PASSWORD', flag: 'admin-password', description: 'administrator password on first start (else generated and printed once)' },
  bootstrapClientId: { env: 'PURSE_BOOTSTRAP_CLIENT_ID', flag: 'bootstrap-client-id', description: 'id of the API client created on first start (else generated)' },
  bootstrapClientSecret: { env: 'PURSE_BOOTSTRAP_CLIENT_SECRET', flag: 'bootstrap-client-secret', description: 'secret of that client (else generated and printed once)' },
  logLevel: { env: 'LOG_LEVEL', flag: 'log-level', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
  tokenKey: { env: 'PURSE_TOKEN_KEY', flag: 'token-key', description: 'access-token signing key, base64url of ≥ 32 bytes (else generated into the data directory)' },
  hashKey: { env: 'PURSE_HASH_KEY', flag: 'hash-key', description: 'key of the keyed hashes (login cards, refresh tokens), base64url of ≥ 32 bytes (else generated into the data directory)' },
  bodyLimitBytes: { env: 'PURSE_BODY_LIMIT_BYTES', flag: 'body-limit-bytes', default: '1048576', description: 'largest request body; larger → 413' },
  accessTokenTtlSeconds: { env: 'PURSE_ACCESS_TOKEN_TTL_SECONDS', flag: 'access-token-ttl-seconds', default: '1800', description: 'lifetime of an access token' },
  refreshTokenTtlSeconds: { env: 'PURSE_REFRESH_TOKEN_TTL_SECONDS', flag: 'refresh-token-ttl-seconds', default: '2592000', description: 'lifetime of a refresh token (30 days)' },
  tokenFailuresPerMinute: { env: 'PURSE_TOKEN_FAILURES_PER_MINUTE', flag: 'token-failures-per-minute', default: '20', description: 'failed token requests per minute before 429: per address, per client id from one address, per person logging in at a client' },
  dbPoolSize: { env: 'PURSE_DB_POOL_SIZE', flag: 'db-pool-size', default: '20', description: 'PostgreSQL connections per process' },
  workers: { env: 'PURSE_WORKERS', flag: 'workers', default: '1', description: '`purse serve` processes sharing the port (1–64); more than 1 needs PostgreSQL' },
  paymentTtlSeconds: { env: 'PURSE_PAYMENT_TTL_SECONDS', flag: 'payment-ttl-seconds', default: '1800', description: 'an uncommitted recharge payment expires this long after creation' },
  voucherFailuresPer15Minutes: { env: 'PURSE_VOUCHER_FAILURES_PER_15_MINUTES', flag: 'voucher-failures-per-15-minutes', default: '10', description: 'wrong voucher codes per person per 15 minutes before 429' },
  sweepIntervalSeconds: { env: 'PURSE_SWEEP_INTERVAL_SECONDS', flag: 'sweep-interval-seconds', default: '30', description: 'how often overdue payments and holds are expired' },
  transfers: { env: 'PURSE_TRANSFERS', flag: 'transfers', default: 'off', description: 'on: people may transfer credit from their own account to others (holders of chargeCredit always may)' },
  selfTopUpMaxAmount: { env: 'PURSE_SELF_TOPUP_MAX_AMOUNT', flag: 'self-topup-max-amount', default: '200', description: 'largest card or MB WAY top-up a person may make for themselves, major units' },
  metricsToken: { env: 'PURSE_METRICS_TOKEN', flag: 'metrics-token', description: 'when set, /metrics answers only requests with `Authorization: Bearer <this>` (16–256 characters)' },
  selfTopUpDailyAmount: { env: 'PURSE_SELF_TOPUP_DAILY_AMOUNT', flag: 'self-topup-daily-amount', default: '500', description: 'most a person may top up for themselves by card and MB WAY in any 24 hours, major units' },
  headersTimeoutSeconds: { env: 'PURSE_HEADERS_TIMEOUT_SECONDS', flag: 'headers-timeout-seconds', default: '10', description: 'a connection whose request headers are not complete this long after it starts is closed (408)' },
  requestTimeoutSeconds: { env: 'PURSE_REQUEST_TIMEOUT_SECONDS', flag: 'request-timeout-seconds', default: '30', description: 'a request whose body has not fully arrived this long after it started is closed (408); at least the headers timeout' },
  keepAliveTimeoutSeconds: { env: 'PURSE_KEEP_ALIVE_TIMEOUT_SECONDS', flag: 'keep-alive-timeout-seconds', default: '10', description: 'an idle keep-alive connection is closed after this long' },
  dbQueryTimeoutSeconds: { env: 'PURSE_DB_QUERY_TIMEOUT_SECONDS', flag: 'db-query-timeout-seconds', default: '30', description: 'PostgreSQL: a statement that takes longer is stopped and the request answered 503; a server that does not answer at all is given 2 s more. A frozen server or a lost network never holds requests for ever' },
  maxConnections: { env: 'PURSE_MAX_CONNECTIONS', flag: 'max-connections', default: '512', description: 'open connections per process; past it new connections are closed at once, so that file descriptors never run out' },
  maxAmount: { env: 'PURSE_MAX_AMOUNT', flag: 'max-amount', default: '1000000', description: 'largest amount of any one payment, recharge, charge, hold, transfer, refund or voucher, major units' },
  maxBalance: { env: 'PURSE_MAX_BALANCE', flag: 'max-balance', default: '10000000', description: 'most a person\'s credit account may hold, major units; a change that would take a balance over it is refused' },
  bulkMaxRows: { env: 'PURSE_BULK_MAX_ROWS', flag: 'bulk-max-rows', default: '10000', description: 'most rows in one bulk recharge CSV (1–100000)' },
  corsOrigins: { env: 'PURSE_CORS_ORIGINS', flag: 'cors-origins', description: 'comma-separated origins (https://app.example.org) whose browser apps may call the API; unset: none' },
  publicUrl: { env: 'PURSE_PUBLIC_URL', flag: 'public-url', description: 'the origin browsers reach Purse at (https://purse.example.org), behind a proxy that changes Host or scheme: the login page then takes only <this>/callback as redirect_uri and only this Origin; unset: the origin of each request' },
} as const satisfies Record<string, Item>;

export type ConfigKey = keyof typeof CONFIG_ITEMS;
export type RawConfig = Partial<Record<ConfigKey, string>>;

/** Reads the raw values: flags win over the environment, which wins over defaults. */
export function rawFromEnv(env: NodeJS.ProcessEnv, flags: RawConfig = {}): RawConfig {
  const raw: RawConfig = {};
  for (const key of Object.keys(CONFIG_ITEMS) as ConfigKey[]) {
    const value = flags[key] ?? env[CONFIG_ITEMS[key].env];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return raw;
}

export function loadConfig(raw: RawConfig): Config {
  const get = (key: ConfigKey): string | undefined => raw[key] ?? defaultOf(key);
  const dataDir = path.resolve(get('dataDir') ?? './data');
  const code = currency(get('currency'));
  return {
    host: required(get('host'), 'host'),
    port: integer(get('port'), 'port', 0, 65535),
    dataDir,
    database: databaseTarget(get('databaseUrl'), dataDir),
    sqliteWriter: oneOf(get('sqliteWriter'), 'sqliteWriter', SQLITE_WRITERS),
    currency: code,
    adminUsername: username(get('adminUsername')),
    adminPassword: optionalSecret(get('adminPassword'), 'adminPassword', 8),
    bootstrapClientId: clientId(get('bootstrapClientId')),
    bootstrapClientSecret: optionalSecret(get('bootstrapClientSecret'), 'bootstrapClientSecret', 20),
    logLevel: logLevel(get('logLevel')),
    tokenKey: key32(get('tokenKey'), 'tokenKey'),
    hashKey: key32(get('hashKey'), 'hashKey'),
    bodyLimitBytes: integer(get('bodyLimitBytes'), 'bodyLimitBytes', 1024, 64 * 1024 * 1024),
    accessTokenTtlSeconds: integer(get('accessTokenTtlSeconds'), 'accessTokenTtlSeconds', 60, 86_400),
    refreshTokenTtlSeconds: integer(get('refreshTokenTtlSeconds'), 'refreshTokenTtlSeconds', 60, 365 * 86_400),
    tokenFailuresPerMinute: integer(get('tokenFailuresPerMinute'), 'tokenFailuresPerMinute', 1, 1_000_000),
    dbPoolSize: integer(get('dbPoolSize'), 'dbPoolSize', 1, 1000),
    workers: integer(get('workers'), 'workers', 1, MAX_WORKERS),
    paymentTtlSeconds: integer(get('paymentTtlSeconds'), 'paymentTtlSeconds', 10, 30 * 86_400),
    sweepIntervalSeconds: integer(get('sweepIntervalSeconds'), 'sweepIntervalSeconds', 1, 3600),
    voucherFailuresPer15Minutes: integer(get('voucherFailuresPer15Minutes'), 'voucherFailuresPer15Minutes', 1, 1_000_000),
    transfersEnabled: onOff(get('transfers'), 'transfers'),
    selfTopUpMaxMinor: amount(get('selfTopUpMaxAmount'), 'selfTopUpMaxAmount', code),
    selfTopUpDailyMinor: amount(get('selfTopUpDailyAmount'), 'selfTopUpDailyAmount', code),
    metricsToken: optionalSecret(get('metricsToken'), 'metricsToken', 16),
    ...ceilings(get('maxAmount'), get('maxBalance'), code),
    bulkMaxRows: integer(get('bulkMaxRows'), 'bulkMaxRows', 1, MAX_BULK_ROWS),
    ...serverLimits(get),
    dbQueryTimeoutSeconds: integer(get('dbQueryTimeoutSeconds'), 'dbQueryTimeoutSeconds', 1, 3600),
    corsOrigins: origins(get('corsOrigins')),
    publicUrl: publicUrl(get('publicUrl')),
  };
}

/** Most origins PURSE_CORS_ORIGINS may list; each request's origin is looked up among them. */
const MAX_CORS_ORIGINS = 100;

/** Exact origins as a browser sends them: scheme, host and port, no path, no trailing slash. */
function origins(value: string | undefined): string[] {
  if (value === undefined) return [];
  const list = [...new Set(value.split(',').map((o) => o.trim()).filter((o) => o !== ''))];
  if (list.length > MAX_CORS_ORIGINS) fail('corsOrigins', `lists ${list.length} origins; at most ${MAX_CORS_ORIGINS}`);
  for (const origin of list) {
    if (!/^https?:\/\//.test(origin) || originOf(origin) !== origin) fail('corsOrigins', `"${origin}" is not an origin like https://app.example.org or http://localhost:3000`);
  }
  return list;
}

function publicUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^https?:\/\//.test(value) || originOf(value) !== value) fail('publicUrl', `"${value}" is not an origin like https://purse.example.org (scheme, host and port; no path)`);
  return value;
}

function originOf(text: string): string | undefined {
  try {
    return new URL(text).origin;
  } catch {
    return undefined;
  }
}

/** Node refuses a headers timeout longer than the request timeout, so the pair is checked here. */
function serverLimits(get: (key: ConfigKey) => string | undefined): Pick<Config, 'headersTimeoutSeconds' | 'requestTimeoutSeconds' | 'keepAliveTimeoutSeconds' | 'maxConnections'> {
  const headersTimeoutSeconds = integer(get('headersTimeoutSeconds'), 'headersTimeoutSeconds', 1, 600);
  const requestTimeoutSeconds = integer(get('requestTimeoutSeconds'), 'requestTimeoutSeconds', 1, 3600);
  if (requestTimeoutSeconds < headersTimeoutSeconds) fail('requestTimeoutSeconds', `must be at least PURSE_HEADERS_TIMEOUT_SECONDS (${headersTimeoutSeconds}), got ${requestTimeoutSeconds}`);
  return {
    headersTimeoutSeconds,
    requestTimeoutSeconds,
    keepAliveTimeoutSeconds: integer(get('keepAliveTimeoutSeconds'), 'keepAliveTimeoutSeconds', 1, 600),
    maxConnections: integer(get('maxConnections'), 'maxConnections', 1, 1_000_000),
  };
}

/** Largest bulk recharge PURSE_BULK_MAX_ROWS may allow: bounds the one transaction that posts it. */
export const MAX_BULK_ROWS = 100_000;
/** Processes `purse serve --workers` forks at most: each holds its own pool of PostgreSQL connections. */
export const MAX_WORKERS = 64;

/** One amount can never be more than a balance may hold. */
function ceilings(maxAmount: string | undefined, maxBalance: string | undefined, currencyCode: string): { maxAmountMinor: number; maxBalanceMinor: number } {
  const maxAmountMinor = amount(maxAmount, 'maxAmount', currencyCode);
  const maxBalanceMinor = amount(maxBalance, 'maxBalance', currencyCode);
  if (maxAmountMinor > maxBalanceMinor) fail('maxAmount', `must not be more than ${CONFIG_ITEMS.maxBalance.env}`);
  return { maxAmountMinor, maxBalanceMinor };
}

export function defaultOf(key: ConfigKey): string | undefined {
  const item: Item = CONFIG_ITEMS[key];
  return item.default;
}

function fail(key: ConfigKey, problem: string): never {
  throw new ConfigError(`${CONFIG_ITEMS[key].env}: ${problem}`);
}

function required(value: string | undefined, key: ConfigKey): string {
  if (value === undefined) fail(key, 'is required');
  return value;
}

function integer(value: string | undefined, key: ConfigKey, min: number, max: number): number {
  const text = required(value, key);
  if (!/^\d+$/.test(text)) fail(key, `must be a whole number, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) fail(key, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function onOff(value: string | undefined, key: ConfigKey): boolean {
  const text = required(value, key);
  if (text !== 'on' && text !== 'off') fail(key, `must be on or off, got "${text}"`);
  return text === 'on';
}

/** A positive amount in major units of the configured currency, kept in minor units. */
function amount(value: string | undefined, key: ConfigKey, currencyCode: string): number {
  const text = required(value, key);
  let minor: number;
  try {
    minor = toMinor(text, currencyCode, key);
  } catch (error) {
    if (error instanceof AppError) fail(key, `must be an amount like 200 or 12.50 (${error.data[0]?.problem ?? 'a decimal'}), got "${text}"`);
    throw error;
  }
  if (minor <= 0) fail(key, `must be greater than zero, got "${text}"`);
  return minor;
}

function databaseTarget(url: string | undefined, dataDir: string): DatabaseTarget {
  if (url === undefined) return { engine: 'sqlite', file: path.join(dataDir, 'purse.db') };
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '') fail('databaseUrl', 'sqlite: needs a path, e.g. sqlite:./data/purse.db');
    return { engine: 'sqlite', file: path.resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { engine: 'postgres', url };
  return fail('databaseUrl', 'must start with sqlite: or postgres://');
}

function currency(value: string | undefined): string {
  const code = required(value, 'currency');
  if (currencyExponent(code) === undefined) fail('currency', `unknown ISO 4217 code "${code}"`);
  return code;
}

function username(value: string | undefined): string {
  const name = required(value, 'adminUsername');
  if (!/^[^\s]{1,128}$/.test(name)) fail('adminUsername', 'must be 1–128 characters without spaces');
  return name;
}

function optionalSecret(value: string | undefined, key: ConfigKey, minLength: number): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < minLength || value.length > 256) fail(key, `must be ${minLength}–256 characters`);
  return value;
}

function clientId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9._-]{8,64}$/.test(value)) fail('bootstrapClientId', 'must be 8–64 letters, digits, ".", "_" or "-"');
  return value;
}

function key32(value: string | undefined, key: ConfigKey): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(value) || Buffer.from(value, 'base64url').length < 32) {
    fail(key, 'must be base64url of at least 32 bytes (e.g. `openssl rand -base64 32 | tr "+/" "-_" | tr -d =`)');
  }
  return value;
}

function logLevel(value: string | undefined): LogLevel {
  return oneOf(value, 'logLevel', LOG_LEVELS);
}

function oneOf<T extends string>(value: string | undefined, key: ConfigKey, choices: readonly T[]): T {
  const text = required(value, key);
  const found = choices.find((choice) => choice === text);
  if (found === undefined) fail(key, `must be one of ${choices.join(', ')}`);
  return found;
}

// Test harness: a real Purse on a real database — SQLite always, PostgreSQL too when
// PURSE_TEST_DATABASE_URL is set. Each app gets its own fresh database, dropped afterwards.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';

import { bootstrap } from '../../src/bootstrap.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig, type Config, type DatabaseTarget } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { openDb, type Db, type Engine } from '../../src/db/index.js';
import { SqliteThreadDb } from '../../src/db/sqlite-thread.js';
import { buildServer } from '../../src/server.js';

export const PG_URL = process.env.PURSE_TEST_DATABASE_URL;
export const ENGINES: Engine[] = PG_URL === undefined || PG_URL === '' ? ['sqlite'] : ['sqlite', 'postgres'];

/** How a database-layer test opens its database: each engine, and SQLite with its writer on a thread. */
export interface DbVariant {
  name: string;
  engine: Engine;
  writerThread?: true;
}
export const DB_VARIANTS: DbVariant[] = [...ENGINES.map((engine) => ({ name: engine, engine })), { name: 'sqlite, writer thread', engine: 'sqlite', writerThread: true }];

/**
 * How an app test starts Purse: each engine, SQLite with its writer on a thread (the default) and,
 * for the suites that look at the write units themselves, on the event loop.
 */
export interface AppVariant {
  name: string;
  engine: Engine;
  overrides: Partial<Config>;
}
export const APP_VARIANTS_WITH_LOOP_WRITER: AppVariant[] = [
  ...ENGINES.map((engine) => ({ name: engine, engine, overrides: {} })),
  { name: 'sqlite, writer on the loop', engine: 'sqlite', overrides: { sqliteWriter: 'loop' } },
];

/** The test writer thread: the database layer alone, without Purse's commands. */
export const TEST_WRITER_ENTRY = new URL('./writer-thread-entry.ts', import.meta.url);

export function openTestDb(variant: DbVariant, database: TestDatabase, poolSize = 4): Db {
  if (variant.writerThread !== true || database.target.engine !== 'sqlite') return openDb(database.target, poolSize);
  return new SqliteThreadDb(database.target.file, TEST_WRITER_ENTRY, {});
}

export const ADMIN_PASSWORD = 'admin-password-0001';
export const BOOT_CLIENT_ID = 'test-bootstrap-client';
export const BOOT_CLIENT_SECRET = 'test-bootstrap-secret-0123456789abcdef';

export interface TestDatabase {
  dataDir: string;
  target: DatabaseTarget;
  drop(): Promise<void>;
}

export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-test-'));
  const removeDir = (): void => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  if (engine === 'sqlite') {
    return { dataDir, target: { engine: 'sqlite', file: path.join(dataDir, 'purse.db') }, drop: async () => {
        removeDir();
      } };
  }
  if (PG_URL === undefined) throw new Error('PURSE_TEST_DATABASE_URL is not set');
  const name = `purse_test_${crypto.randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    dataDir,
    target: { engine: 'postgres', url: url.toString() },
    drop: async () => {
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      removeDir();
    },
  };
}

async function withAdmin(fn: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

export function testConfig(db: TestDatabase, overrides: Partial<Config> = {}): Config {
  const base = loadConfig({
    dataDir: db.dataDir,
    adminPassword: ADMIN_PASSWORD,
    bootstrapClientId: BOOT_CLIENT_ID,
    bootstrapClientSecret: BOOT_CLIENT_SECRET,
    logLevel: 'silent',
  });
  return { ...base, database: db.target, ...overrides };
}

/** Collects every log line the server writes, for tests that scan logs for secrets. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(chunk.toString('utf8'));
    done();
  }
  get text(): string {
    return this.lines.join('');
  }
}

export interface TestApp {
  engine: Engine;
  app: FastifyInstance;
  ctx: Context;
  clock: ManualClock;
  db: TestDatabase;
  logs: LogCapture;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** A client_credentials token of the bootstrap client (acting as the administrator). */
  adminToken(scope?: string): Promise<string>;
  /** A person's own token: login_info type 3 (username + password) through the bootstrap client. */
  personToken(user: string, pwd: string, scope?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startApp(engine: Engine, overrides: Partial<Config> = {}): Promise<TestApp> {
  const db = await createTestDatabase(engine);
  const clock = new ManualClock();
  const logs = new LogCapture();
  const config = testConfig(db, { logLevel: 'info', ...overrides });
  const ctx = await createContext(config, clock);
  await bootstrap(ctx);
  const app = await buildServer(ctx, { logStream: logs });
  await app.ready();
  const inject = (options: InjectOptions): Promise<LightMyRequestResponse> => app.inject(options);
  const token = async (payload: Record<string, unknown>): Promise<string> => {
    const res = await inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, ...payload } });
    if (res.statusCode !== 200) throw new Error(`token: ${res.statusCode} ${res.body}`);
    return res.json<{ access_token: string }>().access_token;
  };
  return {
    engine,
    app,
    ctx,
    clock,
    db,
    logs,
    inject,
    adminToken: (scope?: string) => token({ grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) }),
    personToken: (user: string, pwd: string, scope?: string) => token({ grant_type: 'login_info', login_info: { type: 3, user, pwd }, ...(scope === undefined ? {} : { scope }) }),
    close: async () => {
      await app.close();
      await ctx.close();
      await db.drop();
    },
  };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Everything the database holds, as text: the SQLite files, or every row of every table. */
export async function databaseText(t: TestApp): Promise<string> {
  if (t.db.target.engine === 'sqlite') {
    const file = t.db.target.file;
    return [file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f).toString('latin1')).join('\n');
  }
  const tables = await t.ctx.db.read((q) => q.all<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"));
  const parts: string[] = [];
  for (const { tablename } of tables) {
    const rows = await t.ctx.db.read((q) => q.all<{ text: string | null }>(`SELECT string_agg(x::text, E'\\n') AS text FROM ${tablename} x`));
    parts.push(rows[0]?.text ?? '');
  }
  return parts.join('\n');
}

// `npm run bench`: every scenario, side by side in one run on this machine, on SQLite (durable)
// and PostgreSQL. Prints a table and writes it to BENCHMARKS.md with the machine and the date.
//   npm run bench -- --quick                 a few seconds per scenario (CI's smoke run)
//   npm run bench -- --engines sqlite        one engine
//   npm run bench -- --only recharge,list    some scenarios (ceiling recharge voucher card charge hold token list statement csv writer scale)
//   PURSE_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench …   profile the servers
// Purse runs as its own process (`node dist/main.js serve`, as `npm start` does); autocannon
// drives it from this process with 64 connections, the same settings for every scenario. At the
// largest store the reads also run at a fixed offered rate (bench/fixed-rate.ts, an open loop).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import autocannon from 'autocannon';
import pg from 'pg';

import { bootstrap } from '../src/bootstrap.js';
import { loadConfig } from '../src/config.js';
import { createContext } from '../src/context.js';

import { SqliteDb } from '../src/db/sqlite.js';

import { fixedRate, type FixedRateResult } from './fixed-rate.js';
import { seedPayments } from './seed.js';
import { writerAtRate } from './sqlite-writer.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
};
const QUICK = args.includes('--quick');
const DURATION_S = QUICK ? 3 : 15;
const CONNECTIONS = 64;
const ENGINES = (flag('engines') ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
const ONLY = flag('only')?.split(',');
const PG_ADMIN_URL = process.env.PURSE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const GROWTH_SIZES = QUICK ? [1_000, 10_000] : [10_000, 100_000, 1_000_000];
/** The reads' fixed rate, offered at the largest growth size only (1M payments; the quick run's largest in CI). */
const READS_OFFERED_PER_S = 1_000;
const CSV_ENTRIES = QUICK ? 20_000 : 1_000_000;
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret-0123456789abcdef0123';
const CARD = { number: '4242424242424242', name: 'Bench Mark', expiration_month: '12', expiration_year: '2030', cvv: '123' };

interface Row {
  engine: string;
  scenario: string;
  unit: string;
  perSecond: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  ofCeiling: string;
  errors: number;
  rssMb: number;
  /** CPU time per request, in microseconds: Purse's processes, and PostgreSQL's (0 when not used). */
  serverCpuUs: number;
  postgresCpuUs: number;
  note: string;
}

const rows: Row[] = [];
const wanted = (scenario: string): boolean => ONLY === undefined || ONLY.includes(scenario);

// ---- processes --------------------------------------------------------------------------------

interface Server {
  url: string;
  child: ChildProcess;
  rssMb(): number;
  peakRssMb(): number;
  stop(): Promise<void>;
}

function procStatusMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  if (pid === undefined) return 0;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function spawnServer(command: string[], env: Record<string, string>): Promise<Server> {
  const nodeArgs = (process.env.PURSE_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, ...command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      reject(new Error(`server did not start: ${out}`));
    }, 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => {
      reject(new Error(`server exited with ${String(code)}: ${out}`));
    });
  });
  child.stdout?.resume();
  return {
    url,
    child,
    rssMb: () => procStatusMb(child.pid, 'VmRSS'),
    peakRssMb: () => procStatusMb(child.pid, 'VmHWM'),
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

interface Database {
  env: Record<string, string>;
  drop(): Promise<void>;
}

async function freshDatabase(engine: 'sqlite' | 'postgres'): Promise<Database> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-bench-'));
  const env: Record<string, string> = { PURSE_DATA_DIR: dataDir };
  const removeDir = (): void => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  if (engine === 'sqlite') {
    return {
      env,
      drop: async () => {
        removeDir();
      },
    };
  }
  const name = `purse_bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  env.DATABASE_URL = url.toString();
  return {
    env,
    drop: async () => {
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      removeDir();
    },
  };
}

const purseEnv = (db: Database): Record<string, string> => ({
  ...db.env,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'warn',
  PURSE_ADMIN_PASSWORD: 'bench-admin-password',
  PURSE_BOOTSTRAP_CLIENT_ID: CLIENT_ID,
  PURSE_BOOTSTRAP_CLIENT_SECRET: CLIENT_SECRET,
});

const startPurse = (db: Database, env: Record<string, string> = {}): Promise<Server> => spawnServer(['dist/main.js', 'serve'], { ...purseEnv(db), ...env });

/** A process's resident memory with its children's (a cluster's workers), in MB. */
function treeRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  return procStatusMb(pid, 'VmRSS') + childrenOf(pid).reduce((sum, child) => sum + procStatusMb(child, 'VmRSS'), 0);
}

// ---- HTTP helpers -------------------------------------------------------------------------------

async function call<T>(url: string, method: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

const adminToken = async (base: string): Promise<string> =>
  (await call<{ access_token: string }>(`${base}/api/auth/token`, 'POST', { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })).access_token;

async function createUsers(base: string, token: string, count: number, label: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push((await call<{ id: number }>(`${base}/v3/users`, 'POST', { username: `${label}-${i}` }, token)).id);
  return ids;
}

// ---- load -----------------------------------------------------------------------------------------

type Requests = NonNullable<autocannon.Options['requests']>;

/** A load's result with the CPU time it cost, per request: Purse's processes and PostgreSQL's. */
type Measured = autocannon.Result & { cpuUsPerRequest: { server: number; postgres: number } };

async function load(server: Server, requests: Requests, seconds = DURATION_S): Promise<Measured> {
  const cpu = cpuMeter(server);
  const result = await autocannon({ url: server.url, connections: CONNECTIONS, duration: seconds, requests });
  return { ...result, cpuUsPerRequest: cpu.perRequest(result.requests.total) };
}

/** CPU time from now on, per request: Purse's processes and PostgreSQL's, in microseconds. */
function cpuMeter(server: Server): { perRequest(requests: number): { server: number; postgres: number } } {
  const before = { server: treeCpuSeconds(server.child.pid), postgres: postgresCpuSeconds() };
  return {
    perRequest: (requests) => {
      const per = (seconds: number): number => Math.round((1e6 * seconds) / Math.max(1, requests));
      return { server: per(treeCpuSeconds(server.child.pid) - before.server), postgres: per(postgresCpuSeconds() - before.postgres) };
    },
  };
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used, from /proc (0 when it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter((p) => p !== '').map(Number);
  } catch {
    return [];
  }
}

/** A server's CPU seconds with its workers' (a cluster). */
function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  return cpuSeconds(pid) + childrenOf(pid).reduce((sum, child) => sum + cpuSeconds(child), 0);
}

/** Every PostgreSQL process's CPU seconds on this machine (0 on a machine without one). */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += cpuSeconds(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

function record(engine: string, scenario: string, result: Measured, requestsPerUnit: number, unit: string, server: Server | null, ceiling: number | null, note = ''): Row {
  const requestsPerSecond = result.requests.average;
  const errors = result.non2xx + result.errors + result.timeouts;
  const row: Row = {
    engine,
    scenario,
    unit,
    perSecond: Math.round(requestsPerSecond / requestsPerUnit),
    requestsPerSecond: Math.round(requestsPerSecond),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ofCeiling: ceiling === null ? '' : `${((100 * requestsPerSecond) / ceiling).toFixed(0)}%`,
    errors,
    rssMb: server?.rssMb() ?? 0,
    serverCpuUs: result.cpuUsPerRequest.server,
    postgresCpuUs: engine === 'postgres' ? result.cpuUsPerRequest.postgres : 0,
    note,
  };
  rows.push(row);
  console.log(formatRow(row));
  return row;
}

/** A fixed-rate run: latencies count from when each request was due (bench/fixed-rate.ts). */
function recordFixedRate(engine: string, scenario: string, result: FixedRateResult & { cpuUsPerRequest: { server: number; postgres: number } }, server: Server): Row {
  const row: Row = {
    engine,
    scenario,
    unit: 'req',
    perSecond: result.achievedPerSecond,
    requestsPerSecond: result.achievedPerSecond,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    ofCeiling: '',
    errors: result.errors,
    rssMb: server.rssMb(),
    serverCpuUs: result.cpuUsPerRequest.server,
    postgresCpuUs: engine === 'postgres' ? result.cpuUsPerRequest.postgres : 0,
    note: `open loop, ${result.sent.toLocaleString('en')} sent; per s = answered; max ${result.maxMs} ms`,
  };
  rows.push(row);
  console.log(formatRow(row));
  return row;
}

const json = { 'content-type': 'application/json' };

/** One connection loops create → commit; the id travels in autocannon's per-connection context. */
function rechargeLoop(provider: string, token: string, params: (context: Record<string, unknown>) => Record<string, unknown>, userIds: number[]): Requests {
  const headers = { ...json, authorization: `Bearer ${token}` };
  let next = 0;
  return [
    {
      method: 'POST',
      path: `/v3/rechargeProviders/${provider}/payments`,
      headers,
      setupRequest: (request, context) => {
        const userId = userIds[next++ % userIds.length];
        return { ...request, body: JSON.stringify({ userId, params: params(context as Record<string, unknown>) }) };
      },
      onResponse: (_status, body, context) => {
        (context as Record<string, unknown>).id = (JSON.parse(body) as { id?: string }).id;
      },
    },
    {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      setupRequest: (request, context) => ({ ...request, path: `/v3/rechargeProviders/${provider}/payments/${String((context as Record<string, unknown>).id)}/commit` }),
    },
  ];
}

/** Charges of 0.01 spread over the people, one request each. */
function chargeLoop(token: string, userIds: number[]): Requests {
  const headers = { ...json, authorization: `Bearer ${token}` };
  let next = 0;
  const body = JSON.stringify({ amount: '0.01' });
  return [{ method: 'POST', headers, body, setupRequest: (request) => ({ ...request, path: `/v3/users/${userIds[next++ % userIds.length] ?? 1}/accounts/credit/charges` }) }];
}

/** One connection loops hold → capture of part of it; the hold id travels in the connection's context. */
function holdCaptureLoop(token: string, userIds: number[]): Requests {
  const headers = { ...json, authorization: `Bearer ${token}` };
  let next = 0;
  return [
    {
      method: 'POST',
      headers,
      body: JSON.stringify({ amount: '1.00' }),
      setupRequest: (request) => ({ ...request, path: `/v3/users/${userIds[next++ % userIds.length] ?? 1}/accounts/credit/holds` }),
      onResponse: (_status, body, context) => {
        (context as Record<string, unknown>).id = (JSON.parse(body) as { id?: number }).id;
      },
    },
    {
      method: 'POST',
      headers,
      body: JSON.stringify({ amount: '0.40' }),
      setupRequest: (request, context) => ({ ...request, path: `/v3/holds/${String((context as Record<string, unknown>).id)}/capture` }),
    },
  ];
}

// ---- scenarios --------------------------------------------------------------------------------------

async function ceilingScenario(): Promise<number> {
  const server = await spawnServer(['bench/ceiling-server.mjs'], { PORT: '0' });
  await load(server, [{ method: 'POST', path: '/echo', headers: json, body: '{"amount":13}' }], 2); // warm-up
  const result = await load(server, [{ method: 'POST', path: '/echo', headers: json, body: '{"amount":13}' }]);
  record('fastify', 'ceiling', result, 1, 'req', server, null, 'bare POST route');
  await server.stop();
  return result.requests.average;
}

async function writeScenarios(engine: 'sqlite' | 'postgres', ceiling: number): Promise<void> {
  const db = await freshDatabase(engine);
  const server = await startPurse(db);
  try {
    const token = await adminToken(server.url);
    const users = await createUsers(server.url, token, CONNECTIONS, 'bench');
    if (wanted('recharge')) {
      await load(server, rechargeLoop('external', token, () => ({ amount: 1 }), users), 2); // warm-up
      const result = await load(server, rechargeLoop('external', token, () => ({ amount: 1 }), users));
      record(engine, 'recharge (external)', result, 2, 'recharges', server, ceiling, 'create → commit');
    }
    if (wanted('voucher')) {
      const quantity = Math.min(100_000, QUICK ? 20_000 : 100_000);
      const batch = await call<{ codes: string[] }>(`${server.url}/v3/vouchers/batches`, 'POST', { quantity, value: 1, validUntil: '2099-12-31' }, token);
      let next = 0;
      const result = await load(server, rechargeLoop('voucher', token, () => ({ code: batch.codes[next++ % batch.codes.length] }), users));
      record(engine, 'recharge (voucher)', result, 2, 'recharges', server, ceiling, next > quantity ? 'codes ran out: later ones 409' : '');
    }
    if (wanted('card')) {
      const result = await load(server, rechargeLoop('card', token, () => ({ amount: 1, card: CARD }), users));
      record(engine, 'recharge (card)', result, 2, 'recharges', server, ceiling, 'authorize → commit');
    }
    if (wanted('charge') || wanted('hold')) {
      for (const userId of users) await call(`${server.url}/v3/users/${userId}/accounts/credit/recharge`, 'POST', { amount: 1_000_000 }, token);
    }
    if (wanted('charge')) {
      const result = await load(server, chargeLoop(token, users));
      record(engine, 'charge', result, 1, 'charges', server, ceiling, '0.01 each, available credit checked');
    }
    if (wanted('hold')) {
      const result = await load(server, holdCaptureLoop(token, users));
      record(engine, 'hold → capture', result, 2, 'captures', server, ceiling, 'hold 1.00, capture 0.40');
    }
    if (wanted('token')) {
      const body = JSON.stringify({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
      const result = await load(server, [{ method: 'POST', path: '/api/auth/token', headers: json, body }]);
      record(engine, 'token', result, 1, 'grants', server, ceiling, 'client_credentials');
    }
  } finally {
    await server.stop();
    await db.drop();
  }
}

/** Worker counts of the scale scenario: what one more process buys on this machine's cores. */
const SCALE_WORKERS = [1, 2, 4];

/**
 * Recharges (create → commit) against `purse serve --workers N` on one PostgreSQL database, the
 * same load for each N: how throughput and p99 follow the process count.
 */
async function scaleScenario(ceiling: number): Promise<void> {
  for (const workers of SCALE_WORKERS) {
    const db = await freshDatabase('postgres');
    const server = await startPurse(db, { PURSE_WORKERS: String(workers) });
    try {
      const token = await adminToken(server.url);
      const users = await createUsers(server.url, token, CONNECTIONS, 'scale');
      await load(server, rechargeLoop('external', token, () => ({ amount: 1 }), users), 2); // warm-up: every worker prepares its statements
      const result = await load(server, rechargeLoop('external', token, () => ({ amount: 1 }), users));
      const allProcesses = { ...server, rssMb: () => treeRssMb(server.child.pid) };
      record('postgres', `scale: recharge, ${workers} worker${workers === 1 ? '' : 's'}`, result, 2, 'recharges', allProcesses, ceiling, `PURSE_WORKERS=${workers}; RSS of all its processes`);
    } finally {
      await server.stop();
      await db.drop();
    }
  }
}

/** Reads as the store grows: the same per-person data, ten and a hundred times more around it. */
async function growthScenarios(engine: 'sqlite' | 'postgres'): Promise<void> {
  const db = await freshDatabase(engine);
  let stored = 0;
  let userIds: number[] = [];
  try {
    for (const size of GROWTH_SIZES) {
      const perUser = 1000;
      const ctx = await createContext({ ...loadConfig({ ...configOf(db), logLevel: 'silent' }) });
      await bootstrap(ctx);
      const added = await seedPayments(ctx, (size - stored) / perUser, perUser, `grow${size}`);
      userIds = [...userIds, ...added];
      await ctx.close();
      stored = size;
      const server = await startPurse(db);
      const token = await adminToken(server.url);
      const headers = { authorization: `Bearer ${token}` };
      let next = 0;
      const pick = (): number => userIds[next++ % userIds.length] ?? 1;
      const list: Requests = [{ method: 'GET', headers, setupRequest: (r) => ({ ...r, path: `/v3/rechargeProviders/external/payments?userId=${pick()}&state=committed&limit=100` }) }];
      const statement: Requests = [{ method: 'GET', headers, setupRequest: (r) => ({ ...r, path: `/v3/users/${pick()}/accounts/credit/statement?limit=100` }) }];
      const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
      if (wanted('list')) record(engine, `list @ ${label} payments`, await load(server, list), 1, 'req', server, null, 'userId + state filter, 100 rows');
      if (wanted('statement')) record(engine, `statement @ ${label} payments`, await load(server, statement), 1, 'req', server, null, '100 entries');
      if (size === GROWTH_SIZES.at(-1)) {
        const offered = `${READS_OFFERED_PER_S.toLocaleString('en')}/s offered`;
        const atRate = async (path: () => string): Promise<FixedRateResult & { cpuUsPerRequest: { server: number; postgres: number } }> => {
          const cpu = cpuMeter(server);
          const result = await fixedRate({ url: server.url, ratePerSecond: READS_OFFERED_PER_S, seconds: DURATION_S, connections: CONNECTIONS, path, headers });
          return { ...result, cpuUsPerRequest: cpu.perRequest(result.sent) };
        };
        const listPath = (): string => `/v3/rechargeProviders/external/payments?userId=${pick()}&state=committed&limit=100`;
        const statementPath = (): string => `/v3/users/${pick()}/accounts/credit/statement?limit=100`;
        if (wanted('list')) recordFixedRate(engine, `list @ ${label} payments, ${offered}`, await atRate(listPath), server);
        if (wanted('statement')) recordFixedRate(engine, `statement @ ${label} payments, ${offered}`, await atRate(statementPath), server);
      }
      await server.stop();
    }
  } finally {
    await db.drop();
  }
}

function configOf(db: Database): Record<string, string> {
  return { dataDir: db.env.PURSE_DATA_DIR ?? '', ...(db.env.DATABASE_URL === undefined ? {} : { databaseUrl: db.env.DATABASE_URL }), bootstrapClientId: CLIENT_ID, bootstrapClientSecret: CLIENT_SECRET, adminPassword: 'bench-admin-password' };
}

/** Units a second offered to SQLite's writer alone: about the write units the recharge scenario runs a second. */
const WRITER_OFFERED_PER_S = 4_000;

/** SQLite's writer without HTTP at a fixed rate: its share of the event loop (bench/sqlite-writer.ts). */
async function writerScenario(): Promise<void> {
  const result = await writerAtRate((file) => new SqliteDb(file), WRITER_OFFERED_PER_S, DURATION_S);
  const row: Row = {
    engine: 'sqlite',
    scenario: `writer alone, ${WRITER_OFFERED_PER_S.toLocaleString('en')} units/s offered`,
    unit: 'units',
    perSecond: result.achievedPerSecond,
    requestsPerSecond: 0,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    ofCeiling: '',
    errors: 0,
    rssMb: 0,
    serverCpuUs: 0,
    postgresCpuUs: 0,
    note: `no HTTP; event loop busy ${result.loopBusyPercent}%; log ${result.walMb} MB at the end; max ${result.maxMs} ms`,
  };
  rows.push(row);
  console.log(formatRow(row));
}

/** A statement of CSV_ENTRIES entries streamed as CSV: the server's peak RSS while it does. */
async function csvScenario(engine: 'sqlite' | 'postgres'): Promise<void> {
  const db = await freshDatabase(engine);
  try {
    const ctx = await createContext(loadConfig({ ...configOf(db), logLevel: 'silent' }));
    await bootstrap(ctx);
    const [userId] = await seedPayments(ctx, 1, CSV_ENTRIES, 'csv');
    await ctx.close();
    const server = await startPurse(db);
    const token = await adminToken(server.url);
    const before = server.rssMb();
    const started = performance.now();
    const res = await fetch(`${server.url}/v3/users/${String(userId)}/accounts/credit/statement`, { headers: { authorization: `Bearer ${token}`, accept: 'text/csv' } });
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
    const seconds = (performance.now() - started) / 1000;
    const row: Row = {
      engine,
      scenario: `statement CSV, ${CSV_ENTRIES.toLocaleString('en')} entries`,
      unit: 'entries',
      perSecond: Math.round(CSV_ENTRIES / seconds),
      requestsPerSecond: 0,
      p50Ms: 0,
      p99Ms: Math.round(seconds * 1000),
      ofCeiling: '',
      errors: res.ok ? 0 : 1,
      rssMb: server.peakRssMb(),
      serverCpuUs: 0,
      postgresCpuUs: 0,
      note: `${(bytes / 1e6).toFixed(0)} MB streamed; RSS ${before} MB before, peak ${server.peakRssMb()} MB (whole run)`,
    };
    rows.push(row);
    console.log(formatRow(row));
    await server.stop();
  } finally {
    await db.drop();
  }
}

// ---- report -------------------------------------------------------------------------------------

const HEADER = '| engine | scenario | per s | requests/s | p50 ms | p99 ms | of ceiling | errors | server RSS MB | server CPU µs/req | postgres CPU µs/req | note |';
const RULE = `|${' --- |'.repeat(HEADER.split('|').length - 2)}`;

function formatRow(r: Row): string {
  const perSecond = `${r.perSecond.toLocaleString('en')} ${r.unit}`;
  return `| ${r.engine} | ${r.scenario} | ${perSecond} | ${r.requestsPerSecond === 0 ? '' : r.requestsPerSecond.toLocaleString('en')} | ${r.p50Ms === 0 && r.requestsPerSecond === 0 ? '' : r.p50Ms} | ${r.p99Ms} | ${r.ofCeiling} | ${r.errors} | ${r.rssMb} | ${r.serverCpuUs === 0 ? '' : r.serverCpuUs} | ${r.postgresCpuUs === 0 ? '' : r.postgresCpuUs} | ${r.note} |`;
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

async function main(): Promise<void> {
  if (!fs.existsSync('dist/main.js')) throw new Error('run `npm run build` first (npm ci does it)');
  console.log(`Purse benchmarks — ${new Date().toISOString()} — ${machine()}`);
  console.log(`${CONNECTIONS} connections, ${DURATION_S} s per scenario${QUICK ? ' (quick)' : ''}\n`);
  console.log(HEADER);
  console.log(RULE);
  const ceiling = await ceilingScenario();
  for (const engine of ENGINES) {
    if (['recharge', 'voucher', 'card', 'charge', 'hold', 'token'].some(wanted)) await writeScenarios(engine, ceiling);
    if (wanted('list') || wanted('statement')) await growthScenarios(engine);
    if (wanted('csv')) await csvScenario(engine);
    if (engine === 'sqlite' && wanted('writer')) await writerScenario();
    if (engine === 'postgres' && wanted('scale')) await scaleScenario(ceiling);
  }
  const table = [HEADER, RULE, ...rows.map(formatRow)].join('\n');
  const file = QUICK ? path.join(os.tmpdir(), 'BENCHMARKS.quick.md') : 'BENCHMARKS.md';
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const notes = previous.includes('<!-- notes -->') ? previous.slice(previous.indexOf('<!-- notes -->')) : '<!-- notes -->\n';
  fs.writeFileSync(file, `# Benchmarks\n\nRun: ${new Date().toISOString()}${QUICK ? ' (quick)' : ''}\n\nMachine: ${machine()}\n\nLoad: autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per scenario, from the same machine; rows \`… ${READS_OFFERED_PER_S.toLocaleString('en')}/s offered\` are instead an open-loop load at that rate (bench/fixed-rate.ts: p50 and p99 from when each request was due, however long it waited for a connection). Purse runs as \`node dist/main.js serve\` with LOG_LEVEL=warn; SQLite is durable (WAL; no answer before the fdatasync of its commit).\n\n${table}\n\n${notes}`);
  console.log(`\nwritten to ${file}`);
}

await main();

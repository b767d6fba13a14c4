// `purse serve --workers N`: one port served by N processes, a killed worker replaced, SQLite refused;
// the key fingerprints both engines keep; the change feed that comes back after its connection drops.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { after, describe, test } from 'node:test';

import pg from 'pg';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ManualClock } from '../../src/clock.js';
import { CHANGES_CHANNEL } from '../../src/commands/pipeline.js';
import { createContext } from '../../src/context.js';
import { LISTENER_APPLICATION_NAME } from '../../src/db/postgres.js';
import { envFor, KNOWN_FIRST_START, purse, serve } from '../helpers/cli.js';
import { createTestDatabase, ENGINES, PG_URL, testConfig, type TestDatabase } from '../helpers/harness.js';

const noPostgres = PG_URL === undefined || PG_URL === '' ? 'PURSE_TEST_DATABASE_URL is not set: more than one worker needs PostgreSQL' : false;

const databases: TestDatabase[] = [];
after(async () => {
  await Promise.all(databases.map((d) => d.drop()));
});
async function freshDatabase(engine: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const database = await createTestDatabase(engine);
  databases.push(database);
  return database;
}

/** The process ids of a process's children: the cluster's workers. */
function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter((line) => line !== '').map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('purse serve --workers', () => {
  test('on SQLite more than one worker is refused, saying why', async () => {
    const database = await freshDatabase('sqlite');
    const refused = purse(['serve', '--port', '0', '--workers', '2'], envFor(database));
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^purse: --workers 2 \(PURSE_WORKERS\) needs PostgreSQL: SQLite's single writer lives in one process/);
    const tooMany = purse(['serve', '--port', '0', '--workers', '65'], envFor(database));
    assert.equal(tooMany.status, 1);
    assert.match(tooMany.stderr, /PURSE_WORKERS: must be between 1 and 64/);
  });

  test('two workers serve one port, a killed worker is replaced, SIGTERM stops them all', { skip: noPostgres }, async () => {
    const database = await freshDatabase('postgres');
    const server = await serve({ ...envFor(database), ...KNOWN_FIRST_START, PURSE_WORKERS: '2' });
    let stderr = '';
    server.child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    assert.match(server.stdout(), /on postgres: 2 workers listening on http:\/\/127\.0\.0\.1:\d+/);
    const workers = childrenOf(server.child.pid);
    assert.equal(workers.length, 2, `workers: ${workers.join(' ')}`);
    for (let i = 0; i < 6; i++) assert.equal((await fetch(`${server.url}/health`)).status, 200);

    const [victim] = workers;
    process.kill(victim ?? 0, 'SIGKILL');
    const replaced = await until('a new worker', () => {
      const now = childrenOf(server.child.pid);
      return now.length === 2 && !now.includes(victim ?? 0) ? now : undefined;
    });
    assert.ok(replaced.every((pid) => pid !== victim));
    assert.match(stderr, new RegExp(`worker ${String(victim)} exited by SIGKILL; starting another in \\d+ ms`));
    // Served all along by the survivor, and by both again once the new one listens.
    for (let i = 0; i < 6; i++) assert.equal((await fetch(`${server.url}/health`)).status, 200);

    assert.equal(await server.stop('SIGTERM'), 0);
    assert.deepEqual(childrenOf(server.child.pid), []);
  });
});

for (const engine of ENGINES) {
  test(`[${engine}] a process whose keys differ from the first start's refuses to start, naming the key`, async () => {
    const database = await freshDatabase(engine);
    const key = (): string => crypto.randomBytes(32).toString('base64url');
    const first = { tokenKey: key(), hashKey: key() };
    const ctx = await createContext(testConfig(database, first));
    await ctx.close();
    const again = await createContext(testConfig(database, first));
    await again.close();
    await assert.rejects(createContext(testConfig(database, { ...first, tokenKey: key() })), /the access-token signing key \(PURSE_TOKEN_KEY\) differs from the one this database was first started with on \d{4}-/);
    await assert.rejects(createContext(testConfig(database, { ...first, hashKey: key() })), /the keyed-hash key \(PURSE_HASH_KEY\) differs/);
  });
}

test('[postgres] the change feed listens again after its connection drops, and forgets everything when it does', { skip: noPostgres }, async () => {
  const database = await freshDatabase('postgres');
  const writer = await createContext(testConfig(database));
  // A clock that never moves: the cache's own lifetime never ends, so only a notification clears it.
  const reader = await createContext(testConfig(database), new ManualClock());
  let gaps = 0;
  const feed = reader.db.listen(
    CHANGES_CHANNEL,
    (payload) => {
      reader.pipeline.changeNotified(payload);
    },
    () => {
      gaps++;
      reader.pipeline.forgetEverything();
    },
  );
  try {
    await until('the first LISTEN', () => (gaps > 0 ? true : undefined));
    const enabled = async (): Promise<boolean> => reader.recharge.isEnabled('external');
    const flipTo = async (on: boolean): Promise<void> => {
      await writer.pipeline.perform('provider.setEnabled', { reference: 'external', enabled: on }, CLI_ACTOR);
    };
    assert.equal(await enabled(), true);
    await flipTo(false);
    await until('the reader to hear the change', async () => ((await enabled()) ? undefined : true), 1000);

    // The listening connection is cut: a gap at once, another when it listens again, and then the
    // feed works as before.
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const before = gaps;
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2', [LISTENER_APPLICATION_NAME, new URL(database.target.engine === 'postgres' ? database.target.url : '').pathname.slice(1)]);
    await admin.end();
    await until('listening again', () => (gaps >= before + 2 ? true : undefined));
    assert.equal(await enabled(), false);
    await flipTo(true);
    await until('the reader to hear the change after the drop', async () => ((await enabled()) ? true : undefined), 1000);
  } finally {
    await feed.stop();
    await reader.close();
    await writer.close();
  }
});

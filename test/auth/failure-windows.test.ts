// Failure windows shared through PostgreSQL: two Purse contexts on one database (two processes, as
// far as the limiter can tell) count together, a window that ran out starts again, and the sweeper's
// prune deletes what ran out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ManualClock } from '../../src/clock.js';
import { createContext, type Context } from '../../src/context.js';
import type { WriteUnit } from '../../src/db/index.js';
import { AppError } from '../../src/errors.js';
import { createTestDatabase, PG_URL, testConfig, type TestDatabase } from '../helpers/harness.js';

const skip = PG_URL === undefined || PG_URL === '' ? 'PURSE_TEST_DATABASE_URL is not set: failure windows are shared on PostgreSQL only' : false;

let database: TestDatabase;
let one: Context;
let two: Context;
const clock = new ManualClock();

before(async () => {
  if (skip !== false) return;
  database = await createTestDatabase('postgres');
  one = await createContext(testConfig(database, { tokenFailuresPerMinute: 3 }), clock);
  two = await createContext(testConfig(database, { tokenFailuresPerMinute: 3 }), clock);
});
after(async () => {
  if (skip !== false) return;
  await one.close();
  await two.close();
  await database.drop();
});

const fail = (ctx: Context, key: string): Promise<string> =>
  ctx.tokenFailures.attempt([key], 'too many', () => Promise.reject(new Error('wrong')), () => [key]).catch((error: unknown) => (error instanceof AppError ? `${error.kind} ${error.headers['retry-after'] ?? ''}` : 'failed'));
const succeed = (ctx: Context, key: string): Promise<string> => ctx.tokenFailures.attempt([key], 'too many', () => Promise.resolve('ok'), () => []).catch((error: unknown) => (error instanceof AppError ? error.kind : 'failed'));

test('two processes share one window: three failures over both, then both refuse until it runs out', { skip }, async () => {
  assert.deepEqual([await fail(one, 'ip:1'), await fail(two, 'ip:1'), await fail(one, 'ip:1')], ['failed', 'failed', 'failed']);
  assert.equal(await succeed(two, 'ip:1'), 'rateLimited');
  assert.equal(await fail(one, 'ip:1'), 'rateLimited 60');
  assert.equal(await succeed(one, 'ip:2'), 'ok', 'another key is not touched');
  // A success gives its place back: it never counts.
  for (let i = 0; i < 5; i++) assert.equal(await succeed(two, 'ip:2'), 'ok');
  clock.advance(60_000);
  assert.equal(await succeed(two, 'ip:1'), 'ok', 'a window that ran out starts again');
});

test('the sweep deletes the windows that ran out, and only those', { skip }, async () => {
  await fail(one, 'ip:3');
  clock.advance(30_000);
  await fail(one, 'ip:4');
  clock.advance(31_000);
  const rows = async (): Promise<string[]> => (await one.db.read((q) => q.all<{ key: string }>("SELECT key FROM failure_windows WHERE scope = 'token' ORDER BY key"))).map((r) => r.key);
  assert.ok((await rows()).includes('ip:3'));
  await two.tokenFailures.prune();
  assert.deepEqual(await rows(), ['ip:4']);
});

test('a refusal is a statement that takes no place, not a failed one: an anonymous caller cannot fill the server log', { skip }, async () => {
  const db = one.db;
  const write = db.write.bind(db);
  let failedWrites = 0;
  db.write = <T>(unit: WriteUnit<T>): Promise<T> =>
    write(unit).catch((error: unknown) => {
      failedWrites += 1;
      throw error;
    });
  try {
    for (let i = 0; i < 3; i++) await fail(one, 'ip:5');
    const pendingOf = async (key: string): Promise<number | undefined> => (await db.read((q) => q.get<{ pending: number }>("SELECT pending FROM failure_windows WHERE scope = 'token' AND key = ?", [key])))?.pending;
    for (let i = 0; i < 20; i++) assert.equal(await fail(one, 'ip:5'), 'rateLimited 60');
    // One key full stops the attempt's other keys too: no place is taken on them.
    assert.equal(await one.tokenFailures.attempt(['ip:5', 'ip:6'], 'too many', () => Promise.resolve('ok'), () => []).catch((error: unknown) => (error instanceof AppError ? error.kind : 'failed')), 'rateLimited');
    assert.equal(await pendingOf('ip:5'), 0);
    assert.equal(await pendingOf('ip:6'), undefined);
    assert.equal(failedWrites, 0, 'every refusal committed a statement that changed nothing');
  } finally {
    db.write = write;
  }
});

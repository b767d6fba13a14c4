// SQLite's writer on a thread of its own (sqlite-thread.ts): what crosses between the threads keeps
// what callers tell errors apart by, reads wait for what they saw to be on disk, and a thread that
// fails to start or stops fails its callers instead of leaving them waiting.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CommitHorizon } from '../../src/db/commit-horizon.js';
import { failedRequirement, openDb, requireThat, uniqueViolation, type Db } from '../../src/db/index.js';
import { migrate } from '../../src/db/migrations.js';
import { SqliteThreadDb } from '../../src/db/sqlite-thread.js';
import { TEST_WRITER_ENTRY, createTestDatabase, type TestDatabase } from '../helpers/harness.js';

describe('the commit horizon', () => {
  test('a reader waits until every batch begun before it has settled, and fails once the log is lost', async () => {
    const writer = new CommitHorizon();
    const reader = new CommitHorizon(writer.share());
    await reader.reached();
    const first = writer.committing();
    const second = writer.committing();
    let reached = false;
    const waiting = reader.reached().then(() => {
      reached = true;
    });
    writer.settled(first);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(reached, false, 'the second batch has not settled');
    writer.settled(second);
    await waiting;
    writer.settled(writer.committing(), true);
    await assert.rejects(reader.reached(), /could not be synced/);
  });

  test('a reader waiting for a batch the writer will never settle (its thread is gone) fails instead of waiting for ever', async () => {
    const writer = new CommitHorizon();
    const reader = new CommitHorizon(writer.share());
    writer.committing();
    const waiting = reader.reached();
    await new Promise((resolve) => setTimeout(resolve, 20));
    reader.abandon();
    await assert.rejects(waiting, /writer thread stopped/);
    await assert.rejects(reader.reached(), /writer thread stopped/);
  });
});

describe('SqliteThreadDb', () => {
  let database: TestDatabase;
  let db: SqliteThreadDb;

  before(async () => {
    database = await createTestDatabase('sqlite');
    if (database.target.engine !== 'sqlite') throw new Error('sqlite only');
    db = new SqliteThreadDb(database.target.file, TEST_WRITER_ENTRY, {});
    await migrate(db, 'EUR');
    await db.write((tx) => tx.run('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)'));
  });
  after(async () => {
    await db.close();
    await database.drop();
  });

  test('a call goes to the thread as data and its answer comes back', async () => {
    assert.deepEqual(await db.call({ name: 'payment.commit', input: { id: 7 } }), { name: 'payment.commit', input: { id: 7 } });
  });

  test('a unit’s own error comes back as the very error it threw; a statement’s keeps its constraint and its requirement', async () => {
    const own = new Error('the unit changes its mind');
    await assert.rejects(
      db.write(async (tx) => {
        await tx.run('INSERT INTO items (id, name) VALUES (1, ?)', ['a']);
        throw own;
      }),
      (error) => error === own,
    );
    await db.write((tx) => tx.run('INSERT INTO items (id, name) VALUES (2, ?)', ['b']));
    const duplicate = await db.write((tx) => tx.run('INSERT INTO items (id, name) VALUES (3, ?)', ['b'])).catch((error: unknown) => error);
    assert.equal(uniqueViolation(duplicate), 'unknown', 'a unique violation, on a table of no known constraint');
    const refused = await db.write((tx) => tx.run(`SELECT ${requireThat('1 = 0', 'actor changed')}`)).catch((error: unknown) => error);
    assert.equal(failedRequirement(refused), 'actor changed');
    const names = await db.read((q) => q.all<{ name: string }>('SELECT name FROM items ORDER BY id'));
    assert.deepEqual(names.map((r) => r.name), ['b'], 'the failed units kept nothing');
  });

  test('what cannot be copied to the thread is refused, and leaves nothing waiting', { timeout: 30_000 }, async () => {
    await assert.rejects(db.call({ notData: () => 1 }), { name: 'DataCloneError' });
    const notData = (() => 1) as unknown as string;
    await assert.rejects(db.write((tx) => tx.run('SELECT ?', [notData])), { name: 'DataCloneError' });
    await assert.rejects(
      db.write(async (tx) => {
        tx.later('INSERT INTO items (id, name) VALUES (7, ?)', [notData]);
        return Promise.resolve();
      }),
      /parameter 1 of a queued statement is a function/,
    );
    await db.write((tx) => tx.run('INSERT INTO items (id, name) VALUES (6, ?)', ['after the refusals']));
  });

  test('a statement’s error caught by its unit leaves the unit going, as on the loop', async () => {
    const kept = await db.write(async (tx) => {
      const failed = await tx.run('INSERT INTO items (id, name) VALUES (4, ?)', ['b']).then(() => false, () => true);
      await tx.run('INSERT INTO items (id, name) VALUES (5, ?)', ['e']);
      return failed;
    });
    assert.equal(kept, true);
    assert.ok(await db.read((q) => q.get("SELECT 1 FROM items WHERE name = 'e'")));
  });
});

describe('closing with the writer on a thread', () => {
  test('waits for what was asked for just before it: every write is kept and acknowledged', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase('sqlite');
    if (database.target.engine !== 'sqlite') throw new Error('sqlite only');
    const db = new SqliteThreadDb(database.target.file, TEST_WRITER_ENTRY, {});
    await db.write((tx) => tx.run('CREATE TABLE items (id INTEGER PRIMARY KEY)'));
    const writes = Array.from({ length: 20 }, (_, i) => db.write((tx) => tx.run('INSERT INTO items (id) VALUES (?)', [i])));
    const closed = db.close();
    assert.deepEqual((await Promise.allSettled(writes)).map((r) => r.status), Array.from({ length: 20 }, () => 'fulfilled'));
    await closed;
    await db.close();
    await assert.rejects(db.write((tx) => tx.run('SELECT 1')), /closed/);
    const again = openDb(database.target, 1);
    assert.equal((await again.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM items')))?.n, 20);
    await again.close();
    await database.drop();
  });
});

describe('a writer thread that fails', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('sqlite');
  });
  after(async () => {
    await database.drop();
  });

  const open = (entry: string): Db => {
    if (database.target.engine !== 'sqlite') throw new Error('sqlite only');
    return new SqliteThreadDb(database.target.file, new URL(entry, TEST_WRITER_ENTRY), {});
  };

  test('to start: every write and read hears why, and closing still ends', async () => {
    const db = open('./writer-thread-broken.ts');
    await assert.rejects(db.write((tx) => tx.run('SELECT 1')), /does not start/);
    await assert.rejects(db.read((q) => q.get('SELECT 1')), /does not start/);
    await db.close();
  });

  test('later: the write waiting on it, its unit’s next statement, every write and read after it fail; none hangs', { timeout: 30_000 }, async () => {
    const db = open('./writer-thread-dies.ts');
    let next: Promise<unknown> | undefined;
    await assert.rejects(
      db.write(async (tx) => {
        next = new Promise((resolve) => setTimeout(resolve, 200)).then(() => tx.get('SELECT 1'));
        await tx.run('SELECT 1');
      }),
      /writer thread stopped/,
    );
    await assert.rejects(next ?? Promise.resolve(), /writer thread stopped/);
    await assert.rejects(db.write((tx) => tx.run('SELECT 1')), /writer thread stopped/);
    await assert.rejects(db.read((q) => q.get('SELECT 1')), /writer thread stopped/);
    await db.close();
  });
});

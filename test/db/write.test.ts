// The write-unit runner: group commit on SQLite, a transaction per unit on PostgreSQL, migrations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import Database from 'better-sqlite3';
import pg from 'pg';

import { openDb, type Db } from '../../src/db/index.js';
import { migrate, MIGRATIONS } from '../../src/db/migrations.js';
import { POSTGRES_REQUIRE_FUNCTION } from '../../src/db/requirements.js';
import { DB_VARIANTS, PG_URL, createTestDatabase, openTestDb, type TestDatabase } from '../helpers/harness.js';

for (const variant of DB_VARIANTS) {
  const engine = variant.engine;
  describe(`db.write [${variant.name}]`, () => {
    let database: TestDatabase;
    let db: Db;

    before(async () => {
      database = await createTestDatabase(engine);
      db = openTestDb(variant, database);
      await db.write(async (tx) => {
        await tx.run('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)');
      });
    });
    after(async () => {
      await db.close();
      await database.drop();
    });

    const names = () => db.read(async (q) => (await q.all<{ name: string }>('SELECT name FROM items ORDER BY id')).map((r) => r.name));

    test('units queued together each succeed or fail alone; a throwing unit undoes only itself', async () => {
      await db.write((tx) => tx.run('INSERT INTO items (id, name) VALUES (0, ?)', ['z']));
      const results = await Promise.allSettled([
        db.write((tx) => tx.run('INSERT INTO items (id, name) VALUES (1, ?)', ['a'])),
        db.write(async (tx) => {
          await tx.run('INSERT INTO items (id, name) VALUES (2, ?)', ['b']);
          throw new Error('unit b changes its mind');
        }),
        db.write((tx) => tx.run('INSERT INTO items (id, name) VALUES (3, ?)', ['z'])), // unique violation
        db.write((tx) => tx.run('INSERT INTO items (id, name) VALUES (4, ?)', ['d'])),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      assert.deepEqual(await names(), ['z', 'a', 'd']);
    });

    test('a unit that throws at once, before any promise, fails its caller like one that rejects', async () => {
      const own = new Error('thrown at once');
      await assert.rejects(
        db.write(() => {
          throw own;
        }),
        (error) => error === own,
      );
      assert.deepEqual(await db.write((tx) => tx.get<{ one: number }>('SELECT 1 AS one')), { one: 1 });
    });

    test('a unit sees its own writes, and its value comes back to the caller', async () => {
      const count = await db.write(async (tx) => {
        await tx.run('INSERT INTO items (id, name) VALUES (5, ?)', ['e']);
        return (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM items'))?.n;
      });
      assert.equal(Number(count), 4);
    });

    test('finish: the last statement and the commit; when that statement fails or cannot be sent, nothing of the unit is kept', async () => {
      const row = await db.write(async (tx) => {
        await tx.run('INSERT INTO items (id, name) VALUES (10, ?)', ['f1']);
        tx.later('INSERT INTO items (id, name) VALUES (11, ?)', ['f2']);
        return (await tx.finish({ sql: 'SELECT name FROM items WHERE id = ?', params: [10] })).row;
      });
      assert.equal(row?.name, 'f1', 'the read answers, and sees the statements before it');
      const failing = db.write(async (tx) => {
        await tx.run('INSERT INTO items (id, name) VALUES (12, ?)', ['f3']);
        tx.later('INSERT INTO items (id, name) VALUES (13, ?)', ['f1']); // unique violation
        await tx.finish({ sql: 'SELECT 1 AS one', params: [] });
      });
      await assert.rejects(failing);
      const unsendable = db.write(async (tx) => {
        await tx.run('INSERT INTO items (id, name) VALUES (14, ?)', ['f4']);
        await tx.finish({ sql: 'SELECT ? AS text', params: ['a\u0000b'] });
      });
      // PostgreSQL refuses the NUL before sending anything; SQLite stores it (a unit's own choice).
      if (engine === 'postgres') await assert.rejects(unsendable, /NUL/);
      else await unsendable;
      const kept = await names();
      assert.ok(kept.includes('f1') && kept.includes('f2'));
      assert.ok(!kept.includes('f3'), 'a failed last statement undoes the unit');
      assert.equal(kept.includes('f4'), engine === 'sqlite', 'COMMIT never leaves without the statement before it');
    });

    test('laterOne: a queued write that changes no row fails its unit with its own error, in a finish or a flush; nothing of the unit is kept', async () => {
      // purse_require comes with the migrations, which this database has not had.
      if (engine === 'postgres') await db.write((tx) => tx.run(POSTGRES_REQUIRE_FUNCTION));
      await db.write((tx) => tx.run('INSERT INTO items (id, name) VALUES (20, ?)', ['g1']));
      const gone = new Error('no such item');
      const changed = await db.write(async (tx) => {
        tx.laterOne('UPDATE items SET name = ? WHERE id = ?', ['g2', 20], gone);
        return (await tx.finish({ sql: 'SELECT 1 AS one', params: [] })).changes;
      });
      assert.deepEqual(changed, [1]);
      const inFinish = db.write(async (tx) => {
        await tx.run('INSERT INTO items (id, name) VALUES (21, ?)', ['g3']);
        tx.later('UPDATE items SET name = ? WHERE id = ?', ['g4', 20]);
        tx.laterOne('UPDATE items SET name = ? WHERE id = ?', ['g5', 21], new Error('changes one row: not this error'));
        tx.laterOne('UPDATE items SET name = ? WHERE id = ?', ['never', 999], gone);
        await tx.finish({ sql: 'SELECT 1 AS one', params: [] });
      });
      await assert.rejects(inFinish, (error) => error === gone);
      const other = new Error('nothing to delete');
      const inFlush = db.write(async (tx) => {
        tx.laterOne('DELETE FROM items WHERE id = ?', [999], other);
        tx.later('INSERT INTO items (id, name) VALUES (22, ?)', ['g6']);
        await tx.flush();
        return 'not reached';
      });
      await assert.rejects(inFlush, (error) => error === other);
      const kept = await names();
      assert.ok(kept.includes('g2'), 'a write that changed its one row is kept');
      for (const name of ['g3', 'g4', 'g5', 'g6']) assert.ok(!kept.includes(name), `${name}: a failed unit keeps nothing`);
    });

    test('migrations apply once; running them again changes nothing', async () => {
      const first = await migrate(db, 'EUR');
      assert.deepEqual(first, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      assert.deepEqual(await migrate(db, 'EUR'), []);
    });
  });
}

for (const variant of DB_VARIANTS.filter((v) => v.engine === 'sqlite')) describe(`SQLite group commit [${variant.name}]`, () => {
  let database: TestDatabase;
  let db: Db;

  before(async () => {
    database = await createTestDatabase('sqlite');
    db = openTestDb(variant, database, 1);
    await db.write(async (tx) => {
      await tx.run('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
      // Deferred: checked only at COMMIT, so a unit can make the whole batch's COMMIT fail.
      await tx.run('CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
      await tx.run('CREATE TABLE log (id INTEGER PRIMARY KEY, text TEXT)');
    });
  });
  after(async () => {
    await db.close();
    await database.drop();
  });

  // Which units share a batch is decided by when the writer hears of them: on the loop, those queued
  // in one tick; on a thread, those whose messages arrived before it woke, which a test cannot fix.
  const sameBatch = { skip: variant.writerThread === true ? 'a thread’s batches are not a test’s to choose' : false };

  test('no caller is acknowledged before the COMMIT of its batch', sameBatch, async () => {
    const events: string[] = [];
    const first = db.write(async (tx) => {
      await tx.run('INSERT INTO log (text) VALUES (?)', ['first']);
      events.push('first ran');
    });
    const second = db.write(async (tx) => {
      await tx.run('INSERT INTO log (text) VALUES (?)', ['second']);
      events.push('second ran');
    });
    await Promise.all([first.then(() => events.push('first acknowledged')), second.then(() => events.push('second acknowledged'))]);
    assert.deepEqual(events, ['first ran', 'second ran', 'first acknowledged', 'second acknowledged'], 'both units ran in one batch before either was acknowledged');
    // Durable and visible to an independent connection the moment the promise resolved.
    const outside = new Database(database.target.engine === 'sqlite' ? database.target.file : '', { readonly: true });
    const rows = outside.prepare('SELECT text FROM log ORDER BY id').all() as { text: string }[];
    outside.close();
    assert.deepEqual(rows.map((r) => r.text), ['first', 'second']);
  });

  test('a batch whose COMMIT fails fails every caller in it, and keeps none of their writes', sameBatch, async () => {
    const results = await Promise.allSettled([
      db.write((tx) => tx.run('INSERT INTO log (text) VALUES (?)', ['innocent bystander'])),
      db.write((tx) => tx.run('INSERT INTO child (id, parent_id) VALUES (1, 999)')), // no parent 999: fails at COMMIT
    ]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    const rows = await db.read((q) => q.all<{ text: string }>("SELECT text FROM log WHERE text = 'innocent bystander'"));
    assert.equal(rows.length, 0);
    // The writer recovers: the next batch commits.
    await db.write((tx) => tx.run('INSERT INTO log (text) VALUES (?)', ['after']));
    assert.equal((await db.read((q) => q.all("SELECT text FROM log WHERE text = 'after'"))).length, 1);
  });

  test('a unit whose COMMIT fails hears so and keeps nothing; the writer goes on', async () => {
    await assert.rejects(db.write((tx) => tx.run('INSERT INTO child (id, parent_id) VALUES (2, 998)')), /FOREIGN KEY/);
    assert.equal((await db.read((q) => q.all('SELECT id FROM child WHERE id = 2'))).length, 0);
    await db.write((tx) => tx.run('INSERT INTO log (text) VALUES (?)', ['after a failed COMMIT']));
    assert.equal((await db.read((q) => q.all("SELECT text FROM log WHERE text = 'after a failed COMMIT'"))).length, 1);
  });

  test('many concurrent units are batched and every one is acknowledged exactly once', async () => {
    const n = 1000;
    const values = await Promise.all(Array.from({ length: n }, (_, i) => db.write(async (tx) => {
      await tx.run('INSERT INTO log (text) VALUES (?)', [`bulk ${i}`]);
      return i;
    })));
    assert.deepEqual(values, Array.from({ length: n }, (_, i) => i));
    const count = await db.read((q) => q.get<{ n: number }>("SELECT COUNT(*) AS n FROM log WHERE text LIKE 'bulk %'"));
    assert.equal(count?.n, n);
  });
});

describe('a COMMIT sent behind the last statement [postgres]', { skip: PG_URL === undefined || PG_URL === '' }, () => {
  let database: TestDatabase;
  let db: Db;
  let impatient: Db;

  before(async () => {
    database = await createTestDatabase('postgres');
    db = openDb(database.target, 2);
    impatient = openDb(database.target, 2, 500);
    await db.write((tx) => tx.run("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO items (id, name) VALUES (100, 'locked')"));
  });
  after(async () => {
    await db.close();
    await impatient.close();
    await database.drop();
  });

  test('a last statement kept waiting is answered as it ended: the client does not give up before the server', async () => {
    if (database.target.engine !== 'postgres') throw new Error('a PostgreSQL test');
    const holder = new pg.Client({ connectionString: database.target.url });
    await holder.connect();
    await holder.query("BEGIN; SELECT 1 FROM items WHERE id = 100 FOR UPDATE");
    const release = setTimeout(() => void holder.query('COMMIT'), 800);
    const outcome = await impatient
      .write(async (tx) => {
        // Stands for the server's statement_timeout firing a little after the client's own timer
        // would have (the client's starts when the query is asked for, the server's when it arrives).
        await tx.run('SET LOCAL statement_timeout = 0');
        await tx.finish({ sql: "UPDATE items SET name = 'changed' WHERE id = 100 RETURNING id", params: [] });
      })
      .then(
        () => 'ok',
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    clearTimeout(release);
    await holder.end();
    const name = await db.read(async (q) => (await q.get<{ name: string }>('SELECT name FROM items WHERE id = 100'))?.name);
    assert.equal(name === 'changed', outcome === 'ok', `answered "${outcome}", committed: ${String(name === 'changed')}`);
  });
});

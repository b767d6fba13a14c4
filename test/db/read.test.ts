// What the db layer promises beyond writes: a read is one snapshot however many statements it runs,
// unique violations are named by constraint on both engines, and `?` inside SQL text is left alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { openDb, uniqueViolation, type Db } from '../../src/db/index.js';
import { migrate } from '../../src/db/migrations.js';
import { pageWithCount } from '../../src/db/page.js';
import { toPgPlaceholders } from '../../src/db/postgres.js';
import { ENGINES, createTestDatabase, type TestDatabase } from '../helpers/harness.js';

describe('PostgreSQL placeholders', () => {
  test('a ? is a placeholder in SQL and text inside literals, quoted names and comments', () => {
    assert.equal(toPgPlaceholders('SELECT ? AS a, ? AS b'), 'SELECT $1 AS a, $2 AS b');
    assert.equal(toPgPlaceholders("SELECT 'why?' AS q, ? AS a WHERE x = 'it''s ?' AND y = ?"), "SELECT 'why?' AS q, $1 AS a WHERE x = 'it''s ?' AND y = $2");
    assert.equal(toPgPlaceholders('SELECT "odd?name", ? -- really?\nFROM t /* what? */ WHERE z = ?'), 'SELECT "odd?name", $1 -- really?\nFROM t /* what? */ WHERE z = $2');
  });
});

for (const engine of ENGINES) {
  describe(`db.read and constraints [${engine}]`, () => {
    let database: TestDatabase;
    let db: Db;

    before(async () => {
      database = await createTestDatabase(engine);
      db = openDb(database.target, 4);
      await migrate(db, 'EUR');
      await db.write((tx) => tx.run('CREATE TABLE counted (id INTEGER PRIMARY KEY)'));
    });
    after(async () => {
      await db.close();
      await database.drop();
    });

    test('a read sees one state: a write committed between its statements is not half-seen', async () => {
      await db.write((tx) => tx.run('INSERT INTO counted (id) VALUES (1)'));
      const counts = await db.read(async (q) => {
        const first = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM counted');
        await db.write((tx) => tx.run('INSERT INTO counted (id) VALUES (2)'));
        const second = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM counted');
        return [first?.n, second?.n];
      });
      assert.deepEqual(counts, [1, 1]);
      assert.equal((await db.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM counted')))?.n, 2, 'the next read sees the write');
    });

    test('many reads at once, each in its own snapshot, all answered', async () => {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => db.read(async (q) => {
        await new Promise((resolve) => setTimeout(resolve, i % 3));
        return (await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM counted'))?.n;
      })));
      assert.ok(answers.every((n) => n === 2));
    });

    test('the read handle has no run', async () => {
      await db.read(async (q) => {
        assert.equal('run' in q, false);
      });
    });

    test('selectValues: rows as arrays of values in column order; pageWithCount reads a page with the count of all', async () => {
      assert.deepEqual(await db.selectValues('SELECT id, id * 10 AS tens FROM counted ORDER BY id'), [[1, 10], [2, 20]]);
      const count = { sql: 'SELECT COUNT(*) FROM counted WHERE id >= ?', params: [1] };
      const page = (offset: number): Promise<{ rows: string[]; count: number } | undefined> =>
        pageWithCount(db, { sql: 'SELECT id, id * 10 FROM counted WHERE id >= ? ORDER BY id LIMIT ? OFFSET ?', params: [1, 1, offset] }, count, (v, at) => `${String(v[at])}:${String(v[at + 1])}`);
      assert.deepEqual(await page(0), { rows: ['1:10'], count: 2 });
      assert.deepEqual(await page(1), { rows: ['2:20'], count: 2 });
      assert.equal(await page(2), undefined, 'an empty page carries no count');
    });

    test('queued writes past one statement’s parameter limit are flushed in groups, none lost', async () => {
      await db.write((tx) => tx.run('CREATE TABLE wide (id INTEGER PRIMARY KEY, v BIGINT NOT NULL)'));
      const changes = await db.write(async (tx) => {
        // 150 statements of 300 rows, 2 parameters each: 90,000 parameters in all.
        for (let s = 0; s < 150; s++) {
          const rows = Array.from({ length: 300 }, (_, r) => [s * 300 + r, r]);
          tx.later(`INSERT INTO wide (id, v) VALUES ${rows.map(() => '(?, ?)').join(', ')}`, rows.flat());
        }
        return (await tx.flush()).changes;
      });
      assert.equal(changes.length, 150);
      assert.ok(changes.every((n) => n === 300));
      assert.equal((await db.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM wide')))?.n, 45_000);
    });

    test('a unique violation is named by its constraint on either engine', async () => {
      const insertUser = (name: string) => db.write((tx) => tx.run("INSERT INTO users (username, username_key, created_at_ms, updated_at_ms) VALUES (?, ?, 0, 0)", [name, name]));
      await insertUser('same');
      const error: unknown = await insertUser('same').then(() => undefined, (e: unknown) => e);
      assert.equal(uniqueViolation(error), 'users_username_key_key');
      const pk: unknown = await db.write((tx) => tx.run("INSERT INTO singletons (name, created_at_ms) VALUES ('x', 0), ('x', 0)")).then(() => undefined, (e: unknown) => e);
      assert.equal(uniqueViolation(pk), 'singletons_pkey');
      assert.equal(uniqueViolation(new Error('UNIQUE constraint failed: users.username_key')), undefined, 'a message alone names nothing');
    });
  });
}

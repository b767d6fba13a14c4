// SQLite's log, off the event loop: its fsync on the thread pool (wal-sync.ts), its checkpoints on a
// thread of their own (checkpointer.ts), and what callers and readers may see before either is done.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { Checkpointer } from '../../src/db/checkpointer.js';
import { SqliteDb } from '../../src/db/sqlite.js';
import { WalSync } from '../../src/db/wal-sync.js';

describe('SQLite log, off the event loop', () => {
  let dir: string;
  let file: string;
  let db: SqliteDb;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-wal-'));
    file = path.join(dir, 'purse.db');
    db = new SqliteDb(file);
    await db.write((tx) => tx.run('CREATE TABLE log (id INTEGER PRIMARY KEY, text TEXT NOT NULL)'));
  });
  after(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a read that sees a commit answers only after its writer was acknowledged (the log is on disk)', async () => {
    const events: string[] = [];
    const outside = new Database(file, { readonly: true });
    const visible = outside.prepare("SELECT COUNT(*) AS n FROM log WHERE text = 'seen early'");
    const written = db.write((tx) => tx.run("INSERT INTO log (text) VALUES ('seen early')")).then(() => events.push('writer acknowledged'));
    // The moment the COMMIT is visible, before its fsync can have come back from the thread pool.
    while ((visible.get() as { n: number }).n === 0) await new Promise((resolve) => setImmediate(resolve));
    outside.close();
    const read = db.read((q) => q.get<{ n: number }>("SELECT COUNT(*) AS n FROM log WHERE text = 'seen early'")).then((row) => events.push(`read answered ${row?.n}`));
    const refused = db
      .read(async (q) => {
        const row = await q.get<{ n: number }>("SELECT COUNT(*) AS n FROM log WHERE text = 'seen early'");
        throw new Error(`refused on ${row?.n}`);
      })
      .catch((error: unknown) => events.push(`read refused: ${(error as Error).message}`));
    const values = db.selectValues("SELECT COUNT(*) FROM log WHERE text = 'seen early'").then((rows) => events.push(`values answered ${String(rows[0]?.[0])}`));
    await Promise.all([written, read, refused, values]);
    // The reads answer in any order among themselves, but all after the writer heard back.
    assert.equal(events[0], 'writer acknowledged');
    assert.deepEqual(events.slice(1).sort(), ['read answered 1', 'read refused: refused on 1', 'values answered 1']);
  });

  test('the log starts over while writes go on: checkpoints keep up with them', async () => {
    const blob = 'x'.repeat(64 * 1024);
    let writtenBytes = 0;
    const untilMs = Date.now() + 1_500;
    const writer = async (): Promise<void> => {
      while (Date.now() < untilMs) {
        await db.write((tx) => tx.run('INSERT INTO log (text) VALUES (?)', [blob]));
        writtenBytes += blob.length;
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    const walBytes = fs.statSync(`${file}-wal`).size;
    assert.ok(writtenBytes > 40 * 1024 * 1024, `wrote ${writtenBytes} bytes: too few to tell`);
    // Without the rest copied between batches, the log would hold every byte written.
    assert.ok(walBytes < writtenBytes / 2, `the log holds ${walBytes} bytes of ${writtenBytes} written`);
    const rows = await db.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM log WHERE length(text) = ?', [blob.length]));
    assert.equal(rows?.n, writtenBytes / blob.length);
  });
});

describe('SQLite log, when the disk fails', () => {
  test('a failed fsync fails its callers and every one after it: a later fsync that succeeds proves nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-wal-'));
    const sync = new WalSync(path.join(dir, 'no-such-log'));
    const codeOf = (error: unknown): unknown => (error as NodeJS.ErrnoException).code;
    const first = await sync.durable().then(() => 'synced', codeOf);
    const second = await sync.durable().then(() => 'synced', codeOf);
    assert.deepEqual([first, second], ['ENOENT', 'ENOENT']);
    assert.equal((sync.failure as NodeJS.ErrnoException).code, 'ENOENT');
    await sync.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('callers asking while an fsync runs share the next one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-wal-'));
    const log = path.join(dir, 'log');
    fs.writeFileSync(log, 'frames');
    const sync = new WalSync(log);
    const running = sync.durable();
    const [a, b] = [sync.durable(), sync.durable()];
    assert.notEqual(running, a, 'the fsync under way may have started before their writes');
    assert.equal(a, b, 'one fsync covers both');
    await Promise.all([running, a, b]);
    await sync.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a checkpoint thread that cannot work hands checkpoints back to the writer', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-wal-'));
    const reasons: string[] = [];
    const checkpointer = new Checkpointer(path.join(dir, 'missing.db'), { checkpointed: () => reasons.push('checkpointed'), fallBack: (reason) => reasons.push(reason) });
    checkpointer.committed();
    while (checkpointer.failure === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(reasons.length, 1);
    assert.match(reasons[0] ?? '', /cannot open database|unable to open database/i);
    checkpointer.committed();
    await checkpointer.close();
    assert.equal(reasons.length, 1, 'handed back once, and no checkpoint is asked of a failed thread');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

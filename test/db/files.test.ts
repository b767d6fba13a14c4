// The SQLite database and the generated keys are nobody else's to read: a fresh data directory is
// 0700, and the database, its -wal and -shm files and the key file are 0600.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';

test('a new data directory is 0700 and every file in it 0600', async () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-files-'));
  const dataDir = path.join(parent, 'data');
  const previous = process.umask(0o022); // the usual umask, which would leave 0644 files
  try {
    const ctx = await createContext(loadConfig({ dataDir, logLevel: 'silent' }));
    await ctx.db.write((tx) => tx.run("INSERT INTO singletons (name, created_at_ms) VALUES ('files-test', 0)"));
    const mode = (file: string): number => fs.statSync(path.join(dataDir, file)).mode & 0o777;
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
    const files = fs.readdirSync(dataDir);
    for (const file of ['purse.db', 'purse.db-wal', 'purse.db-shm', 'keys.json']) assert.ok(files.includes(file), `${file} in ${files.join(' ')}`);
    for (const file of files) assert.equal(mode(file), 0o600, file);
    await ctx.close();
  } finally {
    process.umask(previous);
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

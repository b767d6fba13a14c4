// `purse backup` and `purse restore` on SQLite (PostgreSQL refuses both and names pg_dump and
// pg_restore: test/cli.test.ts). A backup taken while a real `purse serve` is writing opens, is
// readable by its owner only and verifies; restore never replaces a database in use, replaces an
// idle one only with --force, takes only a Purse database, and says whether the ledger verifies.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { envFor, KNOWN_FIRST_START, purse, purseAsync, serve, type Serving } from '../helpers/cli.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, createTestDatabase, type TestDatabase } from '../helpers/harness.js';

/** A person's balance in minor units, read straight from a database file. */
function balanceIn(file: string, username: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT a.balance_minor AS balance FROM ledger_accounts a JOIN users u ON u.id = a.user_id WHERE u.username = ?').get(username) as { balance: number } | undefined;
    return row?.balance ?? 0;
  } finally {
    db.close();
  }
}

/** Recharges one person by 1 again and again until told to stop; counts the recharges committed. */
class Writer {
  committed = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(url: string, token: string, userId: number) {
    this.done = this.loop(url, token, userId);
  }

  private async loop(url: string, token: string, userId: number): Promise<void> {
    const init = { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ amount: 1 }) };
    while (this.running) {
      const res = await fetch(`${url}/v3/users/${userId}/accounts/credit/recharge`, init);
      assert.equal(res.status, 200, await res.text());
      this.committed++;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('purse backup and restore [sqlite]', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let server: Serving | undefined;
  let scratch: string;
  let backupFile: string;
  let backupBalance: number;

  before(async () => {
    database = await createTestDatabase('sqlite');
    env = { ...envFor(database), ...KNOWN_FIRST_START };
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'purse-backup-'));
    backupFile = path.join(scratch, 'purse-backup.db');
  });
  after(async () => {
    await server?.stop();
    await database.drop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('a backup taken while serve is writing opens, is 0600 and verifies; an existing file is never overwritten', async () => {
    server = await serve(env);
    const json = { 'content-type': 'application/json' };
    const grant = await fetch(`${server.url}/api/auth/token`, { method: 'POST', headers: json, body: JSON.stringify({ grant_type: 'client_credentials', scope: 'credit users', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET }) });
    const { access_token: token } = (await grant.json()) as { access_token: string };
    const created = await fetch(`${server.url}/v3/users`, { method: 'POST', headers: { ...json, authorization: `Bearer ${token}` }, body: JSON.stringify({ username: 'busy' }) });
    const { id: userId } = (await created.json()) as { id: number };

    const writer = new Writer(server.url, token, userId);
    await until(() => writer.committed >= 20, 'the first recharges');
    const atStart = writer.committed;
    const backup = await purseAsync(['backup', backupFile], env);
    const duringBackup = writer.committed - atStart;
    await writer.stop();
    assert.equal(backup.status, 0, backup.stderr);
    assert.match(backup.stdout, /^backed up the database to \S+purse-backup\.db\n$/);
    assert.ok(duringBackup > 0, 'serve kept committing while the backup ran');
    assert.equal(fs.statSync(backupFile).mode & 0o777, 0o600);

    backupBalance = balanceIn(backupFile, 'busy');
    assert.ok(backupBalance >= atStart * 100 && backupBalance <= writer.committed * 100, `a balance of the run: ${backupBalance}`);
    const size = fs.statSync(backupFile).size;
    const again = purse(['backup', backupFile], env);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^purse: backup: \S+purse-backup\.db already exists; Purse never overwrites a file/);
    assert.equal(fs.statSync(backupFile).size, size);

    // The backup, restored where no database is yet, verifies (and warns that its keys are not there).
    const elsewhere = { ...env, PURSE_DATA_DIR: path.join(scratch, 'elsewhere'), DATABASE_URL: '' };
    const restored = purse(['restore', backupFile], elsewhere);
    assert.equal(restored.status, 0, restored.stderr);
    assert.match(restored.stdout, /restored \S+ as \S+elsewhere\/purse\.db \(schema version \d+\)\nledger verified/);
    assert.match(restored.stderr, /warning: no keys\.json in \S+elsewhere and no PURSE_HASH_KEY/);
    assert.equal(balanceIn(path.join(scratch, 'elsewhere', 'purse.db'), 'busy'), backupBalance);
  });

  test('restore never replaces a database in use, even with --force', () => {
    const refused = purse(['restore', backupFile, '--force'], env);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^purse: \S+purse\.db is in use \(is purse serve running\?\): stop every Purse process using it, then restore\n$/);
    assert.ok(balanceIn(database.dataDir + '/purse.db', 'busy') > backupBalance, 'the live database is untouched');
  });

  test('restore replaces an idle database only with --force, and only with a Purse database', async () => {
    assert.equal(await server?.stop(), 0);
    server = undefined;
    const live = path.join(database.dataDir, 'purse.db');
    const liveBalance = balanceIn(live, 'busy');

    const withoutForce = purse(['restore', backupFile], env);
    assert.equal(withoutForce.status, 1);
    assert.match(withoutForce.stderr, /already holds a database; restoring replaces it: pass --force/);

    const notSqlite = path.join(scratch, 'notes.txt');
    fs.writeFileSync(notSqlite, 'not a database at all\n');
    assert.match(purse(['restore', notSqlite, '--force'], env).stderr, /^purse: \S+notes\.txt is not a Purse database: it is not a SQLite database\n$/);
    const otherSqlite = path.join(scratch, 'other.db');
    const other = new Database(otherSqlite);
    other.exec('CREATE TABLE t (a)');
    other.close();
    assert.match(purse(['restore', otherSqlite, '--force'], env).stderr, /^purse: \S+other\.db is not a Purse database: it has no schema_migrations table\n$/);
    assert.match(purse(['restore', path.join(scratch, 'missing.db'), '--force'], env).stderr, /^purse: cannot read \S+missing\.db: ENOENT/);
    assert.equal(balanceIn(live, 'busy'), liveBalance, 'every refusal left the database as it was');

    const forced = purse(['restore', backupFile, '--force'], env);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /ledger verified/);
    assert.equal(forced.stderr, '', 'the keys of the data directory are there');
    assert.equal(balanceIn(live, 'busy'), backupBalance);
    assert.equal(fs.statSync(live).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(database.dataDir).filter((f) => f.includes('restore')), [], 'no staged copy is left behind');

    // The restored database serves.
    server = await serve(env);
    const health = await fetch(`${server.url}/ready`);
    assert.equal(health.status, 200);
  });

  test('a damaged database is replaced with --force', () => {
    const damagedDir = path.join(scratch, 'damaged');
    fs.mkdirSync(damagedDir, { mode: 0o700 });
    fs.copyFileSync(path.join(database.dataDir, 'keys.json'), path.join(damagedDir, 'keys.json'));
    fs.writeFileSync(path.join(damagedDir, 'purse.db'), Buffer.alloc(8192, 0x5a), { mode: 0o600 });
    const damagedEnv = { ...env, PURSE_DATA_DIR: damagedDir, DATABASE_URL: '' };
    assert.match(purse(['restore', backupFile], damagedEnv).stderr, /already holds a database; restoring replaces it: pass --force/);
    const forced = purse(['restore', backupFile, '--force'], damagedEnv);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(balanceIn(path.join(damagedDir, 'purse.db'), 'busy'), backupBalance);
  });

  test('a backup whose ledger does not verify is restored, and the exit code says so', () => {
    const tampered = path.join(scratch, 'tampered.db');
    fs.copyFileSync(backupFile, tampered);
    const db = new Database(tampered);
    db.prepare("UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE user_id = (SELECT id FROM users WHERE username = 'busy')").run();
    db.close();
    const result = purse(['restore', tampered], { ...env, PURSE_DATA_DIR: path.join(scratch, 'tampered-dir'), DATABASE_URL: '' });
    assert.equal(result.status, 1);
    assert.match(result.stdout, /stored balance \d+, postings sum to \d+/);
    assert.match(result.stderr, /^purse: ledger verification found 1 problem\n$/m);
  });
});

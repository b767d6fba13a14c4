// The `purse` command line, run as a real process on each engine: migrate, clients, users, vouchers
// and the rest of the commands (help, configuration and serve are in cli-help.test.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../src/auth/principal.js';
import { createContext } from '../src/context.js';
import { MIGRATIONS } from '../src/db/migrations.js';

import { envFor, purse } from './helpers/cli.js';
import { ENGINES, createTestDatabase, testConfig, type TestDatabase } from './helpers/harness.js';

for (const engine of ENGINES) {
  describe(`purse command line [${engine}]`, () => {
    let database: TestDatabase;
    let env: Record<string, string>;

    before(async () => {
      database = await createTestDatabase(engine);
      env = envFor(database);
    });
    after(() => database.drop());

    test('migrate, user and client commands', () => {
      const first = purse(['migrate'], env);
      assert.equal(first.status, 0, first.stderr);
      assert.equal(first.stdout, MIGRATIONS.map((m) => `applied migration ${m.version}: ${m.name}\n`).join(''), 'each migration applied, by number and name');
      assert.equal(purse(['migrate'], env).stdout, `database is up to date (${engine})\n`);
      const created = purse(['user', 'create', 'dora', '--fullname', 'Dora D', '--email', 'dora@example.org'], env);
      assert.equal(created.status, 0, created.stderr);
      assert.match(created.stdout, /created user \d+ \(dora\)/);
      assert.equal(purse(['user', 'set-password', 'dora'], env, 'dora-password\n').status, 0);
      assert.equal(purse(['user', 'set-pin', 'dora', '--pin', '2468'], env).status, 0);
      assert.equal(purse(['user', 'add-card', 'dora', 'DORA-CARD-1'], env).status, 0);
      const granted = purse(['user', 'grant', 'dora', 'manageUsers'], env);
      assert.equal(granted.status, 0, granted.stderr);
      assert.match(granted.stdout, /dora now has: manageUsers/);

      const bad = purse(['user', 'grant', 'dora', 'emperor'], env);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /^purse: unknown right "emperor"/);
      assert.match(purse(['user', 'grant', 'nobody', 'admin'], env).stderr, /^purse: no user "nobody"\n$/);

      const client = purse(['client', 'create', '--name', 'Kiosk', '--scopes', 'credit users', '--user', 'dora'], env);
      assert.equal(client.status, 0, client.stderr);
      const id = /client_id\s+(\S+)/.exec(client.stdout)?.[1] ?? '';
      const secret = /client_secret\s+([0-9a-f]{40})\n/.exec(client.stdout)?.[1];
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.ok(secret !== undefined);
      assert.match(purse(['client', 'list'], env).stdout, new RegExp(`${id}  Kiosk  scopes="credit users"  user=\\d+  .*active`));
      assert.match(purse(['client', 'create', '--name', 'x', '--scopes', 'root', '--user', 'dora'], env).stderr, /^purse: scopes must be/);
      assert.equal(purse(['client', 'revoke', id], env).status, 0);
      assert.match(purse(['client', 'list'], env).stdout, /REVOKED/);
      assert.equal(purse(['client', 'revoke', id], env).status, 1);
    });

    test('recharge by hand and from a CSV, providers, ledger verify', () => {
      const one = purse(['recharge', 'dora', '12.50', '--description', 'desk'], env);
      assert.equal(one.status, 0, one.stderr);
      assert.match(one.stdout, /dora: balance 12\.50 EUR/);
      assert.match(purse(['recharge', 'dora', '-20'], env).stderr, /^purse: the credit balance is too low/);
      const csv = `${database.dataDir}/bulk.csv`;
      fs.writeFileSync(csv, 'user;amount\ndora;1\ndora;2.25\n');
      assert.match(purse(['recharge', '--csv', csv], env).stdout, /recharged 2 rows, 3\.25 EUR in all/);
      fs.writeFileSync(csv, 'dora;1\nghost;2\n');
      const bad = purse(['recharge', '--csv', csv], env);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /^purse: 1 bad row; nothing was recharged/);
      assert.match(purse(['provider', 'disable', 'external'], env).stdout, /external disabled/);
      assert.match(purse(['provider', 'list'], env).stdout, /external {2}DISABLED/);
      assert.equal(purse(['provider', 'enable', 'external'], env).status, 0);
      assert.equal(purse(['provider', 'enable', 'nope'], env).status, 1);
      const verified = purse(['ledger', 'verify'], env);
      assert.equal(verified.status, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /ledger verified/);
    });

    test('charge, holds and hold release', async () => {
      const charged = purse(['charge', 'dora', '2.50', '--description', 'copies'], env);
      assert.equal(charged.status, 0, charged.stderr);
      assert.match(charged.stdout, /^charge \d+: dora charged 2\.50 EUR, balance 13\.25 EUR\n$/);
      assert.match(purse(['charge', 'dora', '1000'], env).stderr, /^purse: insufficient credit: 13\.25 EUR available, 1000\.00 EUR requested\n$/);
      const ctx = await createContext({ ...testConfig(database), logLevel: 'silent' });
      const dora = await ctx.users.resolve('dora');
      const held = await ctx.pipeline.perform('hold.place', { userId: dora.id, reference: 'credit', amount: 3, description: 'print job' }, CLI_ACTOR);
      await ctx.close();
      const listed = purse(['holds', '--user', 'dora', '--state', 'held'], env);
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`^hold ${held.id}  user=${dora.id}  held  amount=3  expires=\\S+  print job\n$`));
      assert.match(purse(['holds', '--state', 'lost'], env).stderr, /^purse: --state must be one of held, captured, released, expired/);
      assert.match(purse(['hold', 'release', String(held.id)], env).stdout, new RegExp(`^hold ${held.id} released\n$`));
      assert.match(purse(['hold', 'release', String(held.id)], env).stderr, /^purse: hold \d+ is released/);
      assert.equal(purse(['holds', '--user', 'dora', '--state', 'held'], env).stdout, '');
      assert.equal(purse(['ledger', 'verify'], env).status, 0);
    });

    test('voucher generate refuses an existing --csv file before it makes a batch; voucher expire', () => {
      const taken = `${database.dataDir}/taken.csv`;
      fs.writeFileSync(taken, 'someone else\n');
      const args = ['voucher', 'generate', '--quantity', '3', '--value', '5', '--valid-until', '2099-12-31'];
      const refused = purse([...args, '--csv', taken], env);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /^purse: --csv: \S+taken\.csv already exists; Purse never overwrites a file/);
      assert.equal(fs.readFileSync(taken, 'utf8'), 'someone else\n', 'the file is left as it was');
      assert.match(purse([...args, '--csv', `${database.dataDir}/no/such/dir.csv`], env).stderr, /its directory does not exist/);
      const badValue = `${database.dataDir}/bad-value.csv`;
      assert.equal(purse([...args.slice(0, 4), '-1', ...args.slice(5), '--csv', badValue], env).status, 1);
      assert.equal(fs.existsSync(badValue), false, 'a refused batch leaves no file behind');
      assert.equal(purse(['voucher', 'batches'], env).stdout, '', 'no batch was committed');

      const codes = `${database.dataDir}/codes.csv`;
      const made = purse([...args, '--csv', codes], env);
      assert.equal(made.status, 0, made.stderr);
      assert.equal(fs.statSync(codes).mode & 0o777, 0o600);
      const batch = /^batch (\d+): 3 vouchers/.exec(made.stderr)?.[1] ?? '';
      assert.equal(fs.readFileSync(codes, 'utf8').trim().split('\n').length, 4, 'a header and three codes');

      const expired = purse(['voucher', 'expire', batch], env);
      assert.equal(expired.status, 0, expired.stderr);
      assert.match(expired.stdout, new RegExp(`^batch ${batch} .* expired=3 outstanding=0  EXPIRED\n$`));
      assert.match(purse(['voucher', 'batches'], env).stdout, /EXPIRED/);
      assert.match(purse(['voucher', 'expire', batch], env).stderr, /^purse: voucher batch \d+ is already expired\n$/);
      assert.match(purse(['voucher', 'expire', '999999'], env).stderr, /^purse: voucher batch 999999 not found\n$/);
      assert.match(purse(['voucher', 'expire', 'one'], env).stderr, /^purse: the batch id must be a whole number\n$/);
    });

    test('backup and restore on PostgreSQL point to pg_dump and pg_restore', { skip: engine !== 'postgres' }, () => {
      const dump = `${database.dataDir}/purse.dump`;
      const backup = purse(['backup', dump], env);
      assert.equal(backup.status, 1);
      assert.match(backup.stderr, /^purse: purse backup copies a SQLite database; back PostgreSQL up with pg_dump/);
      assert.equal(fs.existsSync(dump), false);
      const restore = purse(['restore', dump], env);
      assert.equal(restore.status, 1);
      assert.match(restore.stderr, /restore PostgreSQL with pg_restore/);
    });
  });
}

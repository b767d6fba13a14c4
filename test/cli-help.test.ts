// The `purse` command line, run as a real process: configuration errors, every command's help, and
// `serve` printing the first-start secrets once and stopping cleanly on SIGTERM. Apart from the
// per-engine commands (cli.test.ts) so that neither file nears the per-file time limit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { envFor, purse, serve } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/harness.js';

describe('purse command line: configuration and help', () => {
  test('a bad setting stops with one line naming the variable', () => {
    for (const [env, name] of [
      [{ PORT: 'eighty' }, 'PORT'],
      [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
      [{ PURSE_CURRENCY: 'XXX' }, 'PURSE_CURRENCY'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
      [{ PURSE_ADMIN_PASSWORD: 'short' }, 'PURSE_ADMIN_PASSWORD'],
    ] as const) {
      const res = purse(['migrate'], { ...env, PURSE_DATA_DIR: '/tmp/purse-never-created' });
      assert.equal(res.status, 1, JSON.stringify(env));
      const lines = res.stderr.trim().split('\n');
      assert.equal(lines.length, 1, res.stderr);
      assert.match(lines[0] ?? '', new RegExp(`^purse: ${name}: `));
    }
  });

  test('a flag overrides the environment', () => {
    const res = purse(['--port', 'x', 'migrate'], { PORT: '8080' });
    assert.equal(res.status, 1);
    assert.match(res.stderr, /PORT: must be a whole number, got "x"/);
  });

  test('every command has --help', () => {
    for (const command of [[], ['serve'], ['migrate'], ['client'], ['client', 'create'], ['client', 'list'], ['client', 'revoke'], ['user', 'create'], ['user', 'set-password'], ['user', 'set-pin'], ['user', 'add-card'], ['user', 'grant'], ['charge'], ['holds'], ['hold', 'release'], ['voucher', 'generate'], ['voucher', 'expire'], ['backup'], ['restore']]) {
      const res = purse([...command, '--help']);
      assert.equal(res.status, 0, command.join(' '));
      assert.match(res.stdout, /Usage: purse/);
    }
    assert.match(purse(['serve', '--help']).stdout, /--database-url <value>.*DATABASE_URL/s);
  });
});


describe('purse serve', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('sqlite');
  });
  after(() => database.drop());

  const serveOnce = async (): Promise<{ stdout: string; code: number | null }> => {
    const server = await serve({ ...envFor(database), LOG_LEVEL: 'warn' });
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    const code = await server.stop('SIGTERM');
    return { stdout: server.stdout(), code };
  };

  test('the first start prints the administrator and client secrets once; later starts print none', async () => {
    // People created before the first start do not stop the administrator from being created.
    assert.equal(purse(['user', 'create', 'early-bird'], envFor(database)).status, 0);
    const first = await serveOnce();
    assert.equal(first.code, 0, 'SIGTERM stops it cleanly');
    assert.match(first.stdout, /administrator\s+admin\n\s+password\s+\S{20,}/);
    assert.match(first.stdout, /client_secret\s+[0-9a-f]{40}/);
    assert.match(first.stdout, /\/docs/);
    const keyFile = fs.statSync(`${database.dataDir}/keys.json`);
    assert.equal(keyFile.mode & 0o777, 0o600, 'generated keys are readable by the owner only');
    const second = await serveOnce();
    assert.equal(second.code, 0);
    assert.doesNotMatch(second.stdout, /password|client_secret/);
  });
});

// A 2xx means on disk, event included: a server killed with SIGKILL right after answering leaves the
// change and its event in the database, on both engines.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { openDb, type Db } from '../../src/db/index.js';
import { ENGINES, createTestDatabase, type TestDatabase } from '../helpers/harness.js';

const SECRET = 'crash-secret-0123456789abcdef0123456789';

async function serve(database: TestDatabase): Promise<{ url: string; kill(): Promise<void> }> {
  const env = {
    ...process.env,
    PURSE_DATA_DIR: database.dataDir,
    DATABASE_URL: database.target.engine === 'sqlite' ? `sqlite:${database.target.file}` : database.target.url,
    LOG_LEVEL: 'warn',
    PURSE_BOOTSTRAP_CLIENT_ID: 'crash-client',
    PURSE_BOOTSTRAP_CLIENT_SECRET: SECRET,
    PURSE_ADMIN_PASSWORD: 'crash-admin-password',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--port', '0'], { env });
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`serve did not start: ${stdout}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    url: /listening on (\S+)/.exec(stdout)?.[1] ?? '',
    kill: async () => {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

for (const engine of ENGINES) {
  describe(`crash after a 2xx [${engine}]`, () => {
    let database: TestDatabase;
    let db: Db | undefined;
    before(async () => {
      database = await createTestDatabase(engine);
    });
    after(async () => {
      await db?.close();
      await database.drop();
    });

    test('SIGKILL right after a committed payment: the payment, its posting and its event are there', async () => {
      const server = await serve(database);
      const post = async (path: string, body: unknown, token?: string): Promise<Response> =>
        fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });
      const grant = await post('/api/auth/token', { grant_type: 'client_credentials', client_id: 'crash-client', client_secret: SECRET });
      const { access_token: token } = (await grant.json()) as { access_token: string };
      const created = await post('/v3/rechargeProviders/external/payments', { userId: 1, params: { amount: 6 } }, token);
      const { id } = (await created.json()) as { id: string };
      const committed = await post(`/v3/rechargeProviders/external/payments/${id}/commit`, {}, token);
      assert.equal(committed.status, 200);
      await server.kill();

      db = openDb(database.target, 2);
      const events = await db.read((q) => q.all<{ type: string }>('SELECT type FROM events WHERE subject = ? ORDER BY id', [`payment:${id}`]));
      assert.deepEqual(events.map((e) => e.type), ['payment.created', 'payment.committed']);
      const balance = await db.read((q) => q.get<{ balance_minor: number }>('SELECT balance_minor FROM ledger_accounts WHERE user_id = 1'));
      assert.equal(balance?.balance_minor, 600);
    });
  });
}

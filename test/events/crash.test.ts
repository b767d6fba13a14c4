// A 2xx means on disk, event included: a server killed with SIGKILL right after answering leaves the
// change and its event in the database, on both engines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { openDb, type Db } from '../../src/db/index.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, createTestDatabase, type TestDatabase } from '../helpers/harness.js';
import { envFor, KNOWN_FIRST_START, serve } from '../helpers/cli.js';

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
      const server = await serve({ ...envFor(database), ...KNOWN_FIRST_START });
      const post = async (path: string, body: unknown, token?: string): Promise<Response> =>
        fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });
      const grant = await post('/api/auth/token', { grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET });
      const { access_token: token } = (await grant.json()) as { access_token: string };
      const created = await post('/v3/rechargeProviders/external/payments', { userId: 1, params: { amount: 6 } }, token);
      const { id } = (await created.json()) as { id: string };
      const committed = await post(`/v3/rechargeProviders/external/payments/${id}/commit`, {}, token);
      assert.equal(committed.status, 200);
      await server.stop('SIGKILL');

      db = openDb(database.target, 2);
      const events = await db.read((q) => q.all<{ type: string }>('SELECT type FROM events WHERE subject = ? ORDER BY id', [`payment:${id}`]));
      assert.deepEqual(events.map((e) => e.type), ['payment.created', 'payment.committed']);
      const balance = await db.read((q) => q.get<{ balance_minor: number }>('SELECT balance_minor FROM ledger_accounts WHERE user_id = 1'));
      assert.equal(balance?.balance_minor, 600);
    });
  });
}

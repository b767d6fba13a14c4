// A webhook registered with the command line, a real `purse serve` killed with SIGKILL right after
// a commit, and a restart: the signed `payment.committed` still arrives. Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { envFor, KNOWN_FIRST_START, purse, serve } from '../helpers/cli.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, createTestDatabase, type TestDatabase } from '../helpers/harness.js';
import { Receiver } from '../helpers/receiver.js';

for (const engine of ENGINES) {
  describe(`webhooks survive a crash [${engine}]`, () => {
    let database: TestDatabase;
    let env: Record<string, string>;

    before(async () => {
      database = await createTestDatabase(engine);
      env = { ...envFor(database), LOG_LEVEL: 'warn', ...KNOWN_FIRST_START };
    });
    after(() => database.drop());

    test('SIGKILL after a commit, then a restart: the event is still delivered, signed', async () => {
      const receiver = new Receiver();
      await receiver.start();
      const port = receiver.port;
      // Down while Purse runs the first time: nothing can be delivered before the crash.
      await receiver.stop();

      const first = await serve(env);
      const added = purse(['webhook', 'add', `http://127.0.0.1:${port}/hooks`, '--events', 'payment.committed'], env);
      assert.equal(added.status, 0, added.stderr);
      receiver.secret = /secret\s+(whsec_\S+)/.exec(added.stdout)?.[1] ?? '';
      const webhookId = /webhook (wh_\S+)/.exec(added.stdout)?.[1] ?? '';
      assert.match(receiver.secret, /^whsec_/);

      const json = { 'content-type': 'application/json' };
      const token = (await (await fetch(`${first.url}/api/auth/token`, { method: 'POST', headers: json, body: JSON.stringify({ grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET }) })).json()) as { access_token: string };
      const headers = { ...json, authorization: `Bearer ${token.access_token}` };
      const user = (await (await fetch(`${first.url}/v3/users`, { method: 'POST', headers, body: JSON.stringify({ username: 'crash-test' }) })).json()) as { id: number };
      const payment = (await (await fetch(`${first.url}/v3/rechargeProviders/external/payments`, { method: 'POST', headers, body: JSON.stringify({ userId: user.id, params: { amount: 9 } }) })).json()) as { id: string };
      const committed = await fetch(`${first.url}/v3/rechargeProviders/external/payments/${payment.id}/commit`, { method: 'POST', headers: { authorization: headers.authorization } });
      assert.equal(committed.status, 200);
      await first.stop('SIGKILL');

      await receiver.start(port);
      const second = await serve(env);
      try {
        const deadline = Date.now() + 30_000;
        while (receiver.received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        await second.stop('SIGTERM');
      }
      assert.deepEqual(receiver.rejected, []);
      assert.equal(receiver.received.length, 1, 'delivered once');
      assert.equal(receiver.received[0]?.body.type, 'payment.committed');
      assert.equal(receiver.received[0]?.body.data.id, Number(payment.id));

      const log = purse(['webhook', 'deliveries', webhookId], env);
      assert.equal(log.status, 0, log.stderr);
      assert.match(log.stdout, /payment\.committed {2}delivered/);
      assert.match(purse(['webhook', 'list'], env).stdout, new RegExp(`${webhookId} {2}http://127\\.0\\.0\\.1:${port}/hooks {2}events=payment\\.committed {2}enabled`));
      const audit = purse(['audit', '--action', 'webhook.*'], env);
      assert.match(audit.stdout, /cli {2}webhook\.create {2}webhook:wh_/);
      await receiver.stop();
    });
  });
}

// First start on one empty database by several processes at the same moment: one administrator and
// one bootstrap client (and one web-app client) whatever the timing, with a configured client id or a generated one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CLI_ACTOR } from '../src/auth/principal.js';
import { bootstrap } from '../src/bootstrap.js';
import { createContext, type Context } from '../src/context.js';
import { ENGINES, createTestDatabase, testConfig } from './helpers/harness.js';

for (const engine of ENGINES) {
  describe(`first start [${engine}]`, () => {
    for (const configured of [true, false]) {
      test(`four processes starting at once make one administrator and one client (${configured ? 'configured' : 'generated'} client id)`, async () => {
        const database = await createTestDatabase(engine);
        const config = testConfig(database, configured ? {} : { bootstrapClientId: undefined, bootstrapClientSecret: undefined });
        const contexts: Context[] = await Promise.all(Array.from({ length: 4 }, () => createContext(config)));
        try {
          const reports = await Promise.all(contexts.map((ctx) => bootstrap(ctx)));
          assert.equal(reports.filter((r) => r.client !== undefined).length, 1, 'exactly one process reports the client');
          assert.equal(reports.filter((r) => r.admin !== undefined).length, 1, 'and the administrator');
          const ctx = contexts[0];
          if (ctx === undefined) throw new Error('no context');
          // The bootstrap client, and the web app's public client, made once too.
          const clients = await ctx.auth.listClients(CLI_ACTOR);
          assert.equal(clients.length, 2);
          assert.equal(clients.filter((c) => c.id === 'purse-web').length, 1);
          const admins = await ctx.db.read((q) => q.all<{ id: number }>("SELECT id FROM users WHERE rights LIKE '%admin%'"));
          assert.equal(admins.length, 1);
          // A later start changes nothing and reports nothing.
          assert.deepEqual(await bootstrap(ctx), {});
        } finally {
          for (const ctx of contexts) await ctx.close();
          await database.drop();
        }
      });
    }
  });
}

// The sweeper: it expires overdue payments at start and then on its timer, releasing what they held.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { startSweeper } from '../../src/recharge/sweeper.js';
import { ENGINES, startApp, type TestApp } from '../helpers/harness.js';

for (const engine of ENGINES) {
  describe(`sweeper [${engine}]`, () => {
    let t: TestApp;

    before(async () => {
      t = await startApp(engine, { sweepIntervalSeconds: 1 });
    });
    after(() => t.close());

    test('expires overdue payments at start and on every tick; live ones stay', async () => {
      const user = await t.ctx.pipeline.perform('user.create', { username: 'sleepy' }, CLI_ACTOR);
      const create = () => t.ctx.pipeline.perform('payment.create', { reference: 'external', userId: user.id, params: { amount: 1 } }, CLI_ACTOR);
      const stale = await create();
      t.clock.advance(1800_000);
      const sweeper = startSweeper(t.ctx, t.app.log);
      const live = await create();
      const late = await create();
      t.clock.advance(1700_000);
      // The start sweep runs at once; give the timer one tick for the payments that just fell due.
      const waitFor = async (id: number, state: string) => {
        for (let i = 0; i < 40 && (await t.ctx.recharge.get('external', id)).state !== state; i++) await new Promise((r) => setTimeout(r, 100));
        return (await t.ctx.recharge.get('external', id)).state;
      };
      assert.equal(await waitFor(stale.id, 'expired'), 'expired');
      assert.equal((await t.ctx.recharge.get('external', live.id)).state, 'created');
      t.clock.advance(100_001);
      assert.equal(await waitFor(late.id, 'expired'), 'expired', 'expired by a later tick');
      await sweeper.stop();
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });
  });
}

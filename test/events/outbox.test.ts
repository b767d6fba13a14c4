// The outbox read in commit order: a consumer paging by cursor never misses an event, even one
// whose transaction began first (and got the smaller id) but committed last, and never sees one
// twice; many writers at once, one poller, every event exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { insertEvents } from '../../src/commands/store.js';
import { ENGINES, startApp, type TestApp } from '../helpers/harness.js';

for (const engine of ENGINES) {
  describe(`events outbox [${engine}]`, () => {
    let t: TestApp;

    before(async () => {
      t = await startApp(engine);
    });
    after(() => t.close());

    /** Pages from `cursor` until a page comes back empty; the events and the cursor to go on from. */
    const drain = async (cursor: string, types: string[] = []): Promise<{ ids: string[]; cursor: string }> => {
      const ids: string[] = [];
      for (;;) {
        const page = await t.ctx.events.page(cursor, types, 7);
        ids.push(...page.events.map((e) => e.subject));
        if (page.events.length === 0) return { ids, cursor };
        cursor = page.cursor;
      }
    };

    /** Drains again and again until `enough` holds for what was read (or 20 s pass). */
    const drainUntil = async (cursor: string, enough: (ids: string[]) => boolean): Promise<{ ids: string[]; cursor: string }> => {
      const ids: string[] = [];
      const deadlineMs = Date.now() + 20_000;
      for (;;) {
        const page = await drain(cursor);
        ids.push(...page.ids);
        cursor = page.cursor;
        if (enough(ids) || Date.now() > deadlineMs) return { ids, cursor };
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    test('an event whose transaction commits after a later one is not skipped', async () => {
      const start = (await drain('')).cursor;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let firstInserted: () => void = () => undefined;
      const inserted = new Promise<void>((resolve) => (firstInserted = resolve));
      // The first writer inserts its event (taking the smaller id) and holds its transaction open.
      const slow = t.ctx.db.write(async (tx) => {
        await insertEvents(tx, [{ type: 'test.slow', subject: 'slow', data: '{}' }], t.clock.nowMs());
        firstInserted();
        await gate;
      });
      await inserted;
      // The second writer commits meanwhile (on SQLite, it waits for the single writer instead).
      const fast = t.ctx.db.write((tx) => insertEvents(tx, [{ type: 'test.fast', subject: 'fast', data: '{}' }], t.clock.nowMs()));
      if (engine === 'postgres') await fast;
      const during = await drain(start);
      assert.deepEqual(during.ids, [], 'nothing is read past a transaction still running');
      release();
      await Promise.all([slow, fast]);
      // On PostgreSQL the feed reads below the oldest transaction running anywhere on the server, so
      // another test's transaction may hold it back a moment: wait for the two, don't expect them at once.
      const afterwards = await drainUntil(during.cursor, (ids) => ids.length >= 2);
      assert.deepEqual(afterwards.ids, ['slow', 'fast'], 'both, in order, once the first committed');
      assert.deepEqual((await drain(afterwards.cursor)).ids, [], 'and never again');
    });

    test('two writers at full speed and a poller: the poller reads every event exactly once', async () => {
      const start = (await drain('')).cursor;
      const seen: string[] = [];
      let cursor = start;
      let writing = true;
      const poller = (async () => {
        while (writing) {
          const page = await drain(cursor);
          seen.push(...page.ids);
          cursor = page.cursor;
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const writer = async (name: string): Promise<void> => {
        for (let i = 0; i < 40; i++) await t.ctx.pipeline.perform('user.create', { username: `${name}-${i}` }, CLI_ACTOR);
      };
      await Promise.all([writer('left'), writer('right'), writer('middle')]);
      writing = false;
      await poller;
      const ours = (): string[] => seen.filter((subject) => /^user:/.test(subject));
      const rest = await drainUntil(cursor, (ids) => ours().length + ids.filter((subject) => /^user:/.test(subject)).length >= 120);
      seen.push(...rest.ids);
      assert.equal(ours().length, 120);
      assert.equal(new Set(ours()).size, 120, 'no event twice');
    });

    test('the feed filters by type and by prefix, and says what a bad cursor is', async () => {
      const start = (await drain('')).cursor;
      const user = await t.ctx.pipeline.perform('user.create', { username: 'filtered' }, CLI_ACTOR);
      await t.ctx.pipeline.perform('user.update', { id: user.id, fullname: 'Filtered' }, CLI_ACTOR);
      await t.ctx.pipeline.perform('provider.setEnabled', { reference: 'voucher', enabled: true }, CLI_ACTOR);
      assert.deepEqual((await drain(start, ['user.updated'])).ids, [`user:${user.id}`]);
      assert.deepEqual((await drain(start, ['user.*'])).ids, [`user:${user.id}`, `user:${user.id}`]);
      assert.deepEqual((await drain(start, ['*'])).ids.length, 3);
      await assert.rejects(t.ctx.events.page('not-a-cursor'), /after must be a cursor/);
    });
  });
}

// The bulk CSV recharge under hostile input: a row cap, a line cap, bounded error lists, parsing
// that lets other requests through, and rows posted in file order per person.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { CSV_SLICE_CHARS } from '../../src/csv.js';
import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface ErrorBody {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}

interface Entry {
  value: number;
  balance: number;
  description: string;
}

const MAX_ROWS = 50;

for (const engine of ENGINES) {
  describe(`bulk recharge limits [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    let ann: number;
    const bulk = (csv: string) => t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: csv });
    const postings = async () => (await t.ctx.db.read((q) => q.get<{ n: number }>('SELECT COUNT(*) AS n FROM ledger_postings')))?.n;

    before(async () => {
      t = await startApp(engine, { bulkMaxRows: MAX_ROWS });
      admin = bearer(await t.adminToken());
      ann = (await t.ctx.pipeline.perform('user.create', { username: 'ann' }, CLI_ACTOR)).id;
      await t.ctx.pipeline.perform('user.create', { username: 'ben' }, CLI_ACTOR);
    });
    after(() => t.close());

    test('more rows than PURSE_BULK_MAX_ROWS is a 400 naming the limit, however many more', async () => {
      const rows = (n: number) => Array.from({ length: n }, () => 'ann;1').join('\n');
      const before = await postings();
      for (const csv of [rows(MAX_ROWS + 1), `user;amount\n${rows(MAX_ROWS + 1)}`, rows(1_000_000)]) {
        const res = await bulk(csv);
        assert.equal(res.statusCode, 400, res.body.slice(0, 300));
        assert.match(res.json<ErrorBody>().message, new RegExp(`more than ${MAX_ROWS} rows`));
        assert.deepEqual(res.json<ErrorBody>().data, [{ field: 'body', problem: `at most ${MAX_ROWS} rows` }]);
      }
      assert.equal(await postings(), before);
      const full = await bulk(`user;amount\n${rows(MAX_ROWS)}`);
      assert.equal(full.statusCode, 200, full.body);
      assert.deepEqual(full.json(), { count: MAX_ROWS, total: MAX_ROWS });
    });

    test('a huge field is refused without being echoed; a long user name is echoed by a short prefix only', async () => {
      const huge = 'X'.repeat(15 * 1024 * 1024);
      for (const csv of [`${huge};5\n`, `ann;5\nben;${huge}\n`, `ann;"${huge}`]) {
        const res = await bulk(csv);
        assert.equal(res.statusCode, 400);
        assert.ok(res.body.length < 1_000, `a short answer: ${res.body.length} bytes`);
        assert.ok(!res.body.includes('XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'), res.body);
        assert.match(res.body, /256 characters|256/);
      }
      const tooLong = await bulk(`${'y'.repeat(200)};5\n`);
      assert.equal(tooLong.statusCode, 400);
      assert.deepEqual(tooLong.json<ErrorBody>().data, [{ field: 'line 1', problem: 'user is longer than 128 characters' }]);
      const unknown = await bulk(`${'z'.repeat(100)};5\n`);
      assert.deepEqual(unknown.json<ErrorBody>().data, [{ field: 'line 1', problem: `no user "${'z'.repeat(32)}…"` }]);
    });

    test('a first row with an amount over the ceiling is a bad row, not a header', async () => {
      const res = await bulk('ann;99999999999\nann;1\n');
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json<ErrorBody>().data.map((d) => d.field), ['line 1']);
    });

    test('a first row whose amount has a digit but is malformed is a bad row, not a skipped header', async () => {
      for (const amount of ['5 EUR', '€5', '1e2', '1 000']) {
        const res = await bulk(`ann;${amount}\nben;5\n`);
        assert.equal(res.statusCode, 400, `${amount}: ${res.body}`);
        assert.deepEqual(res.json<ErrorBody>().data.map((d) => d.field), ['line 1'], amount);
      }
      const headed = await bulk('user;amount\nben;0.01\n');
      assert.equal(headed.statusCode, 200, headed.body);
    });

    test('one person’s rows apply in file order, each its own statement entry with the balance after it', async () => {
      const start = (await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/balance`, headers: admin })).json<{ amount: number }>().amount;
      const overdraw = await bulk(`ben;1\nann;-${start + 1}\nann;${start + 5}\n`);
      assert.equal(overdraw.statusCode, 409, overdraw.body);
      assert.deepEqual(overdraw.json<ErrorBody>().data.map((d) => d.field), ['line 2']);
      const res = await bulk('ann;5\nben;2\nann;-3\nann;1.25\n');
      assert.equal(res.statusCode, 200, res.body);
      const statement = await t.inject({ method: 'GET', url: `/v3/users/${ann}/accounts/credit/statement?provider=manual&limit=3&start=${MAX_ROWS}`, headers: admin });
      const entries = statement.json<{ entries: Entry[] }>().entries;
      assert.deepEqual(entries.map((e) => [e.description, e.value, e.balance]), [
        ['bulk recharge, line 1', 5, start + 5],
        ['bulk recharge, line 3', -3, start + 2],
        ['bulk recharge, line 4', 1.25, start + 3.25],
      ]);
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });
  });

  describe(`bulk recharge at its default cap [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    const bulk = (csv: string) => t.inject({ method: 'POST', url: '/v3/credit/bulkRecharge', headers: { ...admin, 'content-type': 'text/csv' }, payload: csv });

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
      for (const name of ['ann', 'ben', 'cat']) await t.ctx.pipeline.perform('user.create', { username: name }, CLI_ACTOR);
    });
    after(() => t.close());

    test('1,000 unknown users: the first 100 listed and the rest counted', async () => {
      const res = await bulk(Array.from({ length: 1_000 }, (_, i) => `nobody-${i};1`).join('\n'));
      assert.equal(res.statusCode, 400);
      const body = res.json<ErrorBody>();
      assert.equal(body.data.length, 100);
      assert.deepEqual(body.data[0], { field: 'line 1', problem: 'no user "nobody-0"' });
      assert.match(body.message, /^1000 bad rows \(the first 100 are listed, 900 more are not\); nothing was recharged$/);
      assert.ok(res.body.length < 10_000, `${res.body.length} bytes`);
    });

    test('a cap-sized bulk is parsed a slice at a time: the event loop keeps turning and /health answers before it', async () => {
      // 10,000 rows, padded with empty lines to 15 MiB: hundreds of slices to parse.
      const rows = Array.from({ length: t.ctx.config.bulkMaxRows }, (_, i) => `${['ann', 'ben', 'cat'][i % 3] ?? 'ann'};0.01`);
      const padding = '\n'.repeat(Math.floor((15 * 1024 * 1024) / rows.length));
      const csv = rows.join(padding);
      const slices = Math.ceil(csv.length / CSV_SLICE_CHARS);
      let turns = 0;
      let ticking = true;
      const tick = (): void => {
        turns++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const order: string[] = [];
      const work = t.ctx.pipeline.perform('credit.bulkRecharge', { csv }, CLI_ACTOR).then((result) => {
        order.push('bulk');
        return result;
      });
      const health = t.inject({ method: 'GET', url: '/health' }).then((res) => {
        order.push('health');
        return res;
      });
      const [result, healthRes] = await Promise.all([work, health]);
      ticking = false;
      assert.equal(healthRes.statusCode, 200);
      assert.deepEqual(result, { count: rows.length, totalMinor: rows.length });
      assert.deepEqual(order, ['health', 'bulk']);
      assert.ok(turns >= slices / 2, `the event loop turned ${turns} times while ${slices} slices were parsed`);
      assert.deepEqual(await t.ctx.ledger.verify(), []);
    });
  });
}

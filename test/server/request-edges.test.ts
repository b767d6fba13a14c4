// Edges where readers of one request could disagree: a body that names one field twice (JSON.parse
// keeps the last value, a proxy or an audit tool may read the first), a path id written other than
// in digits (one user under many names); and answers no shared cache may keep.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import fc from 'fast-check';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { repeatedKey } from '../../src/json-keys.js';
import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

test('no repeated key in anything JSON.stringify writes', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      assert.equal(repeatedKey(JSON.stringify(value)), undefined);
    }),
  );
});

test('a repeated key is found wherever it is, decoded, and only within one object', () => {
  assert.equal(repeatedKey('{"amount":0.01,"amount":1000000}'), 'amount');
  assert.equal(repeatedKey('{"a":{"b":1,"c":[{"d":1},{"d":2,"d":3}]}}'), 'd');
  assert.equal(repeatedKey('{"a":1,"\\u0061":2}'), 'a');
  assert.equal(repeatedKey('{"x\\"y":1, "x\\"y" :2}'), 'x"y');
  assert.equal(repeatedKey('{"a":"{\\"a\\":1,\\"a\\":2}","b":["a","a"]}'), undefined, 'keys inside strings and equal array items are not keys');
  assert.equal(repeatedKey('[{"a":1},{"a":2}]'), undefined, 'two objects may share keys');
  assert.equal(repeatedKey('{"a":{"a":{"a":1}}}'), undefined, 'nesting is not repeating');
  assert.equal(repeatedKey(' { "a" : 1 , "b" : { } , "a" : [ ] } '), 'a');
});

for (const engine of ENGINES) {
  describe(`repeated JSON keys [${engine}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startApp(engine);
    });
    after(() => t.close());

    test('a recharge naming amount twice is a 400 and credits nothing', async () => {
      const { id } = await t.ctx.pipeline.perform('user.create', { username: `twice-${engine}` }, CLI_ACTOR);
      const headers = { ...bearer(await t.adminToken()), 'content-type': 'application/json' };
      const res = await t.inject({ method: 'POST', url: `/v3/users/${id}/accounts/credit/recharge`, headers, payload: '{"amount":0.01,"amount":1000000}' });
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(res.json<{ data: unknown }>().data, [{ field: 'body', problem: 'names the field "amount" more than once' }]);
      const balance = await t.inject({ method: 'GET', url: `/v3/users/${id}/accounts/credit/balance`, headers });
      assert.equal(balance.json<{ amount: number }>().amount, 0);
    });
  });
}

for (const engine of ENGINES) {
  describe(`one name per resource, and no shared caching [${engine}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startApp(engine);
    });
    after(() => t.close());

    test('a path id must be written in digits: 1e0, 0x1, 1.0 and " 1" are 400s, not user 1', async () => {
      const headers = bearer(await t.adminToken());
      assert.equal((await t.inject({ method: 'GET', url: '/v3/users/1', headers })).statusCode, 200);
      for (const id of ['1e0', '0x1', '1.0', '%201', '+1']) {
        const res = await t.inject({ method: 'GET', url: `/v3/users/${id}`, headers });
        assert.equal(res.statusCode, 400, `${id}: ${res.body}`);
        assert.equal(res.json<{ message: string }>().message, 'path parameter id must be a whole number');
      }
    });

    test('answers to authenticated calls say no-store, the token endpoint included', async () => {
      const headers = bearer(await t.adminToken());
      for (const url of ['/v3/users/1', '/v3/users/1/accounts/credit/balance', '/v3/no/such/route']) {
        assert.equal((await t.inject({ method: 'GET', url, headers })).headers['cache-control'], 'no-store', url);
      }
      const created = await t.inject({ method: 'POST', url: '/v3/webhooks', headers, payload: { url: 'https://example.org/hooks', events: ['payment.committed'] } });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.headers['cache-control'], 'no-store', 'the secret shown once is never cached');
    });
  });
}

// The business metrics and log lines an operator relies on, on both engines; /metrics behind a token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

for (const engine of ENGINES) {
  describe(`business metrics and logs [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;

    before(async () => {
      t = await startApp(engine, { metricsToken: 'metrics-token-0123456789' });
      admin = bearer(await t.adminToken());
    });
    after(() => t.close());

    test('/metrics needs the token when one is configured', async () => {
      assert.equal((await t.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
      assert.equal((await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode, 401);
      assert.equal((await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } })).statusCode, 200);
      assert.equal((await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'bearer metrics-token-0123456789' } })).statusCode, 200, 'the scheme in any case');
      assert.equal((await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'metrics-token-0123456789' } })).statusCode, 401, 'the scheme is needed');
    });

    test('money moved, recharge outcomes, credit outstanding, open holds, tokens and deliveries are counted; each business event logs a line', async () => {
      const { id: userId } = await t.ctx.pipeline.perform('user.create', { username: 'metric-user' }, CLI_ACTOR);
      const created = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers: admin, payload: { userId, params: { amount: 13 } } });
      await t.inject({ method: 'POST', url: `/v3/rechargeProviders/external/payments/${created.json<{ id: string }>().id}/commit`, headers: admin });
      const other = await t.inject({ method: 'POST', url: '/v3/rechargeProviders/external/payments', headers: admin, payload: { userId, params: { amount: 2 } } });
      await t.inject({ method: 'POST', url: `/v3/rechargeProviders/external/payments/${other.json<{ id: string }>().id}/rollback`, headers: admin, payload: {} });
      assert.equal((await t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/charges`, headers: admin, payload: { amount: 1.5 } })).statusCode, 201);
      assert.equal((await t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/holds`, headers: admin, payload: { amount: 2 } })).statusCode, 201);
      await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'client_credentials', client_id: 'nobody-at-all', client_secret: 'wrong-secret-0123456789' } });

      const text = (await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } })).body;
      const value = (line: string): number => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
      assert.equal(value('purse_recharges_total{provider="external",outcome="committed"}'), 1);
      assert.equal(value('purse_recharges_total{provider="external",outcome="rolledBack"}'), 1);
      assert.equal(value('purse_money_minor_total{movement="recharged"}'), 1300);
      assert.equal(value('purse_money_minor_total{movement="charged"}'), 150);
      assert.equal(value('purse_credit_minor{measure="outstanding"}'), 1150);
      assert.equal(value('purse_credit_minor{measure="held"}'), 200);
      assert.equal(value('purse_open_holds'), 1);
      assert.ok(value('purse_token_requests_total{outcome="granted"}') >= 1);
      assert.ok(value('purse_token_requests_total{outcome="refused"}') >= 1);
      assert.equal(value('purse_webhook_backlog'), 0);
      assert.equal(value('purse_webhook_oldest_undelivered_seconds'), 0);
      assert.match(text, /^purse_webhook_deliveries_total/m);
      assert.match(text, /^purse_voucher_failures_total 0$/m);

      const logs = t.logs.text;
      assert.match(logs, /"event":"payment\.committed"[^\n]*"msg":"business event"/);
      assert.match(logs, /"event":"charge\.posted"/);
      const refused = await t.inject({ method: 'POST', url: `/v3/users/${userId}/accounts/credit/charges`, headers: admin, payload: { amount: 1000 } });
      assert.equal(refused.statusCode, 402);
      const line = t.logs.text.split('\n').find((l) => l.includes('"msg":"request refused"') && l.includes('insufficient credit'));
      assert.ok(line, 'a 4xx logs its reason');
      assert.match(line, /"level":30/);
      assert.match(line, /"clientId":"[^"]+","userId":\d+/);
    });
  });
}

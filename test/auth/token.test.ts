// POST /api/auth/token: every grant and its failures, scope intersection, refresh rotation and
// reuse detection, expiry with a moved clock, the failure limit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ADMIN_PASSWORD, BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
  error?: string;
  code?: number;
}

for (const engine of ENGINES) {
  describe(`token endpoint [${engine}]`, () => {
    let t: TestApp;
    let limited: { id: string; secret: string };
    let alice: number;

    const token = async (payload: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const res = await t.inject({ method: 'POST', url: '/api/auth/token', payload, headers });
      return { status: res.statusCode, body: res.json<TokenBody>(), headers: res.headers };
    };
    const boot = { client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET };

    before(async () => {
      t = await startApp(engine);
      const admin = await t.ctx.users.resolve('admin');
      limited = await t.ctx.auth.createClient({ name: 'kiosk', scopes: 'credit offline.access', userId: admin.id }, CLI_ACTOR);
      const created = await t.ctx.pipeline.perform('user.create', { username: 'Alice', password: 'alice-password', pin: '4321', cards: ['CARD-AAA1'] }, CLI_ACTOR);
      alice = created.id;
    });
    after(() => t.close());

    test('client_credentials answers as MyQ does', async () => {
      const res = await token({ grant_type: 'client_credentials', scope: 'credit users', ...boot });
      assert.equal(res.status, 200);
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(res.body.expires_in, 1800);
      assert.equal(res.body.scope, 'credit users');
      assert.equal(res.body.refresh_token, undefined);
      assert.equal(res.headers['cache-control'], 'no-store');
      const me = await t.inject({ method: 'GET', url: '/v3/users/1', headers: bearer(res.body.access_token) });
      assert.equal(me.statusCode, 200);
    });

    test('form-encoded bodies and HTTP Basic client authentication work too', async () => {
      const form = await t.inject({
        method: 'POST',
        url: '/api/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=client_credentials&client_id=${BOOT_CLIENT_ID}&client_secret=${BOOT_CLIENT_SECRET}&scope=users`,
      });
      assert.equal(form.statusCode, 200);
      assert.equal(form.json<TokenBody>().scope, 'users');
      const basic = Buffer.from(`${BOOT_CLIENT_ID}:${BOOT_CLIENT_SECRET}`).toString('base64');
      const res = await token({ grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` });
      assert.equal(res.status, 200);
    });

    test('granted scopes are the requested ones the client is allowed; none requested gives all allowed', async () => {
      const all = await token({ grant_type: 'client_credentials', client_id: limited.id, client_secret: limited.secret });
      assert.equal(all.body.scope, 'credit offline.access');
      const narrowed = await token({ grant_type: 'client_credentials', client_id: limited.id, client_secret: limited.secret, scope: 'credit users' });
      assert.equal(narrowed.status, 200);
      assert.equal(narrowed.body.scope, 'credit');
      const none = await token({ grant_type: 'client_credentials', client_id: limited.id, client_secret: limited.secret, scope: 'users' });
      assert.equal(none.status, 400);
      assert.equal(none.body.error, 'invalid_scope');
    });

    test('unknown scope names are left out of the grant, and the granted scope says so; nothing left is invalid_scope', async () => {
      const unknown = await token({ grant_type: 'client_credentials', ...boot, scope: 'credit root print:all' });
      assert.equal(unknown.status, 200);
      assert.equal(unknown.body.scope, 'credit');
      const onlyUnknown = await token({ grant_type: 'client_credentials', ...boot, scope: 'root print:all' });
      assert.equal(onlyUnknown.status, 400);
      assert.equal(onlyUnknown.body.error, 'invalid_scope');
    });

    test('client failures are invalid_client 401 with MyQ code and message', async () => {
      for (const payload of [
        { grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: 'wrong' },
        { grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' },
        { grant_type: 'client_credentials' },
      ]) {
        const res = await token(payload);
        assert.equal(res.status, 401, JSON.stringify(payload));
        assert.equal(res.body.error, 'invalid_client');
        assert.equal(res.body.code, 401);
        assert.match(String(res.headers['www-authenticate']), /^Basic/);
      }
    });

    test('request failures are invalid_request and unsupported_grant_type 400', async () => {
      assert.equal((await token({ ...boot })).body.error, 'invalid_request');
      const unsupported = await token({ grant_type: 'password', ...boot });
      assert.equal(unsupported.status, 400);
      assert.equal(unsupported.body.error, 'unsupported_grant_type');
      assert.equal((await token({ grant_type: 'refresh_token', ...boot })).body.error, 'invalid_request');
      assert.equal((await token({ grant_type: 'login_info', ...boot })).body.error, 'invalid_request');
      assert.equal((await token({ grant_type: 'login_info', ...boot, login_info: { type: 9 } })).body.error, 'invalid_request');
      assert.equal((await token({ grant_type: 'login_info', ...boot, login_info: { type: 3, user: 'Alice' } })).body.error, 'invalid_request');
      assert.equal((await token({ grant_type: 'client_credentials', ...boot, scope: { all: true } })).body.error, 'invalid_request');
    });

    test('login_info: all five credential types log the person in, as themselves', async () => {
      const kinds = [
        { type: 1, card: 'card-aaa1' },
        { type: 2, pin: '4321' },
        { type: 3, user: 'alice', pwd: 'alice-password' },
        { type: 4, card: 'CARD-AAA1', pin: '4321' },
        { type: 5, card: 'CARD-AAA1', pwd: 'alice-password' },
      ];
      for (const login_info of kinds) {
        const res = await token({ grant_type: 'login_info', ...boot, scope: 'users', login_info });
        assert.equal(res.status, 200, JSON.stringify(login_info));
        const me = await t.inject({ method: 'GET', url: `/v3/users/${alice}`, headers: bearer(res.body.access_token) });
        assert.equal(me.statusCode, 200);
        const other = await t.inject({ method: 'GET', url: '/v3/users/1', headers: bearer(res.body.access_token) });
        assert.equal(other.statusCode, 403, 'a person without manageUsers reads only themselves');
      }
      const asText = await token({ grant_type: 'login_info', ...boot, login_info: JSON.stringify({ type: 2, pin: '4321' }) });
      assert.equal(asText.status, 200);
    });

    test('login_info failures say invalid_grant and never whether the user exists', async () => {
      const failures = [
        { type: 1, card: 'NO-SUCH-CARD' },
        { type: 2, pin: '0000' },
        { type: 3, user: 'alice', pwd: 'wrong-password' },
        { type: 3, user: 'nobody-here', pwd: 'wrong-password' },
        { type: 4, card: 'CARD-AAA1', pin: '9999' },
        { type: 5, card: 'CARD-AAA1', pwd: 'wrong-password' },
      ];
      const messages = new Set<string>();
      for (const login_info of failures) {
        const res = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'login_info', ...boot, login_info }, remoteAddress: `10.1.0.${login_info.type}` });
        assert.equal(res.statusCode, 400);
        const body = res.json<TokenBody & { message: string }>();
        assert.equal(body.error, 'invalid_grant');
        messages.add(body.message);
      }
      assert.equal(messages.size, 1, 'one message for every kind of failure');
    });

    test('an inactive person cannot log in', async () => {
      const bob = await t.ctx.pipeline.perform('user.create', { username: 'bob', password: 'bob-password', isActive: false }, CLI_ACTOR);
      const res = await token({ grant_type: 'login_info', ...boot, login_info: { type: 3, user: 'bob', pwd: 'bob-password' } });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_grant');
      assert.ok(bob.id > 0);
    });

    test('refresh tokens come only with offline.access, rotate on use, and a reused one kills the family', async () => {
      const first = await token({ grant_type: 'login_info', ...boot, scope: 'users offline.access', login_info: { type: 3, user: 'alice', pwd: 'alice-password' } });
      assert.equal(first.status, 200);
      const r1 = first.body.refresh_token;
      assert.ok(r1 !== undefined && r1.length >= 40);

      const second = await token({ grant_type: 'refresh_token', ...boot, refresh_token: r1 });
      assert.equal(second.status, 200);
      assert.equal(second.body.scope, 'users offline.access');
      const r2 = second.body.refresh_token;
      assert.ok(r2 !== undefined && r2 !== r1);
      const access2 = second.body.access_token;
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${alice}`, headers: bearer(access2) })).statusCode, 200);

      // r1 again: a replay. The whole family dies, including r2 and the access tokens it issued.
      const replay = await token({ grant_type: 'refresh_token', ...boot, refresh_token: r1 });
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');
      assert.equal((await token({ grant_type: 'refresh_token', ...boot, refresh_token: r2 })).body.error, 'invalid_grant');
      const revoked = await t.inject({ method: 'GET', url: `/v3/users/${alice}`, headers: bearer(access2) });
      assert.equal(revoked.statusCode, 401);
      assert.match(String(revoked.headers['www-authenticate']), /invalid_token/);
    });

    test('a refresh may narrow the scope but never widen it, and only for the client it was issued to', async () => {
      const first = await token({ grant_type: 'client_credentials', ...boot, scope: 'credit offline.access' });
      const r1 = first.body.refresh_token ?? '';
      const wider = await token({ grant_type: 'refresh_token', ...boot, refresh_token: r1, scope: 'credit users offline.access' });
      assert.equal(wider.status, 200);
      assert.equal(wider.body.scope, 'credit offline.access', 'users was not in the original grant');
      const other = await token({ grant_type: 'refresh_token', client_id: limited.id, client_secret: limited.secret, refresh_token: wider.body.refresh_token });
      assert.equal(other.body.error, 'invalid_grant');
      const narrower = await token({ grant_type: 'refresh_token', ...boot, refresh_token: wider.body.refresh_token, scope: 'credit' });
      assert.equal(narrower.status, 200);
      assert.equal(narrower.body.scope, 'credit');
      assert.equal(narrower.body.refresh_token, undefined, 'no offline.access, no refresh token');
      assert.equal((await token({ grant_type: 'refresh_token', ...boot, refresh_token: 'made-up' })).body.error, 'invalid_grant');
    });

    test('access tokens expire after 1800 s and refresh tokens after their TTL', async () => {
      const res = await token({ grant_type: 'client_credentials', ...boot, scope: 'users offline.access' });
      const headers = bearer(res.body.access_token);
      t.clock.advance(1799_000);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/users/1', headers })).statusCode, 200);
      t.clock.advance(1_000);
      const expired = await t.inject({ method: 'GET', url: '/v3/users/1', headers });
      assert.equal(expired.statusCode, 401);
      assert.match(expired.json<{ message: string }>().message, /expired/);
      t.clock.advance(t.ctx.config.refreshTokenTtlSeconds * 1000);
      assert.equal((await token({ grant_type: 'refresh_token', ...boot, refresh_token: res.body.refresh_token })).body.error, 'invalid_grant');
    });

    test('a revoked client can neither get tokens nor use the ones it has', async () => {
      const admin = await t.ctx.users.resolve('admin');
      const doomed = await t.ctx.auth.createClient({ name: 'doomed', scopes: 'users', userId: admin.id }, CLI_ACTOR);
      const res = await token({ grant_type: 'client_credentials', client_id: doomed.id, client_secret: doomed.secret });
      await t.ctx.auth.revokeClient(doomed.id, CLI_ACTOR);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/users/1', headers: bearer(res.body.access_token) })).statusCode, 401);
      assert.equal((await token({ grant_type: 'client_credentials', client_id: doomed.id, client_secret: doomed.secret })).status, 401);
    });

    test('20 failures a minute per address → 429 with Retry-After, for good credentials too', async () => {
      const remoteAddress = '10.9.9.9';
      const attempt = (secret: string) =>
        t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress, payload: { grant_type: 'client_credentials', client_id: limited.id, client_secret: secret } });
      for (let i = 0; i < 20; i++) assert.equal((await attempt('wrong')).statusCode, 401);
      const blocked = await attempt(limited.secret);
      assert.equal(blocked.statusCode, 429);
      assert.ok(Number(blocked.headers['retry-after']) > 0 && Number(blocked.headers['retry-after']) <= 60);
      // Wrong secrets do not lock the real client out elsewhere: anyone can type a client id.
      const elsewhere = await t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress: '10.9.9.10', payload: { grant_type: 'client_credentials', client_id: limited.id, client_secret: limited.secret } });
      assert.equal(elsewhere.statusCode, 200);
      t.clock.advance(60_000);
      assert.equal((await attempt(limited.secret)).statusCode, 200);
    });

    test('150 concurrent wrong secrets from one address: 20 are checked and answered 401, the rest 429 with Retry-After', async () => {
      const remoteAddress = '10.7.7.7';
      const answers = await Promise.all(
        Array.from({ length: 150 }, () => t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress, payload: { grant_type: 'client_credentials', client_id: limited.id, client_secret: 'wrong' } })),
      );
      const statuses = answers.map((res) => res.statusCode);
      assert.equal(statuses.filter((s) => s === 401).length, 20);
      assert.equal(statuses.filter((s) => s === 429).length, 130);
      for (const res of answers.filter((r) => r.statusCode === 429)) assert.equal(res.headers['retry-after'], '60');
      t.clock.advance(60_000);
    });

    test('150 concurrent right secrets from one address all get their token: attempts under way wait, they are not refused', async () => {
      const answers = await Promise.all(
        Array.from({ length: 150 }, () => t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress: '10.7.7.8', payload: { grant_type: 'client_credentials', client_id: limited.id, client_secret: limited.secret } })),
      );
      assert.deepEqual(new Set(answers.map((res) => res.statusCode)), new Set([200]));
    });

    test('one person’s 20 wrong logins a minute lock out that person at that client, not the client nor anyone else', async () => {
      await t.ctx.pipeline.perform('user.create', { username: 'carol', password: 'carol-password' }, CLI_ACTOR);
      const login = (address: string, user: string, pwd: string, client = limited) =>
        t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress: address, payload: { grant_type: 'login_info', client_id: client.id, client_secret: client.secret, login_info: { type: 3, user, pwd } } });
      for (let i = 0; i < 20; i++) assert.equal((await login(`10.8.0.${i}`, i % 2 === 0 ? 'alice' : 'ALICE', 'guessing')).statusCode, 400);
      const blocked = await login('10.8.1.1', 'alice', 'alice-password');
      assert.equal(blocked.statusCode, 429, 'the login name is limited from any address, in any case');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      assert.equal((await login('10.8.1.2', 'carol', 'carol-password')).statusCode, 200, 'another person of the client logs in');
      const grant = await t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress: '10.8.1.3', payload: { grant_type: 'client_credentials', client_id: limited.id, client_secret: limited.secret } });
      assert.equal(grant.statusCode, 200, 'the client’s own grant still works');
      t.clock.advance(60_000);
      assert.equal((await login('10.8.1.1', 'alice', 'alice-password')).statusCode, 200);
    });

    test('20 wrong logins a minute from one address refuse that address, whoever logs in, and no other', async () => {
      const login = (address: string, user: string, pwd: string) =>
        t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress: address, payload: { grant_type: 'login_info', ...boot, login_info: { type: 3, user, pwd } } });
      for (let i = 0; i < 20; i++) assert.equal((await login('10.8.2.1', `someone-${i}`, 'guessing')).statusCode, 400);
      assert.equal((await login('10.8.2.1', 'alice', 'alice-password')).statusCode, 429);
      assert.equal((await login('10.8.2.2', 'alice', 'alice-password')).statusCode, 200);
      // A card with a PIN names its holder: guessing that PIN counts against the card at the client.
      for (let i = 0; i < 20; i++) {
        const res = await t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress: `10.8.3.${i}`, payload: { grant_type: 'login_info', ...boot, login_info: { type: 4, card: 'CARD-AAA1', pin: '0000' } } });
        assert.equal(res.statusCode, 400);
      }
      const card = await t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress: '10.8.3.99', payload: { grant_type: 'login_info', ...boot, login_info: { type: 4, card: 'card-aaa1', pin: '4321' } } });
      assert.equal(card.statusCode, 429);
      t.clock.advance(60_000);
    });

    test('the administrator created on first start can log in with the configured password', async () => {
      const res = await token({ grant_type: 'login_info', ...boot, login_info: { type: 3, user: 'admin', pwd: ADMIN_PASSWORD } });
      assert.equal(res.status, 200);
    });
  });
}

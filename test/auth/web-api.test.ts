// What the web app needs of the API besides logging in: revocation (RFC 7009), /v3/me and the
// password change, API clients over HTTP, ledger verify, and the security headers on every answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import type { Right } from '../../src/auth/scopes.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';
import { authorizeParams, openPage, pkce, webSession } from '../helpers/web-login.js';

const STRICT_CSP = "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none';object-src 'none'";

for (const engine of ENGINES) {
  describe(`the web app's API [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    const ids: Record<string, number> = {};

    const person = async (username: string, rights: Right[] = []) => {
      ids[username] = (await t.ctx.pipeline.perform('user.create', { username, password: `${username}-password`, rights }, CLI_ACTOR)).id;
    };
    const revoke = (payload: Record<string, string>, headers: Record<string, string> = {}) => t.inject({ method: 'POST', url: '/api/auth/revoke', headers, payload });
    const me = (access: string) => t.inject({ method: 'GET', url: '/v3/me', headers: bearer(access) });
    const refresh = async (token: string, client: Record<string, string> = { client_id: 'purse-web' }) =>
      (await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'refresh_token', refresh_token: token, ...client } })).statusCode;

    before(async () => {
      t = await startApp(engine, { tokenFailuresPerMinute: 1000 });
      admin = bearer(await t.adminToken());
      await person('carol');
      await person('dan');
      await person('sam', ['manageSettings']);
    });
    after(() => t.close());

    // ---- revoke ----

    test('revoking the refresh token ends the session: it no longer refreshes and its access token is refused at once', async () => {
      const session = await webSession(t, 'carol', 'carol-password');
      assert.equal((await me(session.access)).statusCode, 200);
      const res = await revoke({ token: session.refresh, token_type_hint: 'refresh_token', client_id: 'purse-web' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, '');
      assert.equal((await me(session.access)).statusCode, 401);
      assert.equal(await refresh(session.refresh), 400);
    });

    test('revoking the access token ends its session too, form-encoded and without a hint', async () => {
      const session = await webSession(t, 'carol', 'carol-password');
      const res = await t.inject({ method: 'POST', url: '/api/auth/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token: session.access, client_id: 'purse-web' }).toString() });
      assert.equal(res.statusCode, 200);
      assert.equal((await me(session.access)).statusCode, 401);
      assert.equal(await refresh(session.refresh), 400);
    });

    test('an unknown or already revoked token → 200; bad client authentication → 401 invalid_client', async () => {
      const session = await webSession(t, 'carol', 'carol-password');
      assert.equal((await revoke({ token: 'no-such-token', client_id: 'purse-web' })).statusCode, 200);
      assert.equal((await revoke({ token: session.refresh, client_id: 'purse-web' })).statusCode, 200);
      assert.equal((await revoke({ token: session.refresh, client_id: 'purse-web' })).statusCode, 200);
      const wrongSecret = await revoke({ token: session.refresh, client_id: BOOT_CLIENT_ID, client_secret: 'wrong-secret' });
      assert.equal(wrongSecret.statusCode, 401);
      assert.equal(wrongSecret.json<{ error: string }>().error, 'invalid_client');
      const noToken = await revoke({ client_id: 'purse-web' });
      assert.equal(noToken.statusCode, 400);
      assert.equal(noToken.json<{ error: string }>().error, 'invalid_request');
    });

    test("a client cannot revoke another client's token: 200, and the token still works", async () => {
      const session = await webSession(t, 'carol', 'carol-password');
      const basic = `Basic ${Buffer.from(`${BOOT_CLIENT_ID}:${BOOT_CLIENT_SECRET}`).toString('base64')}`;
      assert.equal((await revoke({ token: session.refresh }, { authorization: basic })).statusCode, 200);
      assert.equal((await revoke({ token: session.access, token_type_hint: 'access_token' }, { authorization: basic })).statusCode, 200);
      assert.equal((await me(session.access)).statusCode, 200);
      assert.equal(await refresh(session.refresh), 200);
    });

    test('a confidential client revokes its own refresh token with its secret', async () => {
      const res = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, scope: 'users offline.access', login_info: { type: 3, user: 'dan', pwd: 'dan-password' } } });
      const tokens = res.json<{ access_token: string; refresh_token: string }>();
      assert.equal((await revoke({ token: tokens.refresh_token, client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET })).statusCode, 200);
      assert.equal(await refresh(tokens.refresh_token, { client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET }), 400);
      assert.equal((await me(tokens.access_token)).statusCode, 401);
    });

    test('an unknown token_type_hint is ignored (RFC 7009 §2.1): the session still ends', async () => {
      const session = await webSession(t, 'carol', 'carol-password');
      const res = await revoke({ token: session.refresh, token_type_hint: 'foo', client_id: 'purse-web' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await me(session.access)).statusCode, 401);
    });

    test('an access token outside any session cannot be revoked: 400 unsupported_token_type', async () => {
      const access = await t.adminToken('users');
      const res = await revoke({ token: access, client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json<{ error: string }>().error, 'unsupported_token_type');
    });

    // ---- /v3/me and the password ----

    test('GET /v3/me: the person, their rights and the token scopes, with any scope', async () => {
      const session = await webSession(t, 'sam', 'sam-password');
      const res = await me(session.access);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { id: ids.sam, username: 'sam', fullname: '', email: '', rights: ['manageSettings'], scopes: ['credit', 'users', 'offline.access', 'payments', 'settings'] });
      const narrow = await t.personToken('dan', 'dan-password', 'credit');
      const mine = await me(narrow);
      assert.equal(mine.statusCode, 200);
      assert.equal(mine.json<{ username: string }>().username, 'dan');
      assert.deepEqual(mine.json<{ scopes: string[] }>().scopes, ['credit']);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/me' })).statusCode, 401);
    });

    test('a password change keeps the session that asked and ends the others; a wrong current password is a 400 naming it', async () => {
      await person('erin');
      const asking = await webSession(t, 'erin', 'erin-password');
      const other = await webSession(t, 'erin', 'erin-password');
      const change = (payload: Record<string, string>) => t.inject({ method: 'POST', url: '/v3/me/password', headers: bearer(asking.access), payload });
      const wrong = await change({ currentPassword: 'not-it', newPassword: 'erin-password-2' });
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.json<{ data: { field: string }[] }>().data[0]?.field, 'currentPassword');
      assert.equal((await me(other.access)).statusCode, 200, 'a refused change ends nothing');
      const short = await change({ currentPassword: 'erin-password', newPassword: 'short' });
      assert.equal(short.statusCode, 400);
      const res = await change({ currentPassword: 'erin-password', newPassword: 'erin-password-2' });
      assert.equal(res.statusCode, 204, res.body);
      assert.equal((await me(asking.access)).statusCode, 200);
      assert.equal(await refresh(asking.refresh), 200);
      assert.equal((await me(other.access)).statusCode, 401);
      assert.equal(await refresh(other.refresh), 400);
      await webSession(t, 'erin', 'erin-password-2');
    });

    test('a client acting as a person may not change their password: 403 whether the password given is right or wrong', async () => {
      const client = (await t.inject({ method: 'POST', url: '/v3/clients', headers: admin, payload: { name: 'as carol', scopes: ['users'], userId: ids.carol } })).json<{ id: string; secret: string }>();
      const token = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret } });
      const headers = bearer(token.json<{ access_token: string }>().access_token);
      for (const currentPassword of ['carol-password', 'not-carols-password']) {
        const res = await t.inject({ method: 'POST', url: '/v3/me/password', headers, payload: { currentPassword, newPassword: 'carol-password-2' } });
        assert.equal(res.statusCode, 403, currentPassword);
      }
      await webSession(t, 'carol', 'carol-password');
    });

    // ---- API clients ----

    test('clients: create (secret shown once, and it works), list, revoke; purse-web is listed and cannot be revoked', async () => {
      const created = await t.inject({ method: 'POST', url: '/v3/clients', headers: admin, payload: { name: 'Print server', scopes: ['users', 'credit'], userId: ids.dan } });
      assert.equal(created.statusCode, 201, created.body);
      const client = created.json<{ id: string; secret: string; scopes: string[]; userId: number; revoked: boolean; name: string }>();
      assert.equal(client.name, 'Print server');
      assert.deepEqual(client.scopes, ['users', 'credit']);
      assert.equal(client.userId, ids.dan);
      assert.equal(client.revoked, false);
      const token = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret } });
      assert.equal(token.statusCode, 200);
      const list = await t.inject({ method: 'GET', url: '/v3/clients', headers: admin });
      assert.equal(list.statusCode, 200);
      const listed = list.json<{ clients: { id: string; secret?: string }[]; count: number }>();
      assert.equal(listed.count, listed.clients.length);
      assert.ok(listed.clients.some((c) => c.id === 'purse-web'));
      assert.ok(listed.clients.every((c) => c.secret === undefined));
      const revoked = await t.inject({ method: 'POST', url: `/v3/clients/${client.id}/revoke`, headers: admin });
      assert.equal(revoked.statusCode, 200);
      assert.equal(revoked.json<{ revoked: boolean }>().revoked, true);
      assert.equal((await me(token.json<{ access_token: string }>().access_token)).statusCode, 401);
      const web = await t.inject({ method: 'POST', url: '/v3/clients/purse-web/revoke', headers: admin });
      assert.equal(web.statusCode, 409);
      assert.equal((await t.inject({ method: 'POST', url: '/v3/clients/no-such-client/revoke', headers: admin })).statusCode, 404);
    });

    test('clients need manageSettings; below admin, only a client acting as oneself', async () => {
      const sam = bearer((await webSession(t, 'sam', 'sam-password')).access);
      const dan = bearer((await webSession(t, 'dan', 'dan-password')).access);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/clients', headers: dan })).statusCode, 403);
      assert.equal((await t.inject({ method: 'POST', url: '/v3/clients', headers: dan, payload: { name: 'x', scopes: ['users'], userId: ids.dan } })).statusCode, 403);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/clients', headers: sam })).statusCode, 200);
      const forAdmin = await t.inject({ method: 'POST', url: '/v3/clients', headers: sam, payload: { name: 'escalate', scopes: ['users'], userId: 1 } });
      assert.equal(forAdmin.statusCode, 403);
      const own = await t.inject({ method: 'POST', url: '/v3/clients', headers: sam, payload: { name: 'mine', scopes: ['settings'], userId: ids.sam } });
      assert.equal(own.statusCode, 201, own.body);
      const bad = await t.inject({ method: 'POST', url: '/v3/clients', headers: admin, payload: { name: 'x', scopes: ['root'], userId: ids.dan } });
      assert.equal(bad.statusCode, 400);
    });

    test('below admin, one lists and revokes only the clients acting as oneself; another\'s is a 404 and keeps working', async () => {
      const sam = bearer((await webSession(t, 'sam', 'sam-password')).access);
      const adminsClient = (await t.inject({ method: 'POST', url: '/v3/clients', headers: admin, payload: { name: 'admin tool', scopes: ['users'], userId: 1 } })).json<{ id: string; secret: string }>();
      const samsClient = (await t.inject({ method: 'POST', url: '/v3/clients', headers: sam, payload: { name: 'sam tool', scopes: ['settings'], userId: ids.sam } })).json<{ id: string }>();
      const listed = (await t.inject({ method: 'GET', url: '/v3/clients', headers: sam })).json<{ clients: { id: string; userId: number }[]; count: number }>();
      assert.ok(listed.clients.length > 0);
      assert.ok(listed.clients.every((c) => c.userId === ids.sam), 'only sam\'s own');
      assert.equal(listed.count, listed.clients.length);
      const all = (await t.inject({ method: 'GET', url: '/v3/clients', headers: admin })).json<{ clients: { id: string }[] }>();
      assert.ok(all.clients.some((c) => c.id === adminsClient.id) && all.clients.some((c) => c.id === samsClient.id), 'admin sees everyone\'s');
      const foreign = await t.inject({ method: 'POST', url: `/v3/clients/${adminsClient.id}/revoke`, headers: sam });
      assert.equal(foreign.statusCode, 404);
      const token = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'client_credentials', client_id: adminsClient.id, client_secret: adminsClient.secret } });
      assert.equal(token.statusCode, 200, 'the admin\'s client still works');
      assert.equal((await t.inject({ method: 'POST', url: `/v3/clients/${samsClient.id}/revoke`, headers: sam })).statusCode, 200);
      assert.equal((await t.inject({ method: 'POST', url: `/v3/clients/${adminsClient.id}/revoke`, headers: admin })).statusCode, 200);
    });

    test('a new client\'s scopes must be some of the creating token\'s, for admin too: else 400 naming scopes', async () => {
      const samSettings = bearer(await t.personToken('sam', 'sam-password', 'settings'));
      const adminSettings = bearer(await t.adminToken('settings'));
      for (const [headers, userId] of [[samSettings, ids.sam], [adminSettings, ids.dan]] as const) {
        const res = await t.inject({ method: 'POST', url: '/v3/clients', headers, payload: { name: 'wider', scopes: ['settings', 'credit'], userId } });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json<{ data: { field: string }[] }>().data[0]?.field, 'scopes');
        assert.equal((await t.inject({ method: 'POST', url: '/v3/clients', headers, payload: { name: 'same', scopes: ['settings'], userId } })).statusCode, 201);
      }
    });

    test('a client\'s userId beyond the safe integers is a 400 naming it, on both engines', async () => {
      const res = await t.inject({ method: 'POST', url: '/v3/clients', headers: { ...admin, 'content-type': 'application/json' }, payload: '{"name":"big","scopes":["users"],"userId":1e300}' });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.body, /userId/);
    });

    // ---- ledger verify ----

    test('POST /v3/ledger/verify: ok with no problems, for admin only', async () => {
      const res = await t.inject({ method: 'POST', url: '/v3/ledger/verify', headers: admin });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<{ ok: boolean; problems: string[]; checkedAt: string }>();
      assert.equal(body.ok, true);
      assert.deepEqual(body.problems, []);
      assert.equal(body.checkedAt, new Date(t.clock.nowMs()).toISOString());
      const sam = bearer((await webSession(t, 'sam', 'sam-password')).access);
      assert.equal((await t.inject({ method: 'POST', url: '/v3/ledger/verify', headers: sam })).statusCode, 403);
    });

    test('POST /v3/ledger/verify reports a tampered balance', async () => {
      await t.ctx.db.write((tx) => tx.run('UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE id = (SELECT min(id) FROM ledger_accounts)'));
      try {
        const body = (await t.inject({ method: 'POST', url: '/v3/ledger/verify', headers: admin })).json<{ ok: boolean; problems: string[] }>();
        assert.equal(body.ok, false);
        assert.ok(body.problems.length > 0);
      } finally {
        await t.ctx.db.write((tx) => tx.run('UPDATE ledger_accounts SET balance_minor = balance_minor - 1 WHERE id = (SELECT min(id) FROM ledger_accounts)'));
      }
    });

    // ---- security headers ----

    test('helmet headers on every answer; the strict CSP on the login page and on /; /docs keeps its own', async () => {
      const page = (await openPage(t, authorizeParams(pkce().challenge))).res;
      const root = await t.inject({ method: 'GET', url: '/' });
      const api = await t.inject({ method: 'GET', url: '/health' });
      for (const res of [page, root, api]) {
        assert.equal(res.headers['content-security-policy'], STRICT_CSP);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
        assert.equal(res.headers['referrer-policy'], 'same-origin');
        assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin');
        assert.ok(res.headers['strict-transport-security'] !== undefined);
      }
      for (const url of ['/docs', '/docs/static/swagger-initializer.js']) {
        const docs = await t.inject({ method: 'GET', url });
        assert.ok(docs.statusCode < 400, `${url} → ${docs.statusCode}`);
        assert.match(String(docs.headers['content-security-policy']), /style-src 'self' 'unsafe-inline'/, url);
      }
    });
  });
}

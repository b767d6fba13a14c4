// The web app's login: the authorization code with PKCE (RFC 6749 §4.1, RFC 7636), end to end over
// HTTP — the login page, its CSRF defence and failure limit, and the code at the token endpoint.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';
import { authorizeParams, codeFor, openPage, ORIGIN, pkce, redeem, REDIRECT_URI, submit } from '../helpers/web-login.js';

const ALICE = { method: 'password', username: 'alice', password: 'alice-password' };

for (const engine of ENGINES) {
  describe(`authorization code with PKCE [${engine}]`, () => {
    let t: TestApp;
    let aliceId: number;

    const readSelf = async (access: string) => (await t.inject({ method: 'GET', url: `/v3/users/${aliceId}`, headers: bearer(access) })).statusCode;
    const refresh = async (token: string) => {
      const res = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'refresh_token', client_id: 'purse-web', refresh_token: token } });
      return { status: res.statusCode, body: res.json<{ refresh_token?: string; error?: string }>() };
    };

    before(async () => {
      t = await startApp(engine, { tokenFailuresPerMinute: 1000 });
      aliceId = (await t.ctx.pipeline.perform('user.create', { username: 'alice', password: 'alice-password', cards: ['CARD-ALICE'], pin: '4321' }, CLI_ACTOR)).id;
    });
    after(() => t.close());

    test('the login page: HTML with labelled fields for both ways in, and a Strict, HttpOnly CSRF cookie for /oauth', async () => {
      const pair = pkce();
      const { res, csrf } = await openPage(t, authorizeParams(pair.challenge));
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      for (const id of ['password-username', 'password-password', 'card-card', 'card-pin']) assert.match(res.body, new RegExp(`<label for="${id}">`));
      assert.match(res.body, /<link rel="stylesheet" href="\/oauth\/login.css">/);
      assert.doesNotMatch(res.body, /<script|<style|style=/, 'no inline script or style');
      assert.match(res.body, new RegExp(`name="csrf" value="${csrf}"`));
      const cookie = res.cookies.find((c) => c.name === 'purse_oauth_csrf');
      assert.ok(cookie !== undefined);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(cookie.path, '/oauth');
      const css = await t.inject({ method: 'GET', url: '/oauth/login.css' });
      assert.equal(css.statusCode, 200);
      assert.match(String(css.headers['content-type']), /^text\/css/);
    });

    test('every value on the page is escaped', async () => {
      const { res } = await openPage(t, authorizeParams(pkce().challenge, { state: '"><script>alert(1)</script>' }));
      assert.equal(res.statusCode, 200);
      assert.doesNotMatch(res.body, /<script>/);
      assert.match(res.body, /value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
    });

    test('the whole flow: log in on the page, 303 back with code and state, the code and verifier give tokens that work and refresh', async () => {
      const pair = pkce();
      const res = await submit(t, authorizeParams(pair.challenge), ALICE);
      assert.equal(res.statusCode, 303, res.body);
      const location = new URL(String(res.headers.location));
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
      assert.equal(location.searchParams.get('state'), 'state-123');
      const code = location.searchParams.get('code') ?? '';
      const answer = await redeem(t, code, pair.verifier);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.token_type, 'Bearer');
      assert.equal(answer.body.scope, 'credit users offline.access payments settings');
      assert.equal(await readSelf(answer.body.access_token), 200);
      const renewed = await refresh(answer.body.refresh_token ?? '');
      assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
      assert.ok(!(await t.ctx.db.read((q) => q.all<{ code_key: string }>('SELECT code_key FROM authorization_codes'))).some((row) => row.code_key === code), 'only a keyed hash of the code is stored');
      for (const secret of [code, pair.verifier, 'alice-password', answer.body.access_token, answer.body.refresh_token ?? '']) assert.ok(!t.logs.text.includes(secret), 'no code, verifier, password or token in the logs');
    });

    test('card and PIN log in too; a narrower scope is granted as asked', async () => {
      const pair = pkce();
      const code = await codeFor(t, pair, { method: 'card', card: 'CARD-ALICE', pin: '4321' }, { scope: 'users' });
      const answer = await redeem(t, code, pair.verifier);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.scope, 'users');
      assert.equal(answer.body.refresh_token, undefined);
      assert.equal(await readSelf(answer.body.access_token), 200);
    });

    test('an account holding any right logs in on the page only with its password: card + PIN is the same 401 as a wrong PIN', async () => {
      await t.ctx.pipeline.perform('user.create', { username: 'rita', password: 'rita-password', cards: ['CARD-RITA'], pin: '9876', rights: ['manageSettings'] }, CLI_ACTOR);
      const params = authorizeParams(pkce().challenge);
      const refused = await submit(t, params, { method: 'card', card: 'CARD-RITA', pin: '9876' });
      const wrongPin = await submit(t, params, { method: 'card', card: 'CARD-RITA', pin: '0000' });
      for (const res of [refused, wrongPin]) {
        assert.equal(res.statusCode, 401);
        assert.equal(res.headers.location, undefined);
        assert.match(res.body, /card or PIN is not valid/);
      }
      assert.equal((await submit(t, params, { method: 'password', username: 'rita', password: 'rita-password' })).statusCode, 303);
    });

    test('a code not yet redeemed is used up by a change that ends the sessions (password, rights) or by a password change', async () => {
      const target = (await t.ctx.pipeline.perform('user.create', { username: 'quinn', password: 'quinn-password' }, CLI_ACTOR)).id;
      const quinn = { method: 'password', username: 'quinn', password: 'quinn-password' };
      const changes: [string, () => Promise<unknown>][] = [
        ['password', () => t.ctx.pipeline.perform('user.update', { id: target, password: 'quinn-password-2' }, CLI_ACTOR)],
        ['rights', () => t.ctx.pipeline.perform('user.update', { id: target, rights: ['manageUsers'] }, CLI_ACTOR)],
      ];
      for (const [what, change] of changes) {
        const pair = pkce();
        const code = await codeFor(t, pair, quinn);
        await change();
        const late = await redeem(t, code, pair.verifier);
        assert.equal(late.status, 400, what);
        assert.equal(late.body.error, 'invalid_grant', what);
        quinn.password = 'quinn-password-2';
      }
      const pair = pkce();
      const session = await redeem(t, await codeFor(t, pair, quinn), pair.verifier);
      assert.equal(session.status, 200);
      const pending = pkce();
      const code = await codeFor(t, pending, quinn);
      const changed = await t.inject({ method: 'POST', url: '/v3/me/password', headers: bearer(session.body.access_token), payload: { currentPassword: 'quinn-password-2', newPassword: 'quinn-password-3' } });
      assert.equal(changed.statusCode, 204, changed.body);
      assert.equal((await redeem(t, code, pending.verifier)).body.error, 'invalid_grant');
    });

    test('a Host that is no host[:port] is a 400 page, never a 500 nor the origin of what follows an @', async () => {
      const query = new URLSearchParams(authorizeParams(pkce().challenge, { redirect_uri: 'http://evil.com/callback' })).toString();
      for (const host of ['foo bar', '[::1', '', '127.0.0.1:8080@evil.com', 'localhost:99999']) {
        const res = await t.inject({ method: 'GET', url: `/oauth/authorize?${query}`, headers: { host } });
        assert.equal(res.statusCode, 400, JSON.stringify(host));
        assert.equal(res.headers.location, undefined);
        assert.match(String(res.headers['content-type']), /^text\/html/);
      }
      const own = await t.inject({ method: 'GET', url: `/oauth/authorize?${new URLSearchParams(authorizeParams(pkce().challenge, { redirect_uri: 'http://[::1]:8080/callback' })).toString()}`, headers: { host: '[::1]:8080' } });
      assert.equal(own.statusCode, 200, 'an IPv6 address with a port is a host');
    });

    test('a wrong verifier is invalid_grant and leaves the code usable with the right one', async () => {
      const pair = pkce();
      const code = await codeFor(t, pair, ALICE);
      const wrong = await redeem(t, code, pkce().verifier);
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error, 'invalid_grant');
      assert.equal((await redeem(t, code, pair.verifier)).status, 200);
    });

    test('a code works once: the second use is invalid_grant and revokes what the first gave', async () => {
      const pair = pkce();
      const code = await codeFor(t, pair, ALICE);
      const first = await redeem(t, code, pair.verifier);
      assert.equal(first.status, 200);
      const second = await redeem(t, code, pair.verifier);
      assert.equal(second.status, 400);
      assert.equal(second.body.error, 'invalid_grant');
      assert.equal(await readSelf(first.body.access_token), 401);
      assert.equal((await refresh(first.body.refresh_token ?? '')).body.error, 'invalid_grant');
    });

    test('a code expires after 60 seconds', async () => {
      const pair = pkce();
      const code = await codeFor(t, pair, ALICE);
      t.clock.advance(60_001);
      const late = await redeem(t, code, pair.verifier);
      assert.equal(late.status, 400);
      assert.equal(late.body.error, 'invalid_grant');
      assert.match(late.body.error_description ?? '', /expired/);
    });

    test('the code is bound to its redirect_uri and its client', async () => {
      const pair = pkce();
      const code = await codeFor(t, pair, ALICE);
      assert.equal((await redeem(t, code, pair.verifier, { redirect_uri: `${ORIGIN}/elsewhere` })).body.error, 'invalid_grant');
      const other = await redeem(t, code, pair.verifier, { client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET });
      assert.equal(other.status, 400);
      assert.equal(other.body.error, 'invalid_grant');
      assert.equal((await redeem(t, code, pair.verifier)).status, 200, 'the failed tries did not use it up');
    });

    test('purse-web is a public client: no client_credentials or login_info, and a secret sent with it is refused', async () => {
      const asWeb = (payload: Record<string, unknown>) => t.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: 'purse-web', ...payload } });
      const credentials = await asWeb({ grant_type: 'client_credentials' });
      assert.equal(credentials.statusCode, 400);
      assert.equal(credentials.json<{ error: string }>().error, 'unauthorized_client');
      const login = await asWeb({ grant_type: 'login_info', login_info: { type: 3, user: 'alice', pwd: 'alice-password' } });
      assert.equal(login.json<{ error: string }>().error, 'unauthorized_client');
      const withSecret = await asWeb({ grant_type: 'refresh_token', refresh_token: 'x', client_secret: 'guess' });
      assert.equal(withSecret.statusCode, 401);
      assert.equal(withSecret.json<{ error: string }>().error, 'invalid_client');
    });

    test('a wrong client or redirect_uri is an error page, never a redirect', async () => {
      const challenge = pkce().challenge;
      for (const overrides of [{ client_id: BOOT_CLIENT_ID }, { client_id: undefined }, { redirect_uri: 'https://evil.example/callback' }, { redirect_uri: `${ORIGIN}/callback/x` }]) {
        const { res } = await openPage(t, authorizeParams(challenge, overrides));
        assert.equal(res.statusCode, 400, JSON.stringify(overrides));
        assert.equal(res.headers.location, undefined);
        assert.match(String(res.headers['content-type']), /^text\/html/);
      }
      const tooLong = await openPage(t, authorizeParams(challenge, { state: 'x'.repeat(2000) }));
      assert.equal(tooLong.res.statusCode, 400);
      assert.match(tooLong.res.body, /state/);
      const posted = await submit(t, authorizeParams(challenge, { redirect_uri: 'https://evil.example/callback' }), ALICE, { csrf: 'x'.repeat(43) });
      assert.equal(posted.statusCode, 400);
      assert.equal(posted.headers.location, undefined);
    });

    test('other bad parameters redirect back with the error and the state', async () => {
      const challenge = pkce().challenge;
      const cases: [Record<string, string | undefined>, string][] = [
        [{ code_challenge_method: 'plain' }, 'invalid_request'],
        [{ code_challenge_method: undefined }, 'invalid_request'],
        [{ code_challenge: 'short' }, 'invalid_request'],
        [{ response_type: 'token' }, 'unsupported_response_type'],
        [{ scope: 'nothing-known' }, 'invalid_scope'],
      ];
      for (const [overrides, error] of cases) {
        const { res } = await openPage(t, authorizeParams(challenge, overrides));
        assert.equal(res.statusCode, 303, JSON.stringify(overrides));
        const location = new URL(String(res.headers.location));
        assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
        assert.equal(location.searchParams.get('error'), error);
        assert.ok((location.searchParams.get('error_description') ?? '') !== '');
        assert.equal(location.searchParams.get('state'), 'state-123');
      }
    });

    test('wrong credentials re-render the form (401) with one message for a wrong name or a wrong password', async () => {
      const params = authorizeParams(pkce().challenge);
      const wrongPassword = await submit(t, params, { ...ALICE, password: 'nope' });
      const noSuchUser = await submit(t, params, { ...ALICE, username: 'nobody' });
      for (const res of [wrongPassword, noSuchUser]) {
        assert.equal(res.statusCode, 401);
        assert.match(res.body, /<p class="problem" id="password-password-problem" role="alert">username or password is not valid<\/p>/);
        assert.match(res.body, /aria-describedby="password-password-problem"/);
      }
      const missing = await submit(t, params, { method: 'card', card: 'CARD-ALICE' });
      assert.equal(missing.statusCode, 400);
      assert.match(missing.body, /PIN is required/);
    });

    test('CSRF: no cookie, another token, a foreign Origin or no Origin at all → 403 and no code', async () => {
      const params = authorizeParams(pkce().challenge);
      const { csrf } = await openPage(t, params);
      const refusals = [
        await submit(t, params, ALICE, { csrf, cookie: null }),
        await submit(t, params, ALICE, { csrf, cookie: 'y'.repeat(43) }),
        await submit(t, params, ALICE, { csrf, origin: 'https://evil.example' }),
        await submit(t, params, ALICE, { csrf, origin: null }),
      ];
      for (const res of refusals) {
        assert.equal(res.statusCode, 403, res.body);
        assert.equal(res.headers.location, undefined);
        assert.match(res.body, /expired or was sent from another site/);
      }
      assert.equal((await submit(t, params, ALICE, { csrf })).statusCode, 303, 'the same form from this origin works');
    });
  });

  describe(`PURSE_PUBLIC_URL: the origin behind a proxy [${engine}]`, () => {
    const PUBLIC = 'https://purse.example.org';
    let t: TestApp;

    before(async () => {
      t = await startApp(engine, { publicUrl: PUBLIC });
      await t.ctx.pipeline.perform('user.create', { username: 'pat', password: 'pat-password' }, CLI_ACTOR);
    });
    after(() => t.close());

    test('only <PURSE_PUBLIC_URL>/callback and only that Origin; the cookie is Secure', async () => {
      const pair = pkce();
      const own = authorizeParams(pair.challenge, { redirect_uri: `${PUBLIC}/callback` });
      assert.equal((await openPage(t, authorizeParams(pair.challenge))).res.statusCode, 400, 'the request\'s own origin is not it');
      const { res, csrf } = await openPage(t, own);
      assert.equal(res.statusCode, 200);
      assert.equal(res.cookies.find((c) => c.name === 'purse_oauth_csrf')?.secure, true);
      const fields = { method: 'password', username: 'pat', password: 'pat-password' };
      assert.equal((await submit(t, own, fields, { csrf })).statusCode, 403, 'Origin http://localhost is not the public one');
      const ok = await submit(t, own, fields, { csrf, origin: PUBLIC });
      assert.equal(ok.statusCode, 303);
      assert.match(String(ok.headers.location), /^https:\/\/purse\.example\.org\/callback\?code=/);
    });

    test('the setting must be an origin', () => {
      assert.equal(loadConfig({ publicUrl: PUBLIC }).publicUrl, PUBLIC);
      for (const bad of ['purse.example.org', 'https://purse.example.org/', 'https://purse.example.org/app', 'ftp://purse.example.org']) {
        assert.throws(() => loadConfig({ publicUrl: bad }), (error: unknown) => error instanceof ConfigError && error.message.startsWith('PURSE_PUBLIC_URL'), bad);
      }
    });
  });

  describe(`the login page's failure limit is the token endpoint's [${engine}]`, () => {
    let t: TestApp;

    before(async () => {
      t = await startApp(engine, { tokenFailuresPerMinute: 3 });
      await t.ctx.pipeline.perform('user.create', { username: 'bob', password: 'bob-password' }, CLI_ACTOR);
    });
    after(() => t.close());

    const wrongAtTokenEndpoint = (address: string) =>
      t.inject({ method: 'POST', url: '/api/auth/token', remoteAddress: address, payload: { grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, login_info: { type: 3, user: 'bob', pwd: 'wrong' } } });

    test('failures on the page and at the token endpoint count together per address; then 429 with Retry-After', async () => {
      const params = authorizeParams(pkce().challenge);
      const address = '10.0.0.1';
      assert.equal((await submit(t, params, { method: 'password', username: 'bob', password: 'wrong' }, { address })).statusCode, 401);
      assert.equal((await wrongAtTokenEndpoint(address)).statusCode, 400);
      assert.equal((await submit(t, params, { method: 'password', username: 'nobody', password: 'wrong' }, { address })).statusCode, 401);
      const limited = await submit(t, params, { method: 'password', username: 'bob', password: 'bob-password' }, { address });
      assert.equal(limited.statusCode, 429);
      assert.ok(Number(limited.headers['retry-after']) > 0);
      assert.match(limited.body, /Too many failed logins/);
      assert.equal((await wrongAtTokenEndpoint(address)).statusCode, 429, 'and the token endpoint refuses that address too');
      t.clock.advance(61_000);
    });

    test('failures for one person at purse-web count from any address', async () => {
      const params = authorizeParams(pkce().challenge);
      for (const address of ['10.0.1.1', '10.0.1.2', '10.0.1.3']) {
        assert.equal((await submit(t, params, { method: 'password', username: 'bob', password: 'wrong' }, { address })).statusCode, 401);
      }
      const limited = await submit(t, params, { method: 'password', username: 'bob', password: 'bob-password' }, { address: '10.0.1.4' });
      assert.equal(limited.statusCode, 429);
      t.clock.advance(61_000);
      assert.equal((await submit(t, params, { method: 'password', username: 'bob', password: 'bob-password' }, { address: '10.0.1.4' })).statusCode, 303);
    });
  });
}

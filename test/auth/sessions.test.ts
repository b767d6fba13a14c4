// Sessions end with the change that should end them: a new password, PIN or cards, other rights, or
// deactivation revoke the person's refresh tokens in the same transaction; other changes do not.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLI_ACTOR } from '../../src/auth/principal.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface TokenBody {
  access_token: string;
  refresh_token?: string;
  error?: string;
}

for (const engine of ENGINES) {
  describe(`sessions [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;
    const boot = { client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET };

    const token = async (payload: Record<string, unknown>) => {
      const res = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { ...boot, ...payload } });
      return { status: res.statusCode, body: res.json<TokenBody>() };
    };
    /** A person with a session: their access token and refresh token. */
    const session = async (username: string) => {
      const res = await token({ grant_type: 'login_info', scope: 'users offline.access', login_info: { type: 3, user: username, pwd: `${username}-password` } });
      assert.equal(res.status, 200);
      return { access: res.body.access_token, refresh: res.body.refresh_token ?? '' };
    };
    const person = async (username: string) => {
      const user = await t.ctx.pipeline.perform('user.create', { username, password: `${username}-password`, cards: [`CARD-${username}`] }, CLI_ACTOR);
      return { id: user.id, session: await session(username) };
    };
    const patch = async (id: number, payload: Record<string, unknown>) => {
      const res = await t.inject({ method: 'PATCH', url: `/v3/users/${id}`, headers: admin, payload });
      assert.equal(res.statusCode, 200, res.body);
    };
    const refreshed = (refresh: string) => token({ grant_type: 'refresh_token', refresh_token: refresh });
    const readSelf = async (id: number, access: string) => (await t.inject({ method: 'GET', url: `/v3/users/${id}`, headers: bearer(access) })).statusCode;

    /** The old refresh token is refused as OAuth2 says, and the access token of its family with it. */
    const assertEnded = async (id: number, old: { access: string; refresh: string }) => {
      const res = await refreshed(old.refresh);
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_grant');
      assert.equal(await readSelf(id, old.access), 401);
    };

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
    });
    after(() => t.close());

    test('a password change ends the person’s sessions; the new password opens a new one', async () => {
      const dave = await person('dave');
      await patch(dave.id, { password: 'dave-password-2' });
      await assertEnded(dave.id, dave.session);
      const fresh = await token({ grant_type: 'login_info', scope: 'users offline.access', login_info: { type: 3, user: 'dave', pwd: 'dave-password-2' } });
      assert.equal(fresh.status, 200);
      assert.equal((await refreshed(fresh.body.refresh_token ?? '')).status, 200);
    });

    test('a PIN or cards change ends the person’s sessions too', async () => {
      const erin = await person('erin');
      await patch(erin.id, { pin: '86420' });
      await assertEnded(erin.id, erin.session);
      const again = await session('erin');
      await patch(erin.id, { cards: ['CARD-erin-2'] });
      await assertEnded(erin.id, again);
      const third = await session('erin');
      await t.ctx.pipeline.perform('user.addCard', { id: erin.id, card: 'CARD-erin-3' }, CLI_ACTOR); // `purse user add-card`
      await assertEnded(erin.id, third);
    });

    test('deactivation ends the person’s sessions and refuses every access token at once, and reactivation brings none back', async () => {
      const fay = await person('fay');
      const plain = await token({ grant_type: 'login_info', scope: 'users', login_info: { type: 3, user: 'fay', pwd: 'fay-password' } });
      assert.equal(await readSelf(fay.id, plain.body.access_token), 200);
      await patch(fay.id, { isActive: false });
      assert.equal(await readSelf(fay.id, plain.body.access_token), 401, 'an access token without a refresh token is refused too');
      await patch(fay.id, { isActive: true });
      await assertEnded(fay.id, fay.session);
    });

    test('a change of rights ends the person’s sessions, from the command line too', async () => {
      const gus = await person('gus');
      await patch(gus.id, { rights: ['chargeCredit'] });
      await assertEnded(gus.id, gus.session);
      const again = await session('gus');
      await t.ctx.pipeline.perform('user.update', { id: gus.id, rights: [] }, CLI_ACTOR);
      await assertEnded(gus.id, again);
    });

    test('other changes leave sessions alone, and other people’s sessions are never touched', async () => {
      const hal = await person('hal');
      const ida = await person('ida');
      await patch(hal.id, { fullname: 'Hal H', email: 'hal@example.org', rights: [] });
      const kept = await refreshed(hal.session.refresh);
      assert.equal(kept.status, 200, 'same rights, no credentials: the session goes on');
      await patch(hal.id, { password: 'hal-password-2' });
      assert.equal((await refreshed(ida.session.refresh)).status, 200);
      assert.equal((await refreshed(kept.body.refresh_token ?? '')).body.error, 'invalid_grant');
    });

    test('a change that is refused ends nothing: the sessions end with the change or not at all', async () => {
      const kim = await person('kim');
      const res = await t.inject({ method: 'PATCH', url: `/v3/users/${kim.id}`, headers: admin, payload: { password: 'kim-password-2', username: 'dave' } });
      assert.equal(res.statusCode, 409);
      assert.equal((await refreshed(kim.session.refresh)).status, 200);
    });

    test('ending sessions is one session.revoked event with the reason', async () => {
      const jo = await person('jo');
      await patch(jo.id, { password: 'jo-password-2' });
      const rows = await t.ctx.db.read((q) => q.all<{ data: string }>("SELECT data FROM events WHERE subject = ? AND type = 'session.revoked'", [`user:${jo.id}`]));
      assert.deepEqual(rows.map((r) => JSON.parse(r.data) as unknown), [{ userId: jo.id, clientId: null, reason: 'credentials changed' }]);
    });
  });
}

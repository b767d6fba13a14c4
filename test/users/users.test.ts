// /v3/users: create, update, find filters and paging, who may read and change whom, and that
// credentials never come back out.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, ENGINES, bearer, startApp, type TestApp } from '../helpers/harness.js';

interface User {
  id: number;
  username: string;
  email: string;
  code: string;
  isActive: boolean;
  rights: string[];
}
interface UserList {
  users: User[];
  count: number;
}
interface ErrorBody {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}

for (const engine of ENGINES) {
  describe(`users API [${engine}]`, () => {
    let t: TestApp;
    let admin: Record<string, string>;

    const post = (payload: unknown, headers = admin) => t.inject({ method: 'POST', url: '/v3/users', payload: payload as object, headers });
    const find = async (query: string, headers = admin) => {
      const res = await t.inject({ method: 'GET', url: `/v3/users/find?${query}`, headers });
      return { status: res.statusCode, body: res.json<UserList & ErrorBody>() };
    };
    const loginToken = async (user: string, pwd: string) => bearer(await t.personToken(user, pwd, 'users'));

    before(async () => {
      t = await startApp(engine);
      admin = bearer(await t.adminToken());
      for (let i = 1; i <= 25; i++) {
        const res = await post({ username: `User${String(i).padStart(2, '0')}`, email: `user${i}@Example.org`, code: i % 5 === 0 ? 'FIVE' : `C${i}`, isActive: i !== 25 });
        assert.equal(res.statusCode, 201, res.body);
      }
    });
    after(() => t.close());

    test('create answers 201 with the user, a Location, and no credentials', async () => {
      const res = await post({ username: 'carol', fullname: 'Carol C', email: 'carol@example.org', password: 'carol-secret-pw', pin: '1234', cards: ['ABCD-1234'], lang: 'pt', phone: '+351912345678', notes: 'n' });
      assert.equal(res.statusCode, 201);
      const user = res.json<User & Record<string, unknown>>();
      assert.equal(res.headers.location, `/v3/users/${user.id}`);
      assert.equal(user.username, 'carol');
      assert.deepEqual(user.rights, []);
      for (const secret of ['password', 'pin', 'cards', 'password_hash', 'pin_hash']) assert.equal(user[secret], undefined, secret);
      assert.ok(!res.body.includes('carol-secret-pw') && !res.body.includes('ABCD-1234'));
      assert.ok(!t.logs.text.includes('carol-secret-pw'), 'passwords never reach the logs');
    });

    test('usernames are unique regardless of case', async () => {
      const res = await post({ username: 'CAROL' });
      assert.equal(res.statusCode, 409);
      assert.equal(res.json<ErrorBody>().data[0]?.field, 'username');
    });

    test('bad bodies give 400 naming every bad field and change nothing', async () => {
      const before = await t.inject({ method: 'GET', url: '/v3/users?limit=1', headers: admin });
      const res = await post({ username: 'has space', email: 'not-an-email', pin: '12', rights: ['emperor'], favourite: 'x' });
      assert.equal(res.statusCode, 400);
      const fields = res.json<ErrorBody>().data.map((d) => d.field);
      for (const field of ['body.username', 'body.email', 'body.pin', 'body.rights.0', 'body.favourite']) assert.ok(fields.includes(field), `${field} in ${fields.join(',')}`);
      const afterList = await t.inject({ method: 'GET', url: '/v3/users?limit=1', headers: admin });
      assert.equal(afterList.json<UserList>().count, before.json<UserList>().count);
    });

    test('find needs at least one filter', async () => {
      const res = await find('');
      assert.equal(res.status, 400);
      assert.match(res.body.message, /at least one filter/);
      assert.equal((await find('limit=5')).status, 400);
    });

    test('find by username is exact and case-insensitive', async () => {
      const res = await find('username=user07');
      assert.equal(res.status, 200);
      assert.equal(res.body.count, 1);
      assert.equal(res.body.users[0]?.username, 'User07');
      assert.equal((await find('username=User0')).body.count, 0);
    });

    test('find by email, code and card', async () => {
      assert.equal((await find('email=USER3@example.ORG')).body.users[0]?.username, 'User03');
      const fives = await find('code=FIVE');
      assert.deepEqual(fives.body.users.map((u) => u.username), ['User05', 'User10', 'User15', 'User20'], 'isActive defaults to 1: User25 is inactive');
      assert.equal((await find('code=FIVE&isActive=0')).body.users[0]?.username, 'User25');
      assert.equal((await find('card=abcd-1234')).body.users[0]?.username, 'carol');
      assert.equal((await find('card=NOPE-0000')).body.count, 0);
    });

    test('find pages with limit and start; count is the total over all pages', async () => {
      const page1 = await find('isActive=1&limit=10&start=0');
      const page3 = await find('isActive=true&limit=10&start=20');
      assert.equal(page1.body.users.length, 10);
      assert.equal(page1.body.count, 26, '24 active UserNN + admin + carol');
      assert.equal(page3.body.users.length, 6);
      const ids = [...page1.body.users, ...page3.body.users].map((u) => u.id);
      assert.equal(new Set(ids).size, ids.length);
      assert.equal((await find('isActive=1&limit=1001')).status, 400);
      assert.equal((await find('isActive=1&limit=0')).status, 400);
      assert.equal((await find('isActive=1&start=-1')).status, 400);
      assert.equal((await find('isActive=maybe')).status, 400);
    });

    test('GET /v3/users lists everyone, paged', async () => {
      const res = await t.inject({ method: 'GET', url: '/v3/users?limit=5&start=5', headers: admin });
      assert.equal(res.statusCode, 200);
      const body = res.json<UserList>();
      assert.equal(body.users.length, 5);
      assert.equal(body.count, 27);
    });

    test('PATCH changes fields, replaces cards, and answers 404 for unknown ids', async () => {
      const id = (await find('username=User01')).body.users[0]?.id ?? 0;
      const res = await t.inject({ method: 'PATCH', url: `/v3/users/${id}`, headers: admin, payload: { email: 'new@example.org', cards: ['NEWC-0001'], password: 'user01-password' } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<User>().email, 'new@example.org');
      assert.equal((await find('card=NEWC-0001')).body.users[0]?.id, id);
      assert.equal((await t.inject({ method: 'PATCH', url: '/v3/users/999999', headers: admin, payload: { notes: 'x' } })).statusCode, 404);
      assert.equal((await t.inject({ method: 'PATCH', url: `/v3/users/${id}`, headers: admin, payload: {} })).statusCode, 400);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/users/999999', headers: admin })).statusCode, 404);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/users/abc', headers: admin })).statusCode, 400);
    });

    test('rights: only an administrator grants them, and only an administrator changes a privileged user', async () => {
      const manager = await post({ username: 'manager', password: 'manager-password', rights: ['manageUsers'] });
      assert.equal(manager.statusCode, 201);
      const asManager = await loginToken('manager', 'manager-password');
      const target = (await find('username=User02')).body.users[0]?.id ?? 0;
      assert.equal((await t.inject({ method: 'PATCH', url: `/v3/users/${target}`, headers: asManager, payload: { notes: 'fine' } })).statusCode, 200);
      const escalate = await t.inject({ method: 'PATCH', url: `/v3/users/${target}`, headers: asManager, payload: { rights: ['admin'] } });
      assert.equal(escalate.statusCode, 403);
      const takeover = await t.inject({ method: 'PATCH', url: '/v3/users/1', headers: asManager, payload: { password: 'i-own-you-now' } });
      assert.equal(takeover.statusCode, 403);
      assert.equal((await post({ username: 'sneaky', rights: ['admin'] }, asManager)).statusCode, 403);
      // PINs are unique, so setting one would tell a user-manager whether it is taken: admins only.
      assert.equal((await t.inject({ method: 'PATCH', url: `/v3/users/${target}`, headers: asManager, payload: { pin: '4821' } })).statusCode, 403);
      assert.equal((await post({ username: 'pinned', pin: '4821' }, asManager)).statusCode, 403);
    });

    test('a PIN alone never opens an account that holds rights', async () => {
      const boss = await post({ username: 'boss', pin: '7777', rights: ['managePayments'] });
      assert.equal(boss.statusCode, 201);
      const res = await t.inject({ method: 'POST', url: '/api/auth/token', payload: { grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, login_info: { type: 2, pin: '7777' } } });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json<{ error: string }>().error, 'invalid_grant');
    });

    test('query strings never reach the logs (a login card may be in one)', async () => {
      await find('card=SECRET-CARD-9999');
      assert.ok(t.logs.text.includes('/v3/users/find'));
      assert.ok(!t.logs.text.includes('SECRET-CARD-9999'));
    });

    test('a person reads their own record without manageUsers, nobody else’s', async () => {
      const id = (await find('username=User01')).body.users[0]?.id ?? 0;
      const me = await loginToken('user01', 'user01-password');
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${id}`, headers: me })).statusCode, 200);
      assert.equal((await t.inject({ method: 'GET', url: '/v3/users/1', headers: me })).statusCode, 403);
      assert.equal((await find('username=admin', me)).status, 403);
    });

    test('a deactivated person’s tokens stop working at once', async () => {
      const id = (await find('username=User04')).body.users[0]?.id ?? 0;
      await t.inject({ method: 'PATCH', url: `/v3/users/${id}`, headers: admin, payload: { password: 'user04-password' } });
      const token = await loginToken('user04', 'user04-password');
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${id}`, headers: token })).statusCode, 200);
      await t.inject({ method: 'PATCH', url: `/v3/users/${id}`, headers: admin, payload: { isActive: false } });
      assert.equal((await t.inject({ method: 'GET', url: `/v3/users/${id}`, headers: token })).statusCode, 401);
    });
  });
}

// The app's session in a real browser: it refreshes its access token before the token expires, so
// a person who stays on a page past the token's lifetime goes on working without logging in again.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { ADMIN_PASSWORD } from '../helpers/harness.js';
import { browserSuite } from '../helpers/browser.js';

/** Shorter than anything a person would notice, long enough for the login round trip on a busy machine. */
const TOKEN_TTL_SECONDS = 8;

browserSuite(
  'web session',
  (env) => {
    test('the app refreshes its token before it expires, and keeps working past the first token', async () => {
      const page = await env.login('admin', ADMIN_PASSWORD);
      const grants: string[] = [];
      page.on('request', (request) => {
        if (request.url().endsWith('/api/auth/token')) grants.push(new URLSearchParams(request.postData() ?? '').get('grant_type') ?? '');
      });
      await page.getByRole('heading', { name: 'Your credit' }).waitFor();
      await sleep((TOKEN_TTL_SECONDS + 2) * 1000);
      assert.ok(grants.includes('refresh_token'), `no refresh before expiry: ${grants.join(', ')}`);
      await page.getByRole('link', { name: 'Statement' }).click();
      await page.getByRole('heading', { name: 'Statement' }).waitFor();
      await page.getByRole('button', { name: 'Log out' }).waitFor();
      assert.doesNotMatch(page.url(), /oauth/);
      await page.context().close();
    });
  },
  { accessTokenTtlSeconds: TOKEN_TTL_SECONDS },
);

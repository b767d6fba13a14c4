// The person's portal in a real browser: log in through Purse's login page, redeem a voucher, top up
// by card, see the balance and the statement change without a reload, download the statement, and
// log out — after which the session's tokens are refused by the API. Every page visited is
// screenshotted and checked with axe-core; the same pages are checked 360 px wide.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

import type { Page } from 'playwright-core';

import { browserSuite, PHONE, waitForCount, type BrowserEnv } from '../helpers/browser.js';
import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET } from '../helpers/harness.js';

const PERSON = { username: 'jdoe', fullname: 'John Doe', password: 'jdoe-password-1' };
const CARD = { number: '4242 4242 4242 4242', name: 'John Doe', month: '05', year: '2030', cvv: '321' };

/** The person, with some history: a welcome credit, a print charged, a print job holding credit; and a voucher batch. */
async function arrange(env: BrowserEnv): Promise<string[]> {
  const admin = await env.adminToken();
  const user = await env.api('POST', '/v3/users', admin, { username: PERSON.username, fullname: PERSON.fullname, password: PERSON.password });
  assert.equal(user.status, 201, JSON.stringify(user.body));
  const account = `/v3/users/${(user.body as { id: number }).id}/accounts/credit`;
  for (const [path, body, status] of [
    ['recharge', { amount: 10, description: 'welcome credit' }, 200],
    ['charges', { amount: 2.4, description: 'printing, 12 pages' }, 201],
    ['holds', { amount: 3, description: 'print job in progress' }, 201],
  ] as const) {
    const res = await env.api('POST', `${account}/${path}`, admin, body);
    assert.equal(res.status, status, JSON.stringify(res.body));
  }
  const batch = await env.api('POST', '/v3/vouchers/batches', admin, { quantity: 2, value: 5, validUntil: '2099-12-31' });
  assert.equal(batch.status, 201, JSON.stringify(batch.body));
  return (batch.body as { codes: string[] }).codes;
}

async function available(page: Page): Promise<string> {
  return (await page.getByTestId('available').textContent()) ?? '';
}

/** Money as the browser writes it in its locale (Chromium here: en-US). */
const euros = (amount: number): string => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(amount);

async function fillCard(page: Page, amount: string, number: string): Promise<void> {
  await page.getByLabel('Amount').fill(amount);
  await page.getByLabel('Card number').fill(number);
  await page.getByLabel('Name on the card').fill(CARD.name);
  await page.getByLabel('Expiry month').fill(CARD.month);
  await page.getByLabel('Expiry year').fill(CARD.year);
  await page.getByLabel('Security code').fill(CARD.cvv);
}

browserSuite('web portal', (env) => {
  test('a person logs in, redeems a voucher, tops up by card, and sees balance and statement change', async () => {
    const codes = await arrange(env);
    // What the app holds in memory, seen on the wire: the bearer tokens it sends, the refresh token it got.
    const tokens: { access: string[]; refresh: string[] } = { access: [], refresh: [] };
    const page = await env.newPage();
    page.on('request', (request) => {
      const header = request.headers().authorization;
      if (header?.startsWith('Bearer ') === true) tokens.access.push(header.slice('Bearer '.length));
    });
    page.on('response', (response) => {
      if (!response.url().endsWith('/api/auth/token') || response.status() !== 200) return;
      response.json().then(
        (body: { refresh_token?: string }) => {
          if (body.refresh_token !== undefined) tokens.refresh.push(body.refresh_token);
        },
        () => undefined,
      );
    });
    await env.logIn(page, PERSON.username, PERSON.password);

    await page.getByRole('heading', { name: 'Your credit' }).waitFor();
    assert.equal(await available(page), euros(4.6));
    await env.check(page, 'portal-overview-empty');

    await page.getByRole('link', { name: 'Top up' }).first().click();
    await page.getByRole('heading', { name: 'Top up' }).waitFor();
    await page.getByLabel('Voucher').check();
    await page.getByLabel('Voucher code').fill('NOT-A-REAL-CODE');
    await page.getByRole('button', { name: 'Redeem voucher' }).click();
    await page.getByRole('alert').waitFor();
    await env.check(page, 'portal-top-up-voucher-refused');

    await page.getByLabel('Voucher code').fill((codes[0] ?? '').toLowerCase());
    await page.getByRole('button', { name: 'Redeem voucher' }).click();
    await page.getByText(`Voucher redeemed: ${euros(5)} added to your credit.`).waitFor();
    await page.getByTestId('available').getByText(euros(9.6)).waitFor();
    await env.check(page, 'portal-top-up-voucher');

    await page.getByLabel('Card', { exact: true }).check();
    await fillCard(page, '20', '4242 4242 4242 4241');
    await page.getByRole('button', { name: 'Pay by card' }).click();
    // A bad card number is shown next to its field, and nothing is charged.
    const numberField = page.locator('.field-invalid', { has: page.getByLabel('Card number') });
    await numberField.locator('.field-problem').waitFor();
    await env.check(page, 'portal-top-up-card-invalid');
    assert.equal(await available(page), euros(9.6));

    await page.getByLabel('Card number').fill(CARD.number);
    await page.getByRole('button', { name: 'Pay by card' }).click();
    await page.getByText(`Paid by card: ${euros(20)} added to your credit.`).waitFor();
    await page.getByTestId('available').getByText(euros(29.6)).waitFor();
    await env.check(page, 'portal-top-up-card');

    await page.getByRole('link', { name: 'Statement' }).click();
    await page.getByRole('heading', { name: 'Statement' }).waitFor();
    const rows = page.locator('table tbody tr');
    await rows.nth(3).waitFor();
    assert.equal(await rows.count(), 4);
    assert.match((await rows.nth(2).textContent()) ?? '', /voucher/);
    assert.match((await rows.nth(3).textContent()) ?? '', /card/);
    // The balance column: 10 − 2.40 + 5 + 20 (the hold reserves, it does not post).
    assert.ok(((await rows.nth(3).textContent()) ?? '').includes(euros(32.6)));
    await page.locator('figure.chart svg').waitFor();
    await env.check(page, 'portal-statement');

    // Filtered by provider: only the card top-up.
    await page.getByLabel('Provider').selectOption('card');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitForCount(page.locator('table tbody tr'), 1);
    assert.match((await rows.nth(0).textContent()) ?? '', /card/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const csvPath = await download.path();
    const csv = await readFile(csvPath, 'utf8');
    assert.match(csv, /^id,date,type,balance,value,provider,paymentId,description/);
    assert.equal(csv.trim().split('\n').length, 2, csv);

    await page.getByRole('link', { name: 'Holds and charges' }).click();
    await page.getByRole('table', { name: 'Open holds, newest first' }).getByText('print job in progress').waitFor();
    await page.getByRole('table', { name: 'Recent charges, newest first' }).getByText('printing, 12 pages').waitFor();
    await env.check(page, 'portal-spending');

    for (const [link, heading, shot] of [
      ['Password', 'Change your password', 'portal-password'],
      ['Overview', 'Your credit', 'portal-overview'],
    ] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading }).waitFor();
      await env.check(page, shot);
    }
    assert.equal(await available(page), euros(29.6));
    assert.equal((await page.getByTestId('held').textContent()) ?? '', euros(3));

    // Logout revokes: the session's last access token and refresh token are refused afterwards.
    const lastAccess = tokens.access.at(-1);
    assert.ok(lastAccess !== undefined, 'the app sent a bearer token');
    assert.equal((await env.api('GET', '/v3/me', lastAccess)).status, 200);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/oauth\/authorize/);
    assert.equal((await env.api('GET', '/v3/me', lastAccess)).status, 401);
    const lastRefresh = tokens.refresh.at(-1);
    assert.ok(lastRefresh !== undefined, 'the login gave the app a refresh token');
    const refused = await fetch(`${env.url}/api/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'purse-web', refresh_token: lastRefresh }),
    });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error?: string }).error, 'invalid_grant');
    await page.context().close();
  });

  test('the portal at 360 px: nothing wider than the screen, and no accessibility problem', async () => {
    const page = await env.login(PERSON.username, PERSON.password, PHONE);
    await page.getByRole('heading', { name: 'Your credit' }).waitFor();
    for (const [href, heading, shot] of [
      ['/', 'Your credit', 'portal-360-overview'],
      ['/top-up', 'Top up', 'portal-360-top-up'],
      ['/statement', 'Statement', 'portal-360-statement'],
    ] as const) {
      await page.locator(`nav a[href="${href}"]`).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await env.check(page, shot);
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
      assert.ok(overflow <= 0, `${href} is ${overflow}px wider than a 360px screen`);
    }
    await page.context().close();
  });

  test('a person tops up with MB WAY and changes their password; a wrong current password is named at its field', async () => {
    const page = await env.login(PERSON.username, PERSON.password, PHONE);
    await page.locator('nav a[href="/top-up"]').click();
    await page.getByLabel('MB WAY').check();
    await page.getByLabel('Amount').fill('5');
    await page.getByLabel('Mobile number').fill('912345678');
    await page.getByRole('button', { name: 'Pay with MB WAY' }).click();
    await page.getByText(`Paid with MB WAY: ${euros(5)} added to your credit.`).waitFor();
    await page.getByTestId('available').getByText(euros(34.6)).waitFor();
    await env.check(page, 'portal-360-top-up-mbway');

    await page.locator('nav a[href="/password"]').click();
    await page.getByLabel('Current password').fill('not-my-password');
    await page.getByLabel('New password').fill('jdoe-new-password-2');
    await page.getByRole('button', { name: 'Change password' }).click();
    const current = page.locator('.field-invalid', { has: page.getByLabel('Current password') });
    await current.locator('.field-problem').waitFor();
    await env.check(page, 'portal-360-password-refused');
    await page.getByLabel('Current password').fill(PERSON.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor();
    // This session goes on; the old password no longer logs in.
    await page.locator('nav a[href="/"]').click();
    await page.getByTestId('available').getByText(euros(34.6)).waitFor();
    const oldLogin = await fetch(`${env.url}/api/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'login_info', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET, login_info: { type: 3, user: PERSON.username, pwd: PERSON.password } }),
    });
    assert.equal(oldLogin.status, 400);
    assert.equal(((await oldLogin.json()) as { error?: string }).error, 'invalid_grant');
    await page.context().close();
  });

  test('the app serves its routes, but never shadows the API', async () => {
    const page = await env.newPage();
    const deepLink = await page.request.get('/statement', { headers: { accept: 'text/html' } });
    assert.equal(deepLink.status(), 200);
    assert.match(deepLink.headers()['cache-control'] ?? '', /no-cache/);
    assert.match(await deepLink.text(), /<meta name="purse-currency" content="EUR" \/>/);
    const api = await page.request.get('/v3/nothing', { headers: { accept: 'text/html' } });
    assert.equal(api.status(), 404);
    assert.match(api.headers()['content-type'] ?? '', /application\/json/);
    await page.context().close();
  });
});

// The administrator console in a real browser: the bootstrap administrator logs in through Purse's
// login page, creates a person (a bad username is refused next to its field), adjusts their credit,
// generates a voucher batch and downloads its CSV, refunds part of a card payment, and visits every
// other console page. Each page is screenshotted and checked with axe-core, and the API confirms
// what the pages claim.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import type { Page } from 'playwright-core';

import { browserSuite, PHONE, SCREENSHOTS_DIR, waitForCount, type BrowserEnv } from '../helpers/browser.js';
import { ADMIN_PASSWORD } from '../helpers/harness.js';

/** Money as the browser writes it in its locale (Chromium here: en-US). */
const euros = (amount: number): string => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(amount);

const CARD = { number: '4242424242424242', name: 'Marie Curie', expiration_month: '05', expiration_year: '2030', cvv: '321' };

async function open(page: Page, link: string, heading: string | RegExp): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** A card payment of `amount` for the person, committed, through the API as the portal makes it; its gateway id. */
async function cardPayment(env: BrowserEnv, userId: number, amount: number): Promise<string> {
  const admin = await env.adminToken();
  const created = await env.api('POST', '/v3/rechargeProviders/card/payments', admin, { userId, params: { amount, card: CARD } });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const payment = created.body as { id: string; params: { gatewayPaymentId: string } };
  const committed = await env.api('POST', `/v3/rechargeProviders/card/payments/${payment.id}/commit`, admin);
  assert.equal(committed.status, 200, JSON.stringify(committed.body));
  return payment.params.gatewayPaymentId;
}

async function balanceOf(env: BrowserEnv, userId: number): Promise<number> {
  const answer = await env.api('GET', `/v3/users/${userId}/accounts/credit/balance`, await env.adminToken());
  return (answer.body as { amount: number }).amount;
}

async function assertFits(page: Page, shot: string): Promise<void> {
  const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
  assert.ok(overflow <= 0, `${shot} is ${overflow}px wider than the screen`);
}

browserSuite('web console', (env) => {
  let userId = 0;

  test('an administrator creates a person, adjusts their credit, generates vouchers and refunds a card payment', async () => {
    const page = await env.login('admin', ADMIN_PASSWORD);

    await open(page, 'People', 'People');
    await env.check(page, 'console-people');
    await page.getByRole('link', { name: 'New person' }).click();
    await page.getByRole('heading', { name: 'New person' }).waitFor();
    await page.getByLabel('Username').fill('marie curie');
    await page.getByLabel('Full name').fill('Marie Curie');
    await page.getByLabel('Password').fill('marie-password-1');
    await page.getByLabel('Manage vouchers').check();
    await page.getByRole('button', { name: 'Create' }).click();
    // The API's problem with the username is shown under the username, and nobody is created.
    const usernameField = page.locator('.field-invalid', { has: page.getByLabel('Username') });
    await usernameField.locator('.field-problem').waitFor();
    await env.check(page, 'console-person-new-invalid');
    await page.getByLabel('Username').fill('mcurie');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { level: 1, name: 'Marie Curie (mcurie)' }).waitFor();
    userId = Number(/\/console\/users\/([0-9]+)$/.exec(page.url())?.[1]);
    assert.ok(userId > 1, page.url());
    const created = await env.api('GET', `/v3/users/${userId}`, await env.adminToken());
    assert.deepEqual((created.body as { rights: string[] }).rights, ['manageVouchers']);
    await env.check(page, 'console-person');

    // Cards replace the list; the page says so rather than pretending to show them.
    await page.getByRole('textbox', { name: 'Cards', exact: true }).fill('CARD-0001\nCARD-0002');
    await page.getByRole('button', { name: 'Replace cards' }).click();
    await page.getByText('Cards replaced: 2 on file now.').waitFor();
    const found = await env.api('GET', '/v3/users/find?card=CARD-0002', await env.adminToken());
    assert.equal((found.body as { users: { id: number }[] }).users[0]?.id, userId);

    // Adjust the credit from the person's purse; the balance on the page follows without a reload.
    await page.getByRole('main').getByRole('link', { name: 'Credit', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Credit of Marie Curie' }).waitFor();
    await page.getByLabel('Amount').fill('12.50');
    await page.getByLabel('Reason').fill('welcome');
    await page.getByRole('button', { name: 'Adjust' }).click();
    await page.getByText(`Added ${euros(12.5)}; the balance is now ${euros(12.5)}.`).waitFor();
    await page.locator('.card-main dd').getByText(euros(12.5)).waitFor();
    await page.locator('table tbody tr').first().waitFor();
    assert.match((await page.locator('table tbody tr').first().textContent()) ?? '', /welcome/);
    await page.getByLabel('Amount').fill('-100');
    await page.getByRole('button', { name: 'Adjust' }).click();
    await page.locator('form .alert-error').waitFor();
    assert.equal(await balanceOf(env, userId), 12.5);
    await env.check(page, 'console-credit');

    // A voucher batch: the codes once, as a CSV download and a printable sheet.
    await open(page, 'Vouchers', 'Vouchers');
    await page.getByLabel('How many codes').fill('3');
    await page.getByLabel('Value of each').fill('5');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('heading', { name: `Batch 1: 3 vouchers of ${euros(5)}` }).waitFor();
    const shown = (await page.locator('.voucher-code code').allTextContents()).sort();
    assert.equal(shown.length, 3);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const csv = (await readFile(await download.path(), 'utf8')).trim().split('\n');
    assert.equal(csv[0], 'code,value,currency,validUntil,batch');
    assert.deepEqual(csv.slice(1).map((line) => line.split(',')[0]).sort(), shown);
    for (const line of csv.slice(1)) assert.match(line, /^[^,]+,5,EUR,\d{4}-\d\d-\d\dT[^,]+,1$/);
    await page.locator('table tbody tr').first().waitFor();
    await env.check(page, 'console-vouchers');
    await page.emulateMedia({ media: 'print' });
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, 'console-vouchers-print.png'), fullPage: true });
    await page.emulateMedia({ media: 'screen' });
    // A card payment refunded in part from the payment's page.
    const gatewayId = await cardPayment(env, userId, 20);
    const before = await balanceOf(env, userId);
    await open(page, 'Payments', 'Payments');
    await page.getByLabel('Method').selectOption('credit_card');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator(`a[href="/console/payments/${gatewayId}"]`).click();
    await page.getByRole('heading', { level: 1, name: /^Payment / }).waitFor();
    await page.getByText(gatewayId, { exact: true }).waitFor();
    await page.getByText('No refunds.').waitFor();
    await env.check(page, 'console-payment');
    await page.getByLabel('Amount to refund').fill('7.50');
    await page.getByRole('button', { name: 'Refund', exact: true }).click();
    await page.getByText(`Refunded ${euros(7.5)}.`).waitFor();
    await page.getByRole('region', { name: 'Refunds' }).getByText(euros(7.5)).waitFor();
    assert.equal(await balanceOf(env, userId), before - 7.5);
    const refunds = await env.api('GET', `/api/refunds?payment_id=${gatewayId}`, await env.adminToken());
    assert.deepEqual((refunds.body as { amount: number }[]).map((refund) => refund.amount), [7.5]);
    await env.check(page, 'console-payment-refunded');
    await page.context().close();
  });

  test('every other console page works and passes axe-core', async () => {
    const page = await env.login('admin', ADMIN_PASSWORD);
    // "Revoke" asks first (window.confirm): the administrator says yes.
    page.on('dialog', (dialog) => {
      void dialog.accept();
    });

    await open(page, 'Bulk recharge', 'Bulk recharge');
    await page.getByLabel('Or paste the rows').fill('user;amount\nmcurie;2\nmcurie;\nmcurie;lots');
    await page.getByRole('button', { name: 'Recharge everyone' }).click();
    const bad = page.getByRole('list', { name: 'Bad lines' }).getByRole('listitem');
    await bad.nth(1).waitFor();
    assert.equal(await bad.count(), 2);
    assert.match((await bad.nth(0).textContent()) ?? '', /^line 3/);
    assert.match((await bad.nth(1).textContent()) ?? '', /^line 4/);
    await env.check(page, 'console-bulk-refused');
    const balance = await balanceOf(env, userId);
    await page.getByLabel('Or paste the rows').fill('mcurie;2\nadmin;1');
    await page.getByRole('button', { name: 'Recharge everyone' }).click();
    await page.getByText(`Recharged 2 rows, ${euros(3)} in all.`).waitFor();
    assert.equal(await balanceOf(env, userId), balance + 2);

    await open(page, 'Providers', 'Providers');
    await page.getByRole('button', { name: 'Turn off MB WAY' }).click();
    await page.getByRole('button', { name: 'Turn on MB WAY' }).waitFor();
    await env.check(page, 'console-providers');
    await page.getByRole('button', { name: 'Turn on MB WAY' }).click();
    await page.getByRole('button', { name: 'Turn off MB WAY' }).waitFor();

    await open(page, 'Reconciliation', 'Reconciliation');
    await page.getByText('Everything matches.').waitFor();
    await env.check(page, 'console-reconciliation');

    await open(page, 'API clients', 'API clients');
    await page.getByLabel('Name', { exact: true }).fill('Print server');
    await page.getByLabel(/^credit/).check();
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByRole('heading', { name: 'The secret of Print server' }).waitFor();
    await page.getByRole('cell', { name: 'Print server', exact: true }).waitFor();
    await env.check(page, 'console-clients');
    await page.getByRole('button', { name: 'Revoke Print server' }).click();
    await page.getByRole('cell', { name: 'Revoked', exact: true }).waitFor(); // not the web app's "cannot be revoked"

    await open(page, 'Webhooks', 'Webhooks');
    await page.getByLabel('Address').fill('not an address');
    await page.getByLabel('Events').fill('payment.committed');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.locator('.field-invalid', { has: page.getByLabel('Address') }).locator('.field-problem').waitFor();
    await page.getByLabel('Address').fill('https://example.org/purse-events');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('heading', { name: 'The new webhook’s signing secret' }).waitFor();
    await env.check(page, 'console-webhooks');
    await page.getByRole('cell').getByRole('link', { name: 'https://example.org/purse-events' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    await page.getByRole('button', { name: 'Turn off' }).click();
    await page.getByRole('button', { name: 'Turn on' }).waitFor();
    await env.check(page, 'console-webhook');

    await open(page, 'Audit trail', 'Audit trail');
    await page.locator('table tbody tr').first().waitFor();
    await page.getByLabel('Action').fill('user.create');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitForCount(page.locator('table tbody tr'), 1);
    await env.check(page, 'console-audit');

    await open(page, 'Ledger check', 'Ledger check');
    await page.getByRole('button', { name: 'Verify the ledger' }).click();
    await page.getByRole('heading', { name: 'The books balance' }).waitFor();
    await env.check(page, 'console-ledger');
    await page.context().close();
  });

  test('the console at 360 px: nothing wider than the screen, and no accessibility problem', async () => {
    const page = await env.login('admin', ADMIN_PASSWORD, PHONE);
    for (const [href, heading, shot] of [
      ['/console/users', 'People', 'console-360-people'],
      ['/console/vouchers', 'Vouchers', 'console-360-vouchers'],
      ['/console/payments', 'Payments', 'console-360-payments'],
      ['/console/credit', 'Credit', 'console-360-credit'],
    ] as const) {
      await page.locator(`nav a[href="${href}"]`).click();
      await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
      await env.check(page, shot);
      await assertFits(page, shot);
    }
    await page.getByLabel('Username or number').fill('mcurie');
    await page.getByRole('button', { name: 'Open purse' }).click();
    await page.getByRole('heading', { level: 1, name: 'Credit of Marie Curie' }).waitFor();
    await page.locator('table tbody tr').first().waitFor();
    await env.check(page, 'console-360-purse');
    await assertFits(page, 'console-360-purse');
    await page.context().close();
  });

  test('a person with one right sees only that console page', async () => {
    // mcurie was created above with manageVouchers alone.
    const page = await env.login('mcurie', 'marie-password-1');
    const consoleNav = page.getByRole('list', { name: 'Console' }).getByRole('link');
    await consoleNav.first().waitFor();
    assert.deepEqual(await consoleNav.allTextContents(), ['Vouchers']);
    await consoleNav.first().click();
    await page.getByRole('heading', { level: 1, name: 'Vouchers' }).waitFor();
    await page.getByRole('cell', { name: 'Expired' }).or(page.getByRole('button', { name: 'Expire batch 1' })).waitFor();
    await env.check(page, 'console-vouchers-only');
    await page.context().close();
  });
});

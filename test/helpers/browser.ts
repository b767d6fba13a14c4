// Browser tests: a real listening Purse (SQLite, the real clock, the built web app in dist/web) and
// Debian's headless Chromium driven by playwright-core — never a browser of Playwright's own.
// Without /usr/bin/chromium a suite is skipped with one line, unless PURSE_REQUIRE_BROWSER=1 (CI),
// where it fails. Each page a journey checks is saved as a screenshot and run through axe-core.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe } from 'node:test';

import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

import { bootstrap } from '../../src/bootstrap.js';
import { systemClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { buildServer } from '../../src/server.js';
import { WEB_DIR } from '../../src/web/routes.js';

import { BOOT_CLIENT_ID, BOOT_CLIENT_SECRET, createTestDatabase, testConfig, type TestDatabase } from './harness.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS_DIR = path.resolve('test-output/screenshots');
const REQUIRED = process.env.PURSE_REQUIRE_BROWSER === '1';
/** The flags the issue names: no sandbox (root in CI), no GPU, and no calls home on a closed network. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AXE_RUN = `axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`;
/** The waits of a journey: long enough for a loaded 2-core machine, short enough to fail a stuck page soon. */
const STEP_TIMEOUT_MS = 15_000;

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 360, height: 740 };

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

export interface BrowserEnv {
  /** http://127.0.0.1:PORT of the Purse under test. */
  readonly url: string;
  readonly ctx: Context;
  readonly browser: Browser;
  /** A fresh browser context (no shared memory, so no shared session) and its page. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** A new page that opens the app, logs in through Purse's own /oauth/authorize page, and waits for the signed-in shell. */
  login(username: string, password: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** The same on a page the test already has (listening to its requests, say). */
  logIn(page: Page, username: string, password: string): Promise<void>;
  /** Saves a screenshot as test-output/screenshots/NAME.png and fails on a serious or critical axe-core violation or a CSP refusal. */
  check(page: Page, name: string): Promise<void>;
  /** An access token of the bootstrap client (acting as the administrator), for arranging data through the API. */
  adminToken(): Promise<string>;
  /** A JSON call to the API under test. */
  api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

class Running implements BrowserEnv {
  private state: { url: string; ctx: Context; browser: Browser; close: () => Promise<void> } | undefined;
  private readonly contexts: BrowserContext[] = [];
  private readonly refusals = new WeakMap<Page, string[]>();

  private get started(): NonNullable<Running['state']> {
    if (this.state === undefined) throw new Error('the browser suite has not started');
    return this.state;
  }

  get url(): string {
    return this.started.url;
  }

  get ctx(): Context {
    return this.started.ctx;
  }

  get browser(): Browser {
    return this.started.browser;
  }

  async start(overrides: Partial<Config>): Promise<void> {
    if (!fs.existsSync(path.join(WEB_DIR, 'index.html'))) throw new Error(`${WEB_DIR}/index.html is missing: run npm run build before the browser tests`);
    const db: TestDatabase = await createTestDatabase('sqlite');
    const ctx = await createContext(testConfig(db, overrides), systemClock);
    await bootstrap(ctx);
    const app = await buildServer(ctx);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    this.state = {
      url,
      ctx,
      browser,
      close: async () => {
        await browser.close();
        await app.close();
        await ctx.close();
        await db.drop();
      },
    };
  }

  async stop(): Promise<void> {
    await this.state?.close();
  }

  async newPage(viewport = DESKTOP): Promise<Page> {
    const context = await this.browser.newContext({ viewport, baseURL: this.url, acceptDownloads: true });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    this.contexts.push(context);
    const page = await context.newPage();
    const refusals: string[] = [];
    this.refusals.set(page, refusals);
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) refusals.push(message.text());
    });
    page.on('pageerror', (error) => {
      refusals.push(`uncaught: ${error.message}`);
    });
    return page;
  }

  async login(username: string, password: string, viewport = DESKTOP): Promise<Page> {
    const page = await this.newPage(viewport);
    await this.logIn(page, username, password);
    return page;
  }

  async logIn(page: Page, username: string, password: string): Promise<void> {
    await page.goto('/');
    await page.waitForURL(/\/oauth\/authorize/);
    await this.check(page, `login-${page.viewportSize()?.width ?? 0}`);
    await page.getByLabel(/username/i).fill(username);
    await page.getByLabel(/^password/i).fill(password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    try {
      await page.getByRole('button', { name: 'Log out' }).waitFor();
    } catch (error) {
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `login-failed-${username}.png`), fullPage: true });
      const text = await page.locator('body').innerText();
      throw new Error(`${username} did not reach the app: at ${page.url()}, the page says: ${text.slice(0, 500)}; problems: ${(this.refusals.get(page) ?? []).join('; ')}`, { cause: error });
    }
  }

  async check(page: Page, name: string): Promise<void> {
    await page.waitForLoadState('networkidle');
    fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
    // Evaluated through the DevTools protocol, which the page's CSP does not govern; a <script> tag
    // with axe's text would be refused by script-src 'self', as it should be.
    await page.evaluate(AXE_SOURCE);
    // A string, run in the page: this program is compiled without the DOM's types.
    const violations = await page.evaluate<AxeViolation[]>(AXE_RUN);
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (serious.length > 0) throw new Error(`${name}: axe-core found ${serious.length} serious or critical problems:\n${serious.map((v) => `- ${v.id} (${v.impact ?? ''}): ${v.help} at ${JSON.stringify(v.nodes.slice(0, 3).map((n) => n.target))}`).join('\n')}`);
    const refused = this.refusals.get(page) ?? [];
    if (refused.length > 0) throw new Error(`${name}: the page broke its CSP or threw:\n${refused.join('\n')}`);
  }

  async adminToken(): Promise<string> {
    const res = await fetch(`${this.url}/api/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: BOOT_CLIENT_ID, client_secret: BOOT_CLIENT_SECRET }),
    });
    const body = (await res.json()) as { access_token?: string };
    if (body.access_token === undefined) throw new Error(`admin token: ${res.status}`);
    return body.access_token;
  }

  async api(method: string, urlPath: string, token: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.url}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }
}

/**
 * A describe() whose tests run against one Purse (its settings changed by `overrides`) and one
 * Chromium, started before them and stopped after; skipped with one line when Chromium is not installed (failed instead under PURSE_REQUIRE_BROWSER=1).
 */
/**
 * Waits until a locator matches exactly `count` elements. Not page.waitForFunction with a string:
 * that is eval in the page, which the app's Content-Security-Policy rightly refuses.
 */
export async function waitForCount(locator: Locator, count: number, timeoutMs = 5000): Promise<void> {
  const giveUpAtMs = Date.now() + timeoutMs;
  while ((await locator.count()) !== count) {
    if (Date.now() > giveUpAtMs) throw new Error(`expected ${count} matches, found ${await locator.count()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function browserSuite(name: string, body: (env: BrowserEnv) => void, overrides: Partial<Config> = {}): void {
  if (!fs.existsSync(CHROMIUM) && !REQUIRED) {
    describe(name, { skip: `browser tests skipped: ${CHROMIUM} is not installed (apt-get install chromium; CI sets PURSE_REQUIRE_BROWSER=1 and installs it)` }, () => undefined);
    return;
  }
  describe(name, () => {
    const env = new Running();
    before(async () => {
      if (!fs.existsSync(CHROMIUM)) throw new Error(`PURSE_REQUIRE_BROWSER=1 but ${CHROMIUM} is not installed`);
      await env.start(overrides);
    });
    after(async () => {
      await env.stop();
    });
    body(env);
  });
}

import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { buildDeps } from '../src/build-deps.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { StripeEmulator } from '../src/dev/stripe-emulator/server.js';
import { createLogger } from '../src/logger.js';
import { CHROMIUM, hasChromium, launchChromium } from './support/chromium.js';
import { baseEnv } from './support/harness.js';
import { freePort, ROOT } from './support/processes.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

if (!hasChromium) {
  console.warn(`browser tests SKIPPED: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`);
}
const ARTIFACTS = join(ROOT, 'test', 'artifacts');

describe.skipIf(!hasChromium)('the donation page in a real browser (Chromium)', () => {
  let browser: Browser;
  let database: TestDatabase;
  let emulator: StripeEmulator;
  let server: ServerType;
  let base = '';

  beforeAll(async () => {
    database = await createTestDatabase();
    emulator = await new StripeEmulator().start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      ...baseEnv(emulator.url),
      PUBLIC_URL: base,
      LOG_LEVEL: 'warn',
      ALLOWED_RETURN_ORIGINS: '',
    };
    emulator.setWebhook({ url: `${base}/webhooks/stripe`, secret: env.STRIPE_WEBHOOK_SECRET! });
    const config = loadConfig(env);
    const app = createApp(buildDeps(config, database, systemClock, createLogger('warn')));
    server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await emulator?.stop();
    await database?.close();
  });

  beforeEach(() => database.truncate());

  async function pay(page: import('playwright-core').Page, email: string) {
    await page.waitForURL(/\/c\/pay\/cs_test_/);
    await page.getByLabel('E-mail').fill(email);
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.waitForURL(/\/thank-you\?session_id=cs_test_/);
  }

  it('a one-off gift: preset, Continue, pay at checkout, thank-you page confirmed from our records', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/donate?frequency=once&campaign=browser-test`);
    await page.getByRole('radio', { name: '$10', exact: true }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await pay(page, 'once@example.org');
    await expect.poll(() => page.locator('main').textContent()).toContain('Your gift of $10.00 has been received.');
    const gift = await database.db.selectFrom('gifts').selectAll().executeTakeFirstOrThrow();
    expect(gift).toMatchObject({
      frequency: 'once',
      amount: 1000,
      currency: 'usd',
      status: 'succeeded',
      campaign: 'browser-test',
    });
    await page.close();
  });

  it('a monthly gift in another currency: the presets follow the currency, and the donation is active', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/donate`);
    await page.getByLabel('Currency').selectOption('eur');
    await expect.poll(() => page.locator('#presets').textContent()).toContain('€5');
    await page.getByRole('radio', { name: '€5', exact: true }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await pay(page, 'monthly@example.org');
    await expect.poll(() => page.locator('main').textContent()).toContain('Your monthly gift of €5.00 is active.');
    const donation = await database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow();
    expect(donation).toMatchObject({ amount: 500, currency: 'eur', interval: 'month', status: 'active' });
    await page.close();
  });

  it('a custom amount the API refuses shows its error next to the field, with focus there', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/donate`);
    await page.getByLabel('Other amount').fill('1');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.locator('#amount-error').textContent()).toBe('amount must be at least 2.00 USD');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('other-amount');
    expect(await page.getByLabel('Other amount').getAttribute('aria-invalid')).toBe('true');
    expect(await database.db.selectFrom('checkout_sessions').selectAll().execute()).toEqual([]);
    await page.close();
  });

  it('remind me later: an e-mail, next week, consent; and "not now" records an anonymous deferral', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/donate`);
    await page.getByText('Not ready to support today? Remind me later.').click();
    await page.getByLabel('Your e-mail').fill('later@example.org');
    await page.getByRole('radio', { name: 'Next week' }).check();
    await page.getByRole('button', { name: 'Remind me' }).click();
    await expect.poll(() => page.locator('#consent-error').textContent()).toContain('tick the box');
    await page.getByLabel('Send me one reminder e-mail').check();
    await page.getByRole('button', { name: 'Remind me' }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/We will e-mail you on \w+ \d+, \d{4}\./);
    const reminder = await database.db.selectFrom('reminders').selectAll().executeTakeFirstOrThrow();
    expect(reminder).toMatchObject({
      kind: 'email',
      email: 'later@example.org',
      frequency: 'monthly',
      amount: 500,
      currency: 'usd',
    });
    const days = (reminder.remind_at.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(5);
    expect(days).toBeLessThan(8);

    await page.getByText('Not ready to support today? Remind me later.').click();
    await page.getByRole('button', { name: /Not now/ }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('We will not ask again until');
    const readerId = await page.evaluate(() => localStorage.getItem('rd_reader_id'));
    const deferral = await database.db
      .selectFrom('reminders')
      .selectAll()
      .where('kind', '=', 'deferral')
      .executeTakeFirstOrThrow();
    expect(deferral.reader_id).toBe(readerId);
    await page.close();
  });

  it('works without JavaScript: form posts, the error at the field, then checkout and thank-you', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/donate`);
    await page.getByRole('radio', { name: 'Annual', exact: true }).check();
    await page.getByLabel('Other amount').fill('abc');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${base}/donate`);
    expect(await page.locator('#amount-error').textContent()).toBe('Enter an amount such as 10 or 7.50');
    await page.getByLabel('Other amount').fill('60');
    await page.getByRole('button', { name: 'Continue' }).click();
    await pay(page, 'nojs@example.org');
    expect(await page.locator('main').textContent()).toContain('Your annual gift of $60.00 is active.');
    await context.close();
  });

  it('is small, self-contained, and screenshotted at phone and desktop widths', async () => {
    for (const [name, viewport] of [
      ['phone', { width: 390, height: 844 }],
      ['desktop', { width: 1280, height: 900 }],
    ] as const) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: name === 'phone' ? 2 : 1 });
      const page = await context.newPage();
      const requests: string[] = [];
      let bytes = 0;
      page.on('request', (r) => requests.push(r.url()));
      page.on('response', async (r) => {
        bytes += (await r.body().catch(() => Buffer.alloc(0))).length;
      });
      await page.goto(`${base}/donate`, { waitUntil: 'networkidle' });
      expect(requests.every((u) => u.startsWith(base))).toBe(true);
      expect(bytes).toBeLessThan(50 * 1024);
      const file = join(ARTIFACTS, `donate-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      expect(statSync(file).size).toBeGreaterThan(10_000);
      await context.close();
    }
  });

  it('keyboard only: the choices and Continue are reachable, and focus is visible', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/donate`);
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => {
      const el = document.activeElement as HTMLInputElement;
      return { name: el.name, outline: getComputedStyle(el.nextElementSibling!).outlineStyle };
    });
    expect(first).toEqual({ name: 'frequency', outline: 'solid' });
    // Every visible form control has a label.
    const unlabelled = await page.evaluate(
      () =>
        [...document.querySelectorAll('input:not([type=hidden]), select')].filter(
          (el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'),
        ).length,
    );
    expect(unlabelled).toBe(0);
    await page.close();
  });
});

describe('browser test prerequisites', () => {
  it('reports whether Chromium is there (CI installs it; without it the browser tests above are skipped)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'rd-'));
    expect(existsSync(tmp)).toBe(true);
    if (process.env.CI) expect(hasChromium, 'CI must install Chromium (apt-get install -y chromium)').toBe(true);
  });
});

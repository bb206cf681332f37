import { mkdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { buildDeps } from '../src/build-deps.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { StripeEmulator } from '../src/dev/stripe-emulator/server.js';
import { createLogger } from '../src/logger.js';
import { hasChromium, launchChromium } from './support/chromium.js';
import { linkIn } from './support/donor.js';
import { baseEnv } from './support/harness.js';
import { freePort, ROOT } from './support/processes.js';
import { TestSmtpServer } from './support/smtp.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

const ARTIFACTS = join(ROOT, 'test', 'artifacts');

describe.skipIf(!hasChromium)('a donor manages their gift in a real browser (Chromium)', () => {
  let browser: Browser;
  let database: TestDatabase;
  let emulator: StripeEmulator;
  let smtp: TestSmtpServer;
  let server: ServerType;
  let mailPage: Server;
  let base = '';
  let elsewhere = '';

  beforeAll(async () => {
    [database, emulator, smtp] = await Promise.all([
      createTestDatabase(),
      new StripeEmulator().start(),
      new TestSmtpServer().start(),
    ]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      ...baseEnv(emulator.url),
      PUBLIC_URL: base,
      SMTP_URL: smtp.url,
      LOG_LEVEL: 'warn',
      ALLOWED_RETURN_ORIGINS: '',
    };
    emulator.setWebhook({ url: `${base}/webhooks/stripe`, secret: env.STRIPE_WEBHOOK_SECRET! });
    const app = createApp(buildDeps(loadConfig(env), database, systemClock, createLogger('warn')));
    server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
    // A "webmail" on another site: the mailed link is opened from there, as a donor would.
    mailPage = createServer((req, res) => {
      const link = new URL(req.url ?? '/', 'http://x').searchParams.get('link') ?? '';
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><a id="link" href="${link.replace(/"/g, '&quot;')}">Manage my donations</a>`);
    });
    await new Promise<void>((r) => mailPage.listen(0, '127.0.0.1', r));
    elsewhere = `http://localhost:${(mailPage.address() as AddressInfo).port}`;
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await new Promise<void>((r) => (mailPage ? mailPage.close(() => r()) : r()));
    await emulator?.stop();
    await smtp?.stop();
    await database?.close();
  });

  const main = (page: Page) => page.locator('main').textContent();

  async function walk(name: 'phone' | 'desktop', javaScriptEnabled: boolean) {
    const email = `${name}@example.org`;
    const viewport = name === 'phone' ? { width: 390, height: 844 } : { width: 1280, height: 900 };
    const context = await browser.newContext({ viewport, javaScriptEnabled });
    const page = await context.newPage();

    // Give monthly on the donation page.
    await page.goto(`${base}/donate`);
    await page.getByRole('radio', { name: 'Monthly', exact: true }).check();
    await page.getByRole('radio', { name: '$5', exact: true }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/c\/pay\/cs_test_/);
    await page.getByLabel('E-mail').fill(email);
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.waitForURL(/\/thank-you/);

    // Ask for the link.
    await page.goto(`${base}/manage`);
    await page.getByLabel('E-mail address').fill(email);
    await page.getByRole('button', { name: 'E-mail me a link' }).click();
    await expect.poll(() => main(page)).toContain('If we hold gifts for that address, a link is on its way.');
    const mails = await smtp.waitFor(name === 'phone' ? 1 : 2);
    const link = linkIn(mails.find((m) => m.to[0] === email)!.parsed.text ?? '', base);

    // Open it from another site: the token lands in the cookie and leaves the URL and the history.
    await page.goto(`${elsewhere}/?link=${encodeURIComponent(link.toString())}`);
    await page.locator('#link').click();
    await page.waitForURL(`${base}/manage`);
    await expect.poll(() => main(page)).toContain('$5.00 every month');
    expect(await main(page)).toMatch(/Next payment on \d{1,2} [A-Z][a-z]+ \d{4}\./);
    expect(await main(page)).toContain('Visa ending 4242');
    const cookie = (await context.cookies(`${base}/manage`)).find((c) => c.name === 'rd_manage')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/manage' });
    await page.goBack();
    expect(page.url()).not.toContain('token=');
    await page.goForward();
    await page.waitForURL(`${base}/manage`);

    // Pause for two months.
    await page.getByText('Pause', { exact: true }).first().click();
    await page.getByLabel('Pause for').selectOption('2');
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await expect.poll(() => main(page)).toContain('Your donation is paused.');
    expect(await main(page)).toMatch(/Paused until \d{1,2} [A-Z][a-z]+ \d{4}\./);

    // A new amount.
    await page.getByText('Change the amount').click();
    await page.getByLabel(/New amount/).fill('7.50');
    await page.getByRole('button', { name: 'Change amount' }).click();
    await expect.poll(() => main(page)).toContain('$7.50 every month');

    // A new card through the (emulated) portal.
    await page.getByRole('button', { name: 'Update card' }).click();
    await page.waitForURL(/\/p\/session\/bps_/);
    await page.getByRole('button', { name: 'Update card' }).click();
    await page.waitForURL(`${base}/manage`);
    await expect.poll(() => main(page)).toContain('Mastercard ending 4444');

    // Cancel: the offers come first, and the cancel is there.
    await page.getByRole('link', { name: 'Cancel this donation' }).click();
    await expect.poll(() => main(page)).toContain('Take a break');
    expect(await main(page)).toContain('Give less');
    await page.getByLabel('I give to another cause instead').check();
    await page.getByRole('button', { name: 'Cancel my donation' }).click();
    await expect.poll(() => main(page)).toContain('Your donation is cancelled.');
    expect(await main(page)).toMatch(/It ends on \d{1,2} [A-Z][a-z]+ \d{4}\./);
    const file = join(ARTIFACTS, `manage-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);

    // And change of heart.
    await page.getByRole('button', { name: 'Keep my donation' }).click();
    await expect.poll(() => main(page)).toContain('Your donation continues as before.');

    const row = await database.db
      .selectFrom('recurring_donations')
      .innerJoin('supporters', 'supporters.id', 'recurring_donations.supporter_id')
      .select(['amount', 'cancel_at_period_end', 'paused'])
      .where('supporters.email', '=', email)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ amount: 750, cancel_at_period_end: false, paused: false });
    await context.close();
  }

  it('on a phone, without JavaScript: link, pause, amount, card, cancel, keep', async () => {
    await walk('phone', false);
  });

  it('on a desktop, with JavaScript', async () => {
    await walk('desktop', true);
  });
});

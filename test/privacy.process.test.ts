import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { buildDeps } from '../src/build-deps.js';
import { fixedClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { StripeEmulator } from '../src/dev/stripe-emulator/server.js';
import { createLogger } from '../src/logger.js';
import { freshDataDir } from './support/data-dir.js';
import { baseEnv, TEST_NOW } from './support/harness.js';
import { oneOff, recurring } from './support/histories.js';
import { deliverAll, inOrder } from './support/ledger.js';
import { childEnv, runTs, startServer } from './support/processes.js';
import { subscription, TAG } from './support/stripe-events.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

const freshDir = () => freshDataDir('rd-priv-');

/** Every file and folder under `dir`, with its permission bits. */
function modes(dir: string): Array<{ path: string; mode: number }> {
  const out = [{ path: dir, mode: statSync(dir).mode & 0o777 }];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...modes(path));
    else out.push({ path, mode: statSync(path).mode & 0o777 });
  }
  return out;
}

describe('the embedded database at rest', () => {
  it('started with umask 022 on a fresh DATA_DIR, the server leaves nothing group or others can read', {
    timeout: 90_000,
  }, async () => {
    const dataDir = freshDir();
    const server = await startServer(childEnv({ DATA_DIR: dataDir }), 60_000, { umask: '022' });
    try {
      const res = await fetch(`${server.url}/api/reminders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'reader@example.org', consent: true }),
      });
      expect(res.status).toBe(201);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const all = modes(dataDir);
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter((f) => (f.mode & 0o077) !== 0)).toEqual([]);
    expect(all[0]).toEqual({ path: dataDir, mode: 0o700 });
  });

  it('refuses, in one line naming it, a DATA_DIR that others can read', { timeout: 60_000 }, async () => {
    const dataDir = freshDir();
    mkdirSync(dataDir, { mode: 0o755 });
    const result = await runTs('src/server.ts', [], childEnv({ DATA_DIR: dataDir }));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `reader-donations: error: DATA_DIR ${dataDir} can be read by group or others (mode 0755); ` +
        `it holds supporters' data: run chmod 700 ${dataDir}\n`,
    );
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('supporter access and erasure from the command line', () => {
  let stripe: StripeEmulator;
  let env: NodeJS.ProcessEnv;
  let database: TestDatabase;
  const T0 = Date.parse(TEST_NOW) / 1000 - 100 * 86_400;

  beforeAll(async () => {
    stripe = await new StripeEmulator().start();
    database = await createTestDatabase();
    const config = loadConfig(baseEnv(stripe.url));
    const deps = buildDeps(config, database, fixedClock(TEST_NOW), createLogger('silent'));
    await deliverAll(
      createApp(deps),
      inOrder([oneOff(1, T0), recurring(2, T0, { interval: 'month', renewals: 1 })]),
      Date.parse(TEST_NOW) / 1000,
    );
    stripe.subscriptions.set(
      'sub_monthly2',
      subscription({
        id: 'sub_monthly2',
        customer: 'cus_monthly2',
        status: 'active',
        amount: 500,
        interval: 'month',
        startDate: T0,
        currentPeriodEnd: T0 + 130 * 86_400,
        metadata: { ...TAG, frequency: 'monthly' },
      }),
    );
    const { STRIPE_SECRET_KEY, STRIPE_API_URL } = baseEnv(stripe.url);
    env = childEnv({
      DATABASE_URL: database.url,
      STRIPE_SECRET_KEY,
      STRIPE_API_URL,
    });
  });
  afterAll(async () => {
    await stripe.stop();
    await database.close();
  });

  const cli = (...args: string[]) => runTs('src/cli/main.ts', args, env);
  const cliWithInput = (input: string, ...args: string[]) => runTs('src/cli/main.ts', args, env, 60_000, input);

  it('shows everything held, refuses to erase a live monthly donor, then erases with --cancel-recurring', {
    timeout: 180_000,
  }, async () => {
    const shown = await cli('supporters', 'show', '--email', 'Reader.Monthly2@example.org');
    expect(shown.code).toBe(0);
    const record = JSON.parse(shown.stdout);
    expect(record.supporters).toMatchObject([{ email: 'reader.monthly2@example.org', name: 'Reader 2' }]);
    const id = record.supporters[0].id;
    expect(record.recurringDonations).toMatchObject([{ stripeSubscriptionId: 'sub_monthly2', status: 'active' }]);
    expect(record.gifts).toHaveLength(2);

    const refused = await cli('supporters', 'erase', '--email', 'reader.monthly2@example.org');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^reader-donations: the supporter has 1 recurring donation .*cancel it at Stripe first \(--cancel-recurring\)\n$/,
    );

    // The address read from standard input: it stays out of shell history and `ps`.
    const erased = await cliWithInput(
      'Reader.Monthly2@example.org\n',
      'supporters',
      'erase',
      '--email',
      '-',
      '--cancel-recurring',
    );
    expect(erased.stderr).toBe('');
    expect(erased.stdout).toBe(
      `erased 1 supporter (${id}): 1 recurring donation canceled at Stripe, 0 Stripe customers deleted, ` +
        '0 reminders erased, 0 stored event bodies dropped\n',
    );
    expect(erased.code).toBe(0);
    expect(stripe.requestsTo('DELETE', '/v1/subscriptions/sub_monthly2')).toHaveLength(1);

    const again = await cli('supporters', 'show', '--email', 'reader.monthly2@example.org');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('reader-donations: nothing is held for that e-mail address\n');
    const audit = await cli('audit', 'list');
    const erasures = audit.stdout.split('\n').filter((l) => l.includes('\tcommand line\tsupporters erase\t'));
    expect(erasures).toHaveLength(2);
    expect(erasures[0]).toContain(`"supporterIds":["${id}"]`);
    expect(erasures[0]).toMatch(/"cancelRecurring":true.*\t1\ttrue\t$/);
    expect(audit.stdout).not.toContain('@');
  });

  it('privacy sweep runs the retention once, for cron', { timeout: 120_000 }, async () => {
    const swept = await cli('privacy', 'sweep');
    expect(swept.stdout).toMatch(
      /^reminder addresses erased 0, event bodies dropped 0, rate-limit counters deleted 0, idempotency records deleted 0, audit addresses cleared \d+, reader ids cleared 0, erasure guards cleared 0, manage links expired 0\n$/,
    );
    expect(swept.code).toBe(0);
    const usage = await cli('supporters', 'erase');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe('reader-donations: needs --email ADDRESS (or --email - to read it)\n');
    const stray = await cli('privacy', 'sweep', '--dry-run');
    expect(stray.code).toBe(2);
    expect(stray.stderr).toBe('reader-donations: privacy sweep takes no arguments\n');
  });
});

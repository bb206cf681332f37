import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeEmulator } from '../src/dev/stripe-emulator/server.js';
import { baseEnv } from './support/harness.js';
import { oneOff, recurring } from './support/histories.js';
import { inOrder } from './support/ledger.js';
import { childEnv, runTs } from './support/processes.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

describe('npm run cli -- stripe reconcile and stripe import', () => {
  let database: TestDatabase;
  let stripe: StripeEmulator;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [database, stripe] = await Promise.all([createTestDatabase(), new StripeEmulator().start()]);
    const now = Math.floor(Date.now() / 1000);
    const hs = [oneOff(1, now - 86_400), recurring(2, now - 3 * 86_400, { interval: 'month', renewals: 0 })];
    stripe.addEvents(inOrder(hs));
    const { STRIPE_SECRET_KEY, STRIPE_API_URL } = baseEnv(stripe.url);
    env = childEnv({ DATABASE_URL: database.url, STRIPE_SECRET_KEY, STRIPE_API_URL });
  });
  afterAll(async () => {
    await stripe.stop();
    await database.close();
  });

  const cli = (...args: string[]) => runTs('src/cli/main.ts', ['stripe', 'reconcile', ...args], env);

  it('lists what it would apply, applies it once, and says so in its last line', { timeout: 120_000 }, async () => {
    const dry = await cli('--dry-run');
    expect(dry.code).toBe(0);
    const lines = dry.stdout.trim().split('\n');
    expect(lines.slice(0, -1).every((l) => /^would apply\tevt_\w+\t[a-z_.]+$/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe('reconcile (dry run): seen 4, already recorded 0, would apply 4, failed 0');
    expect(await database.db.selectFrom('stripe_events').selectAll().execute()).toEqual([]);

    const run = await cli();
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('reconcile: seen 4, already recorded 0, applied 4, failed 0');
    expect(await database.db.selectFrom('gifts').selectAll().execute()).toHaveLength(2);
    const again = await cli('--since', new Date(Date.now() - 7 * 86_400_000).toISOString());
    expect(again.stdout).toBe('reconcile: seen 4, already recorded 4, applied 0, failed 0\n');
    const bad = await cli('--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('reader-donations: --since must be an ISO date, got "yesterday"\n');
  });

  it('stripe import without a match option adopts nothing and says so; bad options are refused', {
    timeout: 120_000,
  }, async () => {
    const run = (...args: string[]) => runTs('src/cli/main.ts', ['stripe', 'import', ...args], env);
    const survey = await run('--since', '2020-01-01');
    expect(survey.code).toBe(0);
    expect(survey.stdout).toMatch(
      /^import: no --match-metadata or --match-product-name, so nothing adopted\. subscriptions seen \d+, matched 0; one-off payments seen \d+, matched 0\.\n/,
    );
    expect(survey.stdout).toContain('product names (payments carrying each):');
    const both = await run('--since', '2020-01-01', '--match-metadata', 'a=b', '--match-product-name', 'x');
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('reader-donations: give --match-metadata or --match-product-name, not both\n');
    const noSince = await run('--match-metadata', 'a=b');
    expect(noSince.code).toBe(2);
    expect(noSince.stderr).toBe('reader-donations: stripe import needs --since ISO (e.g. 2020-01-01)\n');
  });
});

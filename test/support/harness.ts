import { Writable } from 'node:stream';
import type { Hono } from 'hono';
import { openWebhookPool } from '../../db/connect.js';
import { createApp } from '../../src/app.js';
import type { AppEnv } from '../../src/app-env.js';
import { buildDeps } from '../../src/build-deps.js';
import { fixedClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { Deps } from '../../src/deps.js';
import { StripeEmulator } from '../../src/dev/stripe-emulator/server.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

export const TEST_NOW = '2026-11-28T12:00:00.000Z';
export const TEST_PUBLIC_URL = 'https://donate.newsroom.test';

export interface TestContext {
  app: Hono<AppEnv>;
  deps: Deps;
  database: TestDatabase;
  stripe: StripeEmulator;
  clock: ReturnType<typeof fixedClock>;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Rebuilds the app with other environment variables over the same database and fake. */
  rebuild(env?: Record<string, string | undefined>): void;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export function baseEnv(stripeUrl: string): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: 'sk_test_reader_donations_tests',
    STRIPE_API_URL: stripeUrl,
    STRIPE_WEBHOOK_SECRET: 'whsec_test_secret',
    STRIPE_MAX_RETRIES: '0',
    PUBLIC_URL: TEST_PUBLIC_URL,
    ALLOWED_ORIGINS: 'https://news.example',
    ALLOWED_RETURN_ORIGINS: 'https://news.example',
    LOG_LEVEL: 'debug',
    // In-process requests often leave an export's body unread, which holds its slot until the stall
    // timeout; the test of the limit itself sets its own.
    EXPORT_CONCURRENCY: '50',
  };
}

export async function createTestContext(env: Record<string, string | undefined> = {}): Promise<TestContext> {
  const [database, stripe] = await Promise.all([createTestDatabase(), new StripeEmulator().start()]);
  const clock = fixedClock(TEST_NOW);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });

  // The webhook pool is sized by the configuration (WEBHOOK_POOL_SIZE), so each build has its own.
  const webhookPools: Array<{ end(): Promise<void> }> = [];
  const build = (overrides: Record<string, string | undefined>) => {
    const config = loadConfig({ ...baseEnv(stripe.url), ...overrides });
    const webhooks = openWebhookPool({
      url: database.url,
      poolSize: config.DATABASE_POOL_SIZE,
      webhookConnections: config.WEBHOOK_POOL_SIZE,
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    });
    webhookPools.push(webhooks);
    const handle = {
      ...database,
      withPipeline: webhooks.withPipeline,
      poolStats: () => database.poolStats().map((s) => (s.pool === 'webhooks' ? webhooks.stats() : s)),
    };
    const deps = buildDeps(config, handle, clock, createLogger(config.LOG_LEVEL, sink));
    return { deps, app: createApp(deps) };
  };

  const ctx: TestContext = {
    ...build(env),
    database,
    stripe,
    clock,
    logs,
    rebuild(overrides = {}) {
      Object.assign(ctx, build({ ...env, ...overrides }));
    },
    async reset() {
      await database.truncate();
      stripe.requests.length = 0;
      stripe.sessions.clear();
      stripe.invoicePayments.length = 0;
      stripe.charges.clear();
      stripe.disputes.clear();
      stripe.products.clear();
      stripe.subscriptions.clear();
      stripe.customers.clear();
      stripe.paymentIntents.clear();
      stripe.invoices.clear();
      stripe.paymentMethods.clear();
      stripe.portalSessions.clear();
      stripe.holdDeliveries(false);
      stripe.held.length = 0;
      stripe.events.length = 0;
      stripe.account.endpoints.length = 0;
      stripe.account.portalConfigurations.length = 0;
      stripe.clearFaults();
      logs.length = 0;
      clock.set(TEST_NOW);
    },
    async close() {
      await Promise.all(webhookPools.map((p) => p.end()));
      await Promise.all([database.close(), stripe.stop()]);
    },
  };
  return ctx;
}

/** POSTs JSON (or a raw string) to the in-process app. */
export function postJson(
  app: Hono<AppEnv>,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

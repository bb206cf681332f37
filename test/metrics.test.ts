import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendManageLinks } from '../src/manage/send-links.js';
import { collectProcessMetrics } from '../src/metrics/metrics.js';
import { metricsApp } from '../src/metrics/metrics-app.js';
import { sendDueReminders } from '../src/reminders/send-due.js';
import { reconcile } from '../src/stripe/reconcile.js';
import { bearer, give, serveWebhooks, tokenFor } from './support/donor.js';
import { createTestContext, postJson, type TestContext } from './support/harness.js';
import type { Served } from './support/http-server.js';
import { childEnv, freePort, startServer } from './support/processes.js';
import { TestSmtpServer } from './support/smtp.js';
import { staffToken } from './support/staff.js';
import { deliver, event } from './support/stripe-events.js';
import { createTestDatabase } from './support/test-db.js';

let ctx: TestContext;
let smtp: TestSmtpServer;
let served: Served;

beforeAll(async () => {
  smtp = await new TestSmtpServer().start();
  ctx = await createTestContext({ SMTP_URL: smtp.url });
  served = await serveWebhooks(ctx);
  ctx.clock.set(new Date());
});
afterAll(async () => {
  await served.close();
  await ctx.close();
  await smtp.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus's text format, the samples only. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

describe('GET /metrics', () => {
  it('after a full flow, every family has moved, and no label holds an address, an id or a raw path', async () => {
    collectProcessMetrics(ctx.deps.metrics);
    // Checkout and its webhooks, a refused checkout, a Stripe error.
    const { subscriptionId } = await give(ctx, { email: 'donor@example.org', amount: 700 });
    expect(
      (await postJson(ctx.app, '/api/checkout-sessions', { frequency: 'once', amount: 1, currency: 'usd' })).status,
    ).toBe(400);
    ctx.stripe.failNext({ status: 500 });
    expect(
      (await postJson(ctx.app, '/api/checkout-sessions', { frequency: 'once', amount: 1000, currency: 'usd' })).status,
    ).toBe(502);
    // An event that fails (its object does not fit its type).
    const t = Math.floor(Date.now() / 1000);
    const broken = event('invoice.paid', { id: 'in_broken', object: 'invoice' }, { created: t });
    expect((await deliver(ctx.app, broken, { timestamp: t })).status).toBe(500);
    // A donor's page with an id in its path, a manage link mailed, a reminder mailed.
    const token = await tokenFor(ctx, 'donor@example.org');
    const donations = (await (
      await ctx.app.request('/api/manage/donations', { headers: bearer(token) })
    ).json()) as any;
    await postJson(ctx.app, `/api/manage/recurring/${donations.recurring[0].id}/pause`, { months: 1 }, bearer(token));
    await postJson(ctx.app, '/api/manage/links', { email: 'donor@example.org' });
    expect((await postJson(ctx.app, '/api/reminders', { email: 'later@example.org', consent: true })).status).toBe(201);
    await ctx.deps.linkMail.idle();
    await sendManageLinks(ctx.deps);
    ctx.clock.advance(31 * 86_400_000);
    await sendDueReminders(ctx.deps);
    ctx.clock.set(new Date());
    // An export and a reconciliation.
    const finance = await staffToken(ctx, 'finance');
    expect(await (await ctx.app.request('/admin/exports/gifts.csv', { headers: bearer(finance) })).text()).toContain(
      'gift_id',
    );
    await reconcile(ctx.deps, { since: new Date(Date.now() - 3600_000), dryRun: false, trigger: 'cli' });
    await ctx.app.request('/no/such/page/123');

    const res = await metricsApp(ctx.deps.metrics).request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const s = parse(text);

    expect(total(s, 'rd_http_requests_total', { method: 'POST', route: '/api/checkout-sessions', status: '201' })).toBe(
      1,
    );
    expect(total(s, 'rd_http_requests_total', { route: '/api/manage/recurring/:id/:action', status: '200' })).toBe(1);
    expect(total(s, 'rd_http_requests_total', { route: '/api/manage/links', status: '202' })).toBe(1);
    expect(total(s, 'rd_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    expect(total(s, 'rd_http_request_duration_seconds_count', { route: '/webhooks/stripe' })).toBeGreaterThanOrEqual(3);
    expect(total(s, 'rd_webhook_events_total', { type: 'invoice.paid', outcome: 'processed' })).toBe(1);
    expect(total(s, 'rd_webhook_events_total', { type: 'invoice.paid', outcome: 'failed' })).toBe(1);
    expect(total(s, 'rd_webhook_event_lag_seconds_count', { type: 'customer.subscription.created' })).toBe(1);
    expect(total(s, 'rd_checkout_sessions_total', { outcome: 'created' })).toBe(1);
    expect(total(s, 'rd_checkout_sessions_total', { outcome: 'failed', reason: 'invalid_request' })).toBe(1);
    expect(total(s, 'rd_checkout_sessions_total', { outcome: 'failed', reason: 'payment_provider_error' })).toBe(1);
    expect(
      total(s, 'rd_stripe_request_duration_seconds_count', { operation: 'POST /v1/checkout/sessions', status: '200' }),
    ).toBe(1);
    expect(total(s, 'rd_stripe_request_duration_seconds_count', { operation: 'POST /v1/subscriptions/:id' })).toBe(1);
    expect(total(s, 'rd_stripe_errors_total', { operation: 'POST /v1/checkout/sessions', status: '500' })).toBe(1);
    expect(total(s, 'rd_mail_total', { kind: 'reminder', outcome: 'sent' })).toBe(1);
    expect(total(s, 'rd_mail_total', { kind: 'manage_link', outcome: 'sent' })).toBe(1);
    expect(s.some((x) => x.name === 'rd_mail_queue' && x.labels.kind === 'reminder')).toBe(true);
    expect(total(s, 'rd_db_pool_size', { pool: 'main' })).toBe(10);
    expect(total(s, 'rd_db_pool_connections')).toBeGreaterThan(0);
    expect(s.some((x) => x.name === 'rd_db_pool_in_use')).toBe(true);
    expect(s.some((x) => x.name === 'rd_db_pool_waiting')).toBe(true);
    expect(total(s, 'rd_export_rows_total', { file: 'gifts' })).toBe(1);
    expect(total(s, 'rd_reconcile_runs_total', { trigger: 'cli', outcome: 'complete' })).toBe(1);
    expect(s.some((x) => x.name === 'rd_reconcile_applied_events_total')).toBe(true);
    expect(total(s, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const values = s.flatMap((x) => Object.values(x.labels));
    expect(values.filter((v) => /@|cs_test|sub_|evt_|cus_|rdt_|[0-9a-f]{8}-[0-9a-f]{4}/.test(v))).toEqual([]);
    expect(text).not.toContain(subscriptionId!);
    expect(text).not.toContain(token);
  });

  it('is not on the public port', async () => {
    expect((await ctx.app.request('/metrics')).status).toBe(404);
  });
});

describe('METRICS_PORT', () => {
  it('serves /metrics on its own port only, with process metrics', { timeout: 90_000 }, async () => {
    const database = await createTestDatabase();
    const metricsPort = await freePort();
    const server = await startServer(childEnv({ DATABASE_URL: database.url, METRICS_PORT: String(metricsPort) }));
    try {
      expect((await fetch(`${server.url}/donate`)).status).toBe(200);
      const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(scraped.status).toBe(200);
      const text = await scraped.text();
      expect(text).toContain('rd_http_requests_total{method="GET",route="/donate",status="200"} 1');
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/donate`)).status).toBe(404);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    } finally {
      expect(await server.stop()).toBe(0);
      await database.close();
    }
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countRows, expectError } from './support/assertions.js';
import { createTestContext, postJson, type TestContext } from './support/harness.js';
import { type Served, serveApp } from './support/http-server.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const valid = { frequency: 'once', amount: 500, currency: 'usd' };

async function expectNothingWritten() {
  expect(await countRows(ctx.database, 'checkout_sessions')).toBe(0);
}

describe('POST /api/checkout-sessions: bad input', () => {
  it.each([
    ['amount is a fraction', { ...valid, amount: 5.5 }, 'amount', /whole number/],
    ['amount is a string', { ...valid, amount: '500' }, 'amount', /whole number/],
    ['amount is negative', { ...valid, amount: -500 }, 'amount', /at least 2\.00 USD/],
    ['amount is zero', { ...valid, amount: 0 }, 'amount', /at least 2\.00 USD/],
    ['amount is below the minimum', { ...valid, amount: 199 }, 'amount', /at least 2\.00 USD/],
    ['amount is above the maximum', { ...valid, amount: 1_000_001 }, 'amount', /at most 10000\.00 USD/],
    ['amount is missing', { frequency: 'once', currency: 'usd' }, 'amount', /amount is required/],
    ['currency is unknown', { ...valid, currency: 'chf' }, 'currency', /one of USD, EUR, GBP/],
    ['currency is not a code', { ...valid, currency: 'dollars' }, 'currency', /ISO 4217/],
    ['frequency is unknown', { ...valid, frequency: 'weekly' }, 'frequency', /once, monthly, annual/],
    ['frequency is missing', { amount: 500, currency: 'usd' }, 'frequency', /frequency is required/],
    ['email is malformed', { ...valid, email: 'not-an-email' }, 'email', /valid e-mail/],
    ['email is not a string', { ...valid, email: 42 }, 'email', /string/],
    ['campaign is too long', { ...valid, campaign: 'x'.repeat(101) }, 'campaign', /at most 100/],
    ['campaign has control characters', { ...valid, campaign: 'a\u0000b' }, 'campaign', /control/],
    [
      'successUrl is on a foreign origin',
      { ...valid, successUrl: 'https://evil.example/x' },
      'successUrl',
      /allowed return origin/,
    ],
    ['successUrl is not a URL', { ...valid, successUrl: '/thanks' }, 'successUrl', /absolute/],
    ['successUrl is javascript:', { ...valid, successUrl: 'javascript:alert(1)' }, 'successUrl', /absolute http/],
    [
      'cancelUrl is on a foreign origin',
      { ...valid, cancelUrl: 'https://news.example.evil.com/' },
      'cancelUrl',
      /allowed/,
    ],
  ])('%s -> 400 naming the field', async (_name, body, field, message) => {
    const res = await postJson(ctx.app, '/api/checkout-sessions', body);
    const error = await expectError(res, 400, 'invalid_request', field);
    expect(error.message).toMatch(message);
    expect(ctx.stripe.requests).toHaveLength(0);
    await expectNothingWritten();
  });

  it.each([
    ['not JSON', '{"frequency":', /not valid JSON/],
    ['a JSON array', '[1,2]', /JSON object/],
    ['a JSON string', '"hello"', /JSON object/],
    ['JSON null', 'null', /JSON object/],
    ['empty', '', /JSON object/],
  ])('a body that is %s -> 400', async (_name, raw, message) => {
    const error = await expectError(await postJson(ctx.app, '/api/checkout-sessions', raw), 400, 'invalid_request');
    expect(error.message).toMatch(message);
    await expectNothingWritten();
  });

  it('a body over 16 KB -> 413', async () => {
    const res = await postJson(ctx.app, '/api/checkout-sessions', { ...valid, campaign: 'x'.repeat(17_000) });
    await expectError(res, 413, 'payload_too_large');
    expect(ctx.stripe.requests).toHaveLength(0);
    await expectNothingWritten();
  });

  it('an Idempotency-Key over 255 characters -> 400', async () => {
    const res = await postJson(ctx.app, '/api/checkout-sessions', valid, { 'Idempotency-Key': 'k'.repeat(256) });
    await expectError(res, 400, 'invalid_request', 'Idempotency-Key');
    expect(await countRows(ctx.database, 'idempotency_keys')).toBe(0);
  });

  it('an unknown route answers 404 in the same shape', async () => {
    await expectError(await ctx.app.request('/api/nothing-here'), 404, 'not_found');
  });
});

describe('POST /api/checkout-sessions: Stripe failing', () => {
  it('a Stripe 4xx -> 502 payment_provider_error, logged with Stripe request id, never the key', async () => {
    ctx.stripe.failNext({
      status: 400,
      error: { type: 'invalid_request_error', message: 'Bad currency', param: 'currency' },
    });
    const res = await postJson(ctx.app, '/api/checkout-sessions', valid);
    await expectError(res, 502, 'payment_provider_error');
    await expectNothingWritten();
    const line = ctx.logs.find((l) => l.msg === 'stripe call failed');
    expect(line?.stripeRequestId).toMatch(/^req_/);
    expect(JSON.stringify(ctx.logs)).not.toContain('sk_test_reader_donations_tests');
  });

  it('a Stripe 5xx is retried with the same idempotency key, then -> 502 when it persists', async () => {
    ctx.rebuild({ STRIPE_MAX_RETRIES: '2' });
    ctx.stripe.failNext({ status: 500 }, 3);
    const res = await postJson(ctx.app, '/api/checkout-sessions', valid);
    await expectError(res, 502, 'payment_provider_error');
    const calls = ctx.stripe.requestsTo('POST', '/v1/checkout/sessions');
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.headers['idempotency-key'])).size).toBe(1);
    await expectNothingWritten();
    ctx.rebuild();
  });

  it('a transient Stripe 5xx followed by success creates exactly one session', async () => {
    ctx.rebuild({ STRIPE_MAX_RETRIES: '2' });
    ctx.stripe.failNext({ status: 503 });
    const res = await postJson(ctx.app, '/api/checkout-sessions', valid);
    expect(res.status).toBe(201);
    expect(ctx.stripe.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(2);
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(1);
    ctx.rebuild();
  });

  it('Stripe-Should-Retry: false is respected', async () => {
    ctx.rebuild({ STRIPE_MAX_RETRIES: '2' });
    ctx.stripe.failNext({ status: 500, shouldRetry: false });
    await expectError(await postJson(ctx.app, '/api/checkout-sessions', valid), 502, 'payment_provider_error');
    expect(ctx.stripe.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(1);
    ctx.rebuild();
  });

  it('Stripe slower than STRIPE_TIMEOUT_MS -> 504, within the deadline, retries included', async () => {
    ctx.rebuild({ STRIPE_TIMEOUT_MS: '300', STRIPE_MAX_RETRIES: '3' });
    ctx.stripe.failNext({ delayMs: 2000, status: 500 }, 4);
    const started = performance.now();
    const res = await postJson(ctx.app, '/api/checkout-sessions', valid);
    const elapsed = performance.now() - started;
    await expectError(res, 504, 'payment_provider_timeout');
    expect(elapsed).toBeLessThan(1500);
    await expectNothingWritten();
    ctx.rebuild();
  });

  it('a dropped connection -> 502, nothing written', async () => {
    ctx.stripe.failNext({ hangUp: true }, 2);
    await expectError(await postJson(ctx.app, '/api/checkout-sessions', valid), 502, 'payment_provider_error');
    await expectNothingWritten();
  });
});

describe('POST /api/checkout-sessions: without STRIPE_SECRET_KEY', () => {
  it('-> 503 payment_provider_unconfigured naming the variable', async () => {
    ctx.rebuild({ STRIPE_SECRET_KEY: undefined });
    const error = await expectError(
      await postJson(ctx.app, '/api/checkout-sessions', valid),
      503,
      'payment_provider_unconfigured',
    );
    expect(error.message).toContain('STRIPE_SECRET_KEY');
    expect(ctx.stripe.requests).toHaveLength(0);
    ctx.rebuild();
  });
});

describe('POST /api/checkout-sessions over a real HTTP server (the body read from Node directly)', () => {
  let served: Served;
  let url: string;
  beforeAll(async () => {
    served = await serveApp(ctx.app);
    url = `${served.base}/api/checkout-sessions`;
  });
  afterAll(() => served.close());

  const post = (body: BodyInit) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
  const streamed = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(text);
        for (let i = 0; i < bytes.length; i += 4_000) controller.enqueue(bytes.subarray(i, i + 4_000));
        controller.close();
      },
    });

  it('creates a session from a body sent with a length, and from one streamed without', async () => {
    const declared = await post(JSON.stringify({ ...valid, campaign: 'Весна 🌻' }));
    expect(declared.status).toBe(201);
    const chunked = await post(streamed(JSON.stringify(valid)));
    expect(chunked.status).toBe(201);
    const rows = await ctx.database.db
      .selectFrom('checkout_sessions')
      .select('campaign')
      .orderBy('created_at')
      .execute();
    expect(rows.map((r) => r.campaign).sort()).toEqual(['Весна 🌻', null].sort());
  });

  it('answers 413 past 16 KB, declared or streamed without a length, before calling Stripe', async () => {
    const big = JSON.stringify({ ...valid, campaign: 'x'.repeat(17_000) });
    await expectError(await post(big), 413, 'payload_too_large');
    await expectError(await post(streamed(big)), 413, 'payload_too_large');
    expect(ctx.stripe.requests).toHaveLength(0);
    await expectNothingWritten();
  });
});

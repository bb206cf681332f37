import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, postJson, TEST_PUBLIC_URL, type TestContext } from './support/harness.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const EXPIRES_AT = String(Date.parse('2026-11-28T13:00:00Z') / 1000);

describe('POST /api/checkout-sessions: happy paths', () => {
  it('one-off gift: payment mode with exactly the parameters Stripe needs', async () => {
    const res = await postJson(ctx.app, '/api/checkout-sessions', {
      frequency: 'once',
      amount: 500,
      currency: 'USD',
      email: 'Reader@Example.org',
      campaign: 'article-banner',
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^cs_test_/),
      url: expect.stringContaining('/c/pay/cs_test_'),
      frequency: 'once',
      amount: 500,
      currency: 'usd',
    });

    const [call] = ctx.stripe.requestsTo('POST', '/v1/checkout/sessions');
    expect(call?.headers['stripe-version']).toBe('2026-10-28.endive');
    expect(call?.headers.authorization).toBe('Bearer sk_test_reader_donations_tests');
    const row = await ctx.database.db.selectFrom('checkout_sessions').selectAll().executeTakeFirstOrThrow();
    const metadata = {
      rd_source: 'reader-donations',
      rd_checkout_id: row.id,
      frequency: 'once',
      campaign: 'article-banner',
    };
    expect(call?.params).toEqual({
      mode: 'payment',
      line_items: [
        {
          quantity: '1',
          price_data: { currency: 'usd', unit_amount: '500', product_data: { name: 'One-off donation' } },
        },
      ],
      submit_type: 'donate',
      success_url: `${TEST_PUBLIC_URL}/thank-you?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${TEST_PUBLIC_URL}/donate/cancelled`,
      client_reference_id: row.id,
      expires_at: EXPIRES_AT,
      metadata,
      customer_email: 'reader@example.org',
      customer_creation: 'always',
      payment_intent_data: { metadata },
    });
    expect(call?.headers['idempotency-key']).toBe(`rd-checkout-${row.id}`);

    expect(row).toMatchObject({
      stripe_session_id: body.id,
      frequency: 'once',
      amount: 500,
      currency: 'usd',
      campaign: 'article-banner',
      status: 'open',
      livemode: false,
    });
    expect(row.created_at.toISOString()).toBe('2026-11-28T12:00:00.000Z');
    expect(row.expires_at.toISOString()).toBe('2026-11-28T13:00:00.000Z');
  });

  it.each([
    ['monthly', 'month', 'Monthly donation', 200],
    ['annual', 'year', 'Annual donation', 10000],
  ] as const)('%s gift: subscription mode with a %s interval', async (frequency, interval, name, amount) => {
    const res = await postJson(ctx.app, '/api/checkout-sessions', { frequency, amount, currency: 'eur' });
    expect(res.status).toBe(201);
    const [call] = ctx.stripe.requestsTo('POST', '/v1/checkout/sessions');
    const row = await ctx.database.db.selectFrom('checkout_sessions').selectAll().executeTakeFirstOrThrow();
    const metadata = { rd_source: 'reader-donations', rd_checkout_id: row.id, frequency };
    expect(call?.params).toEqual({
      mode: 'subscription',
      line_items: [
        {
          quantity: '1',
          price_data: { currency: 'eur', unit_amount: String(amount), product_data: { name }, recurring: { interval } },
        },
      ],
      submit_type: 'donate',
      success_url: `${TEST_PUBLIC_URL}/thank-you?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${TEST_PUBLIC_URL}/donate/cancelled`,
      client_reference_id: row.id,
      expires_at: EXPIRES_AT,
      metadata,
      subscription_data: { metadata },
    });
    expect(row).toMatchObject({ frequency, amount, currency: 'eur', campaign: null });
  });

  it('return URLs on an allowed origin are used, and the session id placeholder is added', async () => {
    const res = await postJson(ctx.app, '/api/checkout-sessions', {
      frequency: 'once',
      amount: 2500,
      currency: 'gbp',
      successUrl: 'https://news.example/support/thanks?ref=box#top',
      cancelUrl: 'https://news.example/support',
    });
    expect(res.status).toBe(201);
    const [call] = ctx.stripe.requestsTo('POST', '/v1/checkout/sessions');
    expect(call?.params.success_url).toBe(
      'https://news.example/support/thanks?ref=box&session_id={CHECKOUT_SESSION_ID}#top',
    );
    expect(call?.params.cancel_url).toBe('https://news.example/support');
  });

  it('the session expiry follows CHECKOUT_SESSION_TTL_MINUTES on the injected clock', async () => {
    ctx.rebuild({ CHECKOUT_SESSION_TTL_MINUTES: '30' });
    ctx.clock.set('2027-01-01T00:00:00Z');
    const res = await postJson(ctx.app, '/api/checkout-sessions', { frequency: 'once', amount: 500, currency: 'usd' });
    expect(res.status).toBe(201);
    const [call] = ctx.stripe.requestsTo('POST', '/v1/checkout/sessions');
    expect(call?.params.expires_at).toBe(String(Date.parse('2027-01-01T00:30:00Z') / 1000));
    ctx.rebuild();
  });

  it('answers CORS preflights for allowed origins only, and tags every response with X-Request-Id', async () => {
    const allowed = await ctx.app.request('/api/checkout-sessions', {
      method: 'OPTIONS',
      headers: { origin: 'https://news.example', 'access-control-request-method': 'POST' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://news.example');
    expect(allowed.headers.get('access-control-allow-methods')).toBe('GET,POST,OPTIONS');
    expect(allowed.headers.get('access-control-allow-headers')).toBe('Content-Type,Idempotency-Key,Authorization');
    expect(allowed.headers.get('access-control-max-age')).toBe('600');
    expect(allowed.headers.get('vary')).toBe('Origin');
    const foreign = await ctx.app.request('/api/checkout-sessions', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(foreign.headers.get('access-control-allow-methods')).toBeNull();
    expect(allowed.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await ctx.database.db.selectFrom('checkout_sessions').select('id').execute()).toHaveLength(0);
  });
});

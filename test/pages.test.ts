import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, TEST_NOW, TEST_PUBLIC_URL, type TestContext } from './support/harness.js';
import { checkoutSession, deliver, event, invoice, subscription } from './support/stripe-events.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ FRAME_ANCESTORS: 'https://news.example' });
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const NOW = Date.parse(TEST_NOW) / 1000;
const form = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  ctx.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });

describe('GET /donate', () => {
  it('pre-selects currency, frequency, amount and campaign from the link, under a strict CSP', async () => {
    const res = await ctx.app.request('/donate?currency=eur&frequency=annual&amount=10000&campaign=newsletter-12');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<option value="eur" selected>EUR</option>');
    expect(html).toContain('<input type="radio" name="frequency" value="annual" checked>');
    expect(html).toContain('<input type="radio" name="amount" value="10000" checked><span>€100</span>');
    expect(html).toContain('name="campaign" value="newsletter-12"');
    const csp = res.headers.get('content-security-policy')!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1];
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(new TextEncoder().encode(html).length).toBeLessThan(50 * 1024);
  });

  it('an amount that is not a preset goes into "Other amount"; nonsense parameters fall back to defaults', async () => {
    const html = await (await ctx.app.request('/donate?frequency=once&amount=1234&currency=zzz')).text();
    expect(html).toContain(
      'id="other-amount" name="other_amount" inputmode="decimal" autocomplete="off" value="12.34"',
    );
    expect(html).toContain('<option value="usd" selected>USD</option>');
  });

  it('?embed=1 may be framed by FRAME_ANCESTORS only, and sends the checkout to the top window', async () => {
    const res = await ctx.app.request('/donate?embed=1');
    expect(res.headers.get('content-security-policy')).toContain('frame-ancestors https://news.example');
    expect(res.headers.get('x-frame-options')).toBeNull();
    const html = await res.text();
    expect(html).toContain('<body class="embed">');
    expect(html).toContain('action="/donate" novalidate target="_top"');
  });
});

describe('the donation form without JavaScript', () => {
  it('POST /donate validates like the API and answers 303 to Stripe Checkout', async () => {
    const res = await form('/donate', {
      frequency: 'monthly',
      amount: '500',
      currency: 'usd',
      campaign: 'box',
      idempotency_key: 'page-key-123456',
    });
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/\/c\/pay\/cs_test_/);
    const [call] = ctx.stripe.requestsTo('POST', '/v1/checkout/sessions');
    expect(call?.params).toMatchObject({ mode: 'subscription', metadata: { campaign: 'box' } });
    expect(call?.headers['idempotency-key']).toMatch(/^rd-checkout-/);
    // The same page submitted twice (a double click) answers the same session.
    const again = await form('/donate', {
      frequency: 'monthly',
      amount: '500',
      currency: 'usd',
      campaign: 'box',
      idempotency_key: 'page-key-123456',
    });
    expect(again.headers.get('location')).toBe(location);
    expect(ctx.stripe.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(1);
  });

  it('a typed amount in major units is converted by the currency exponent; errors come back at the field', async () => {
    expect((await form('/donate', { frequency: 'once', other_amount: '7,50', currency: 'gbp' })).status).toBe(303);
    expect(ctx.stripe.requestsTo('POST', '/v1/checkout/sessions')[0]?.params).toMatchObject({
      line_items: [{ price_data: { unit_amount: '750', currency: 'gbp' } }],
    });
    const bad = await form('/donate', { frequency: 'once', other_amount: '1.999', currency: 'usd' });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toContain('<p class="error" id="amount-error" role="alert">Enter an amount such as 10 or 7.50</p>');
    expect(html).toContain('value="1.999" aria-describedby="amount-hint amount-error" aria-invalid="true"');
    const low = await (await form('/donate', { frequency: 'once', other_amount: '1', currency: 'usd' })).text();
    expect(low).toContain('role="alert">amount must be at least 2.00 USD</p>');
  });

  it('without STRIPE_SECRET_KEY the page says so instead of failing', async () => {
    ctx.rebuild({ STRIPE_SECRET_KEY: undefined });
    const res = await form('/donate', { frequency: 'once', amount: '500', currency: 'usd' });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('Payments are not configured on this server');
    ctx.rebuild();
  });

  it('POST /donate/remind signs up, and POST /donate/not-now records a deferral under a reader cookie', async () => {
    const ok = await form('/donate/remind', {
      email: 'Form@Example.org',
      when: 'quarter',
      consent: '1',
      consent_version: 'page-1',
      frequency: 'once',
      amount: '2500',
      currency: 'usd',
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Thank you. We will e-mail you on February 27, 2027.');
    const refused = await (await form('/donate/remind', { email: 'x@example.org', when: 'week' })).text();
    expect(refused).toContain('Please tick the box so we may e-mail you.');

    const notNow = await form('/donate/not-now', {});
    const cookie = notNow.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^rd_reader=rdr_[0-9a-f]{32}; Max-Age=31536000; Path=\/; HttpOnly; Secure; SameSite=Lax/);
    expect(await notNow.text()).toContain('We will not ask again until December 28, 2026.');
    const rows = await ctx.database.db.selectFrom('reminders').selectAll().orderBy('kind').execute();
    expect(rows.map((r) => [r.kind, r.email, r.consent_version, r.amount])).toEqual([
      ['deferral', null, null, null],
      ['email', 'form@example.org', 'page-1', 2500],
    ]);
    expect(rows[0]?.reader_id).toBe(cookie.slice('rd_reader='.length, cookie.indexOf(';')));
  });
});

describe('GET /thank-you', () => {
  async function checkout(frequency: 'once' | 'monthly') {
    const res = await form('/donate', { frequency, amount: '500', currency: 'usd' });
    return res.headers.get('location')!.split('/').pop()!;
  }

  it('says "confirming" with a light refresh until the webhook arrives, then thanks from our records', async () => {
    const id = await checkout('once');
    const waiting = await ctx.app.request(`/thank-you?session_id=${id}`);
    expect(waiting.headers.get('refresh')).toBe(`3; url=/thank-you?session_id=${id}&n=1`);
    expect(await waiting.text()).toContain("We're confirming your payment.");
    const session = checkoutSession({
      id,
      mode: 'payment',
      paymentStatus: 'paid',
      amount: 500,
      email: 'a@example.org',
      customer: 'cus_t',
      paymentIntent: 'pi_t',
    });
    await deliver(ctx.app, event('checkout.session.completed', session, { created: NOW }), { timestamp: NOW });
    const done = await ctx.app.request(`/thank-you?session_id=${id}`);
    expect(done.headers.get('refresh')).toBeNull();
    const html = await done.text();
    expect(html).toContain('Your gift of $5.00 has been received.');
    expect(html).not.toContain('a@example.org');
  });

  it('stops refreshing after a minute and says a receipt will come', async () => {
    const id = await checkout('once');
    const res = await ctx.app.request(`/thank-you?session_id=${id}&n=20`);
    expect(res.headers.get('refresh')).toBeNull();
    expect(await res.text()).toContain('this is taking longer than usual');
  });

  it('a monthly gift is "active" once its subscription is recorded', async () => {
    const id = await checkout('monthly');
    const row = await ctx.database.db.selectFrom('checkout_sessions').selectAll().executeTakeFirstOrThrow();
    const metadata = { rd_source: 'reader-donations', frequency: 'monthly', rd_checkout_id: row.id };
    const events = [
      event(
        'customer.subscription.created',
        subscription({
          id: 'sub_t',
          customer: 'cus_t',
          status: 'active',
          amount: 500,
          interval: 'month',
          startDate: NOW,
          currentPeriodEnd: NOW + 2_592_000,
          metadata,
        }),
        { created: NOW },
      ),
      event(
        'invoice.paid',
        invoice({
          id: 'in_t',
          subscription: 'sub_t',
          customer: 'cus_t',
          email: 'm@example.org',
          amountPaid: 500,
          billingReason: 'subscription_create',
          paidAt: NOW,
          periodStart: NOW,
          periodEnd: NOW + 2_592_000,
          metadata,
        }),
        { created: NOW },
      ),
      event(
        'checkout.session.completed',
        checkoutSession({
          id,
          mode: 'subscription',
          paymentStatus: 'paid',
          amount: 500,
          email: 'm@example.org',
          customer: 'cus_t',
          subscription: 'sub_t',
          metadata,
        }),
        { created: NOW },
      ),
    ];
    for (const e of events) await deliver(ctx.app, e, { timestamp: NOW });
    expect(await (await ctx.app.request(`/thank-you?session_id=${id}`)).text()).toContain(
      'Your monthly gift of $5.00 is active.',
    );
  });

  it('an unknown or malformed session id is a 404 page that reveals nothing', async () => {
    for (const id of ['cs_test_nothing', '<script>', '']) {
      const res = await ctx.app.request(`/thank-you?session_id=${encodeURIComponent(id)}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('We could not find this payment');
    }
  });

  it('GET /donate/cancelled offers to try again', async () => {
    const res = await ctx.app.request('/donate/cancelled');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<a class="button" href="/donate">Try again</a>');
  });
});

describe('the Stripe emulator (the development tool behind npm run demo)', () => {
  it('refuses nothing it should accept: its checkout page is reachable at the session URL', async () => {
    const location = (await form('/donate', { frequency: 'once', amount: '500', currency: 'usd' })).headers.get(
      'location',
    )!;
    expect(location.startsWith(ctx.stripe.url)).toBe(true);
    const page = await fetch(location);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Stripe emulator: a test checkout. No real payment is made.');
    expect(html).toContain('$5.00');
    const cancel = await fetch(location, {
      method: 'POST',
      body: 'action=cancel',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(cancel.headers.get('location')).toBe(`${TEST_PUBLIC_URL}/donate/cancelled`);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendManageLinks } from '../src/manage/send-links.js';
import { sendStatements } from '../src/manage/statements.js';
import { bearer, eventsSettled, give, linkIn, serveWebhooks, tokenFor } from './support/donor.js';
import { createTestContext, postJson, TEST_PUBLIC_URL, type TestContext } from './support/harness.js';
import { refundedRenewal } from './support/histories.js';
import type { Served } from './support/http-server.js';
import { deliverAll } from './support/ledger.js';
import { TestSmtpServer } from './support/smtp.js';
import { parseCsv, staffToken } from './support/staff.js';
import { deliver, event, invoice } from './support/stripe-events.js';

let ctx: TestContext;
let smtp: TestSmtpServer;
let served: Served;

beforeAll(async () => {
  smtp = await new TestSmtpServer().start();
  ctx = await createTestContext({ SMTP_URL: smtp.url, TRUST_PROXY: '1' });
  served = await serveWebhooks(ctx);
});
afterAll(async () => {
  await served.close();
  await ctx.close();
  await smtp.stop();
});
beforeEach(async () => {
  await ctx.deps.linkMail.idle();
  await ctx.reset();
  // The emulator signs and dates its events with the real time: business time follows it here.
  ctx.clock.set(new Date());
  smtp.clear();
});

const get = (path: string, headers: Record<string, string> = {}) => Promise.resolve(ctx.app.request(path, { headers }));

describe('asking for a manage link', () => {
  it('mails a known donor one link, answers an unknown address the same, and the link opens their donations', async () => {
    await give(ctx, { email: 'donor@example.org', amount: 700 });
    const known = await postJson(
      ctx.app,
      '/api/manage/links',
      { email: 'Donor@Example.org' },
      { 'x-forwarded-for': '198.51.100.1' },
    );
    const unknown = await postJson(
      ctx.app,
      '/api/manage/links',
      { email: 'nobody@example.org' },
      { 'x-forwarded-for': '198.51.100.2' },
    );
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(await known.json()).toEqual({ sent: true });
    expect(await unknown.json()).toEqual({ sent: true });
    await ctx.deps.linkMail.idle();
    await sendManageLinks(ctx.deps);
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.to).toEqual(['donor@example.org']);
    // Nothing about amounts: a mailbox may be read by others.
    expect(mail.parsed.text).not.toMatch(/7\.00|\$|USD/);
    const link = linkIn(mail.parsed.text ?? '', TEST_PUBLIC_URL);
    const token = link.searchParams.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only the hash is stored.
    const rows = await ctx.database.db.selectFrom('manage_links').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);

    const res = await get('/api/manage/donations', bearer(token));
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.recurring).toHaveLength(1);
    expect(body.recurring[0]).toMatchObject({
      frequency: 'monthly',
      amount: 700,
      currency: 'usd',
      status: 'active',
      cancelAtPeriodEnd: false,
      pausedUntil: null,
      paymentMethod: { brand: 'visa', last4: '4242' },
    });
    expect(body.recurring[0].nextPaymentAt).toMatch(/^\d{4}-/);
    expect(body.gifts).toEqual([
      expect.objectContaining({
        amount: 700,
        currency: 'usd',
        frequency: 'monthly',
        status: 'succeeded',
        refundedAmount: 0,
      }),
    ]);
  });

  it('a wrong or expired token answers 401 and says nothing more', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org', 60_000);
    expect((await get('/api/manage/donations', bearer(token))).status).toBe(200);
    ctx.clock.advance(61_000);
    const expired = await get('/api/manage/donations', bearer(token));
    const wrong = await get('/api/manage/donations', bearer('A'.repeat(43)));
    const none = await get('/api/manage/donations');
    for (const res of [expired, wrong, none]) {
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.code).toBe('unauthorized');
    }
  });

  it('cancels, then resumes, and the events that follow agree', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { recurring } = (await (await get('/api/manage/donations', bearer(token))).json()) as any;
    const id = recurring[0].id;
    const cancel = await postJson(
      ctx.app,
      `/api/manage/recurring/${id}/cancel`,
      { reason: 'other_cause', comment: 'Moving on' },
      bearer(token),
    );
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ id, cancelAtPeriodEnd: true, nextPaymentAt: null });
    const sub = [...ctx.stripe.subscriptions.values()][0]!;
    expect(sub.cancellation_details).toMatchObject({ feedback: 'other', comment: '[other_cause] Moving on' });
    const resume = await postJson(ctx.app, `/api/manage/recurring/${id}/resume`, {}, bearer(token));
    expect(resume.status).toBe(200);
    expect(await resume.json()).toMatchObject({ id, cancelAtPeriodEnd: false });
    await eventsSettled(ctx, 5);
    const row = await ctx.database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ cancel_at_period_end: false, cancel_reason: null, paused: false });
  });
});

/** The donor's one recurring donation, as the API shows it. */
async function onlyDonation(token: string) {
  const body = (await (await get('/api/manage/donations', bearer(token))).json()) as any;
  return body.recurring[0] as { id: string; amount: number };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('limits on asking', () => {
  it('rate limits link requests per e-mail and per network, counted in the database', async () => {
    ctx.rebuild({
      SMTP_URL: smtp.url,
      TRUST_PROXY: '1',
      MANAGE_LINK_RATE_LIMIT_PER_EMAIL: '2',
      MANAGE_LINK_RATE_LIMIT_PER_IP: '4',
    });
    try {
      const ask = (email: string, ip: string) =>
        postJson(ctx.app, '/api/manage/links', { email }, { 'x-forwarded-for': ip });
      expect((await ask('a@example.org', '203.0.113.9')).status).toBe(202);
      expect((await ask('a@example.org', '203.0.113.9')).status).toBe(202);
      const third = await ask('a@example.org', '203.0.113.9');
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await ask('b@example.org', '203.0.113.9')).status).toBe(202);
      expect((await ask('c@example.org', '203.0.113.9')).status).toBe(429);
      // Counters hold keyed hashes, never the address.
      const counters = await ctx.database.db.selectFrom('rate_limit_counters').select('bucket').execute();
      expect(counters.map((c) => c.bucket).join(' ')).not.toContain('example.org');
      expect(counters.some((c) => c.bucket.startsWith('manage:email:'))).toBe(true);
    } finally {
      ctx.rebuild({ SMTP_URL: smtp.url, TRUST_PROXY: '1' });
    }
  });
});

describe('limits on a donor', () => {
  it('one supporter gets at most the per-e-mail number of links per window, whatever the networks', async () => {
    await give(ctx, { email: 'donor@example.org' });
    for (let i = 1; i <= 6; i++) {
      const res = await postJson(
        ctx.app,
        '/api/manage/links',
        { email: 'donor@example.org' },
        { 'x-forwarded-for': `198.51.100.${i}` },
      );
      expect(res.status).toBe(202);
      await ctx.deps.linkMail.idle();
      await sendManageLinks(ctx.deps);
    }
    expect(smtp.received).toHaveLength(3);
  });

  it('signed-in requests are limited per supporter: the API answers 429', async () => {
    ctx.rebuild({ SMTP_URL: smtp.url, TRUST_PROXY: '1', MANAGE_RATE_LIMIT_PER_SUPPORTER: '2' });
    try {
      await give(ctx, { email: 'donor@example.org' });
      const token = await tokenFor(ctx, 'donor@example.org');
      expect((await get('/api/manage/donations', bearer(token))).status).toBe(200);
      expect((await get('/api/manage/statement', bearer(token))).status).toBe(200);
      const third = await get('/api/manage/donations', bearer(token));
      expect(third.status).toBe(429);
      expect(((await third.json()) as any).error.code).toBe('rate_limited');
      const page = await get('/manage', { cookie: `rd_manage=${token}` });
      expect(page.status).toBe(429);
      expect(page.headers.get('content-type')).toContain('text/html');
    } finally {
      ctx.rebuild({ SMTP_URL: smtp.url, TRUST_PROXY: '1' });
    }
  });
});

describe('changing a recurring donation', () => {
  it("another supporter's donation, or no such id, answers 404 and changes nothing", async () => {
    await give(ctx, { email: 'one@example.org' });
    await give(ctx, { email: 'two@example.org' });
    const one = await tokenFor(ctx, 'one@example.org');
    const two = await tokenFor(ctx, 'two@example.org');
    const theirs = await onlyDonation(two);
    const before = ctx.stripe.requests.length;
    for (const path of [
      `/api/manage/recurring/${theirs.id}/cancel`,
      `/api/manage/recurring/${theirs.id}/pause`,
      '/api/manage/recurring/00000000-0000-4000-8000-000000000000/resume',
      '/api/manage/recurring/not-an-id/resume',
    ]) {
      const res = await postJson(ctx.app, path, path.endsWith('pause') ? { months: 1 } : {}, bearer(one));
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as any).error.code).toBe('not_found');
    }
    const portal = await postJson(ctx.app, '/api/manage/payment-method', { recurringId: theirs.id }, bearer(one));
    expect(portal.status).toBe(404);
    expect(ctx.stripe.requests.length).toBe(before);
  });

  it('pauses for a number of months with collection voided, and resume lifts it', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    const res = await postJson(ctx.app, `/api/manage/recurring/${id}/pause`, { months: 2 }, bearer(token));
    expect(res.status).toBe(200);
    const view = (await res.json()) as any;
    const sent = ctx.stripe.requests
      .filter((r) => r.method === 'POST' && r.path.startsWith('/v1/subscriptions/'))
      .at(-1)!;
    const resumesAt = Number((sent.params.pause_collection as any).resumes_at);
    expect((sent.params.pause_collection as any).behavior).toBe('void');
    const expected = new Date(ctx.clock.now());
    expected.setUTCMonth(expected.getUTCMonth() + 2);
    expect(resumesAt).toBe(Math.floor(expected.getTime() / 1000));
    expect(view).toMatchObject({ paused: true, pausedUntil: new Date(resumesAt * 1000).toISOString() });
    expect(new Date(view.nextPaymentAt).getTime()).toBeGreaterThanOrEqual(resumesAt * 1000);
    for (const months of [0, 4, '1']) {
      const bad = await postJson(ctx.app, `/api/manage/recurring/${id}/pause`, { months }, bearer(token));
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as any).error).toMatchObject({ code: 'invalid_request', field: 'months' });
    }
    const resumed = await postJson(ctx.app, `/api/manage/recurring/${id}/resume`, {}, bearer(token));
    expect(await resumed.json()).toMatchObject({ paused: false, pausedUntil: null });
    const last = ctx.stripe.requests
      .filter((r) => r.method === 'POST' && r.path.startsWith('/v1/subscriptions/'))
      .at(-1)!;
    expect(last.params).toMatchObject({ pause_collection: '', cancel_at_period_end: 'false' });
  });

  it('changes the amount from the next payment, within the configured range, without proration', async () => {
    await give(ctx, { email: 'donor@example.org', amount: 1000 });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    const sub = [...ctx.stripe.subscriptions.values()][0]!;
    const product = sub.items.data[0].price.product;
    const res = await postJson(ctx.app, `/api/manage/recurring/${id}/amount`, { amount: 700 }, bearer(token));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ amount: 700, currency: 'usd', frequency: 'monthly' });
    const sent = ctx.stripe.requests
      .filter((r) => r.method === 'POST' && r.path === `/v1/subscriptions/${sub.id}`)
      .at(-1)!;
    expect(sent.params).toMatchObject({
      proration_behavior: 'none',
      items: [
        {
          id: sub.items.data[0].id,
          price_data: { currency: 'usd', product, unit_amount: '700', recurring: { interval: 'month' } },
        },
      ],
    });
    for (const amount of [50, 100_000_000, 7.5]) {
      const bad = await postJson(ctx.app, `/api/manage/recurring/${id}/amount`, { amount }, bearer(token));
      expect(bad.status, String(amount)).toBe(400);
      expect(((await bad.json()) as any).error.field).toBe('amount');
    }
    const row = await ctx.database.db.selectFrom('recurring_donations').select('amount').executeTakeFirstOrThrow();
    expect(row.amount).toBe(700);
  });

  it('keeps the cancel reason in our records and sends it to Stripe as feedback and comment', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    const res = await postJson(
      ctx.app,
      `/api/manage/recurring/${id}/cancel`,
      { reason: 'too_expensive' },
      bearer(token),
    );
    expect(res.status).toBe(200);
    const sent = ctx.stripe.requests
      .filter((r) => r.method === 'POST' && r.path.startsWith('/v1/subscriptions/'))
      .at(-1)!;
    expect(sent.params).toMatchObject({
      cancel_at_period_end: 'true',
      cancellation_details: { feedback: 'too_expensive', comment: '[too_expensive]' },
    });
    const row = await ctx.database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ cancel_at_period_end: true, cancel_reason: 'too_expensive', status: 'active' });
    const actions = await ctx.database.db.selectFrom('donor_actions').selectAll().execute();
    expect(actions).toEqual([
      expect.objectContaining({ action: 'cancel', reason: 'too_expensive', instead_of_cancel: false }),
    ]);
    const bad = await postJson(ctx.app, `/api/manage/recurring/${id}/cancel`, { reason: 'bored' }, bearer(token));
    expect(bad.status).toBe(400);
    // A comment never reaches a log line.
    await postJson(
      ctx.app,
      `/api/manage/recurring/${id}/cancel`,
      { reason: 'other', comment: 'private words' },
      bearer(token),
    );
    expect(JSON.stringify(ctx.logs)).not.toContain('private words');
    expect(JSON.stringify(ctx.logs)).not.toContain('donor@example.org');
  });

  it('records a retention offer taken instead of cancelling', async () => {
    await give(ctx, { email: 'donor@example.org', amount: 1000 });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    await postJson(ctx.app, `/api/manage/recurring/${id}/pause`, { months: 1, insteadOfCancel: true }, bearer(token));
    await postJson(
      ctx.app,
      `/api/manage/recurring/${id}/amount`,
      { amount: 500, insteadOfCancel: true },
      bearer(token),
    );
    await postJson(ctx.app, `/api/manage/recurring/${id}/amount`, { amount: 800 }, bearer(token));
    const actions = await ctx.database.db
      .selectFrom('donor_actions')
      .select(['action', 'pause_months', 'old_amount', 'new_amount', 'instead_of_cancel'])
      .orderBy('created_at')
      .orderBy('new_amount')
      .execute();
    expect(actions).toEqual(
      expect.arrayContaining([
        { action: 'pause', pause_months: 1, old_amount: null, new_amount: null, instead_of_cancel: true },
        { action: 'amount', pause_months: null, old_amount: 1000, new_amount: 500, instead_of_cancel: true },
        { action: 'amount', pause_months: null, old_amount: 500, new_amount: 800, instead_of_cancel: false },
      ]),
    );
  });

  it('an ended donation cannot be changed (409), and a Stripe failure changes nothing here (502)', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    ctx.stripe.failNext({ status: 500 });
    const failed = await postJson(ctx.app, `/api/manage/recurring/${id}/cancel`, {}, bearer(token));
    expect(failed.status).toBe(502);
    expect(await ctx.database.db.selectFrom('donor_actions').selectAll().execute()).toEqual([]);
    expect(
      (await ctx.database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow())
        .cancel_at_period_end,
    ).toBe(false);
    await ctx.database.db.updateTable('recurring_donations').set({ status: 'canceled' }).execute();
    const ended = await postJson(ctx.app, `/api/manage/recurring/${id}/resume`, {}, bearer(token));
    expect(ended.status).toBe(409);
  });

  it('JSON only: a form post or no body is refused before anything happens', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    const form = await ctx.app.request(`/api/manage/recurring/${id}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...bearer(token) },
      body: 'reason=other',
    });
    expect(form.status).toBe(415);
    const links = await ctx.app.request('/api/manage/links', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"email":"donor@example.org"}',
    });
    expect(links.status).toBe(415);
    expect(
      await ctx.database.db
        .selectFrom('manage_links')
        .select('id')
        .where('purpose', '=', 'request')
        .where('status', '=', 'pending')
        .execute(),
    ).toEqual([]);
  });
});

describe('the events that follow an action', () => {
  it('converge to the answer whether they arrive before it is recorded or after, in any order', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    ctx.stripe.holdDeliveries();
    await postJson(ctx.app, `/api/manage/recurring/${id}/cancel`, { reason: 'coverage' }, bearer(token));
    await postJson(ctx.app, `/api/manage/recurring/${id}/resume`, {}, bearer(token));
    await postJson(ctx.app, `/api/manage/recurring/${id}/pause`, { months: 3 }, bearer(token));
    const held = ctx.stripe.held.splice(0);
    expect(held.map((e) => e.type)).toEqual(Array(3).fill('customer.subscription.updated'));
    const answered = await ctx.database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow();
    expect(answered).toMatchObject({ paused: true, cancel_at_period_end: false });
    // The events of earlier changes arrive late and in reverse: the newest state stays.
    for (const e of [...held].reverse()) {
      const res = await deliver(ctx.app, e as any, { timestamp: nowSeconds() });
      expect(res.status).toBe(200);
    }
    const after = await ctx.database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow();
    expect(after).toMatchObject({ paused: true, cancel_at_period_end: false, cancel_reason: null });
    expect(after.paused_until?.toISOString()).toBe(answered.paused_until?.toISOString());
  });

  it('an event that arrives before the answer is recorded is not undone by it', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    // The event of the cancel lands first (Stripe sent it while our answer was on its way).
    await postJson(ctx.app, `/api/manage/recurring/${id}/cancel`, { reason: 'one_off_enough' }, bearer(token));
    await eventsSettled(ctx, 4);
    const row = await ctx.database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ cancel_at_period_end: true, cancel_reason: 'one_off_enough' });
    // Then Stripe cancels it at the period's end: the newer event wins over our answer.
    const sub = [...ctx.stripe.subscriptions.values()][0]!;
    const ended = { ...sub, status: 'canceled', ended_at: nowSeconds() + 1 };
    const res = await deliver(ctx.app, event('customer.subscription.deleted', ended, { created: nowSeconds() + 1 }), {
      timestamp: nowSeconds(),
    });
    expect(res.status).toBe(200);
    const final = await ctx.database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow();
    expect(final).toMatchObject({ status: 'canceled', cancel_reason: 'one_off_enough' });
    const view = await onlyDonation(token);
    expect(view).toMatchObject({ status: 'canceled', nextPaymentAt: null });
  });
});

describe('updating the card', () => {
  it('opens a billing portal session for the donor’s customer, and the new card shows after', async () => {
    const { customerId } = await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const { id } = await onlyDonation(token);
    const res = await postJson(ctx.app, '/api/manage/payment-method', { recurringId: id }, bearer(token));
    expect(res.status).toBe(200);
    const { url } = (await res.json()) as { url: string };
    const sent = ctx.stripe.requestsTo('POST', '/v1/billing_portal/sessions')[0]!;
    expect(sent.params).toMatchObject({
      customer: customerId,
      return_url: `${TEST_PUBLIC_URL}/manage`,
      flow_data: { type: 'payment_method_update' },
    });
    const updated = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'action=update&card=5555555555554444',
      redirect: 'manual',
    });
    expect(updated.status).toBe(303);
    expect(updated.headers.get('location')).toBe(`${TEST_PUBLIC_URL}/manage`);
    const after = (await (await get('/api/manage/donations', bearer(token))).json()) as any;
    expect(after.recurring[0].paymentMethod).toEqual({ brand: 'mastercard', last4: '4444' });
    // The portal's URL is a credential: never in a log.
    expect(JSON.stringify(ctx.logs)).not.toContain(url);
  });
});

describe('a failed renewal', () => {
  it('mails the donor once per invoice, whatever the retries and however many sweepers', async () => {
    const { subscriptionId, customerId } = await give(ctx, { email: 'donor@example.org' });
    const t = nowSeconds();
    const failed = (attempt: number, invoiceId: string) =>
      event(
        'invoice.payment_failed',
        invoice({
          id: invoiceId,
          subscription: subscriptionId!,
          customer: customerId,
          email: 'donor@example.org',
          amountPaid: 500,
          billingReason: 'subscription_cycle',
          status: 'open',
          attemptCount: attempt,
          periodStart: t,
          periodEnd: t + 30 * 86_400,
        }),
        { created: t + attempt },
      );
    for (const e of [failed(1, 'in_fail_1'), failed(2, 'in_fail_1'), failed(3, 'in_fail_1')]) {
      expect((await deliver(ctx.app, e, { timestamp: t })).status).toBe(200);
    }
    await ctx.deps.linkMail.idle();
    const [a, b] = await Promise.all([sendManageLinks(ctx.deps), sendManageLinks(ctx.deps)]);
    expect(a.sent + b.sent).toBe(1);
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.parsed.subject).toMatch(/did not go through/);
    expect(mail.parsed.text).not.toMatch(/\$|5\.00/);
    const link = linkIn(mail.parsed.text ?? '', TEST_PUBLIC_URL);
    expect((await get('/api/manage/donations', bearer(link.searchParams.get('token')!))).status).toBe(200);
    // The next invoice that fails is another mail.
    await deliver(ctx.app, failed(1, 'in_fail_2'), { timestamp: t });
    await sendManageLinks(ctx.deps);
    expect(smtp.received).toHaveLength(2);
  });

  it('an erased supporter gets no mail, and their link stops working', async () => {
    const { subscriptionId, customerId } = await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const admin = await staffToken(ctx, 'admin');
    const erase = await postJson(
      ctx.app,
      '/admin/supporters/erase',
      { email: 'donor@example.org', cancelRecurring: true },
      { authorization: `Bearer ${admin}` },
    );
    expect(erase.status).toBe(200);
    expect((await get('/api/manage/donations', bearer(token))).status).toBe(401);
    const t = nowSeconds();
    await deliver(
      ctx.app,
      event(
        'invoice.payment_failed',
        invoice({
          id: 'in_after_erasure',
          subscription: subscriptionId!,
          customer: customerId,
          email: null,
          amountPaid: 500,
          billingReason: 'subscription_cycle',
          status: 'open',
          periodStart: t,
          periodEnd: t + 30 * 86_400,
        }),
        { created: t },
      ),
      { timestamp: t },
    );
    await postJson(ctx.app, '/api/manage/links', { email: 'donor@example.org' });
    await ctx.deps.linkMail.idle();
    await sendManageLinks(ctx.deps);
    expect(smtp.received).toEqual([]);
  });
});

describe('finance sees what donors did', () => {
  it('the summary counts cancellations by reason, pauses, amount changes and offers taken; supporters.csv shows reason and pause', async () => {
    await give(ctx, { email: 'a@example.org', amount: 1000 });
    await give(ctx, { email: 'b@example.org', amount: 1000 });
    const a = await tokenFor(ctx, 'a@example.org');
    const b = await tokenFor(ctx, 'b@example.org');
    const da = (await onlyDonation(a)).id;
    const db = (await onlyDonation(b)).id;
    await postJson(ctx.app, `/api/manage/recurring/${da}/amount`, { amount: 500, insteadOfCancel: true }, bearer(a));
    await postJson(ctx.app, `/api/manage/recurring/${da}/amount`, { amount: 1500 }, bearer(a));
    await postJson(ctx.app, `/api/manage/recurring/${da}/cancel`, { reason: 'coverage' }, bearer(a));
    await postJson(ctx.app, `/api/manage/recurring/${db}/pause`, { months: 1, insteadOfCancel: true }, bearer(b));
    await postJson(ctx.app, `/api/manage/recurring/${db}/cancel`, {}, bearer(b));
    await postJson(ctx.app, `/api/manage/recurring/${db}/resume`, {}, bearer(b));
    await postJson(ctx.app, `/api/manage/recurring/${db}/pause`, { months: 2 }, bearer(b));
    const finance = await staffToken(ctx, 'finance');
    const summary = (await (await get('/admin/summary', { authorization: `Bearer ${finance}` })).json()) as any;
    expect(summary.donorActions).toEqual({
      cancellations: {
        total: 2,
        byReason: { too_expensive: 0, other_cause: 0, coverage: 1, one_off_enough: 0, other: 1 },
      },
      resumed: 1,
      pauses: 2,
      amountChanges: { up: 1, down: 1 },
      savedByOffer: { total: 2, paused: 1, lowered: 1 },
    });
    const tomorrow = new Date(ctx.clock.now().getTime() + 86_400_000).toISOString().slice(0, 10);
    const later = (await (
      await get(`/admin/summary?from=${tomorrow}`, { authorization: `Bearer ${finance}` })
    ).json()) as any;
    expect(later.donorActions.cancellations.total).toBe(0);
    const csv = parseCsv(
      await (await get('/admin/exports/supporters.csv', { authorization: `Bearer ${finance}` })).text(),
    );
    const header = csv[0]!;
    const rows = csv.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
    const byEmail = new Map(rows.map((r) => [r.email, r]));
    expect(byEmail.get('a@example.org')).toMatchObject({
      cancel_reason: 'coverage',
      paused_until: '',
      recurring_amount: '15.00',
    });
    const pausedRow = await ctx.database.db
      .selectFrom('recurring_donations')
      .select('paused_until')
      .where('id', '=', db)
      .executeTakeFirstOrThrow();
    expect(byEmail.get('b@example.org')).toMatchObject({ cancel_reason: '' });
    expect(byEmail.get('b@example.org')!.paused_until).toBe(
      pausedRow.paused_until!.toISOString().replace('T', ' ').replace('.000Z', '+00'),
    );
  });
});

describe('statements', () => {
  it("a year's statement totals equal the gifts export for that supporter and year", async () => {
    const t = Date.UTC(2025, 11, 20) / 1000;
    ctx.clock.set(new Date(t * 1000));
    const history = refundedRenewal(7, t);
    history.arrange?.(ctx.stripe);
    await deliverAll(ctx.app, history.events, t);
    ctx.clock.set(new Date((t + 120 * 86_400) * 1000));
    const email = (await ctx.database.db.selectFrom('supporters').select('email').executeTakeFirstOrThrow()).email!;
    const token = await tokenFor(ctx, email);
    const finance = await staffToken(ctx, 'finance');
    const csv = parseCsv(await (await get('/admin/exports/gifts.csv', { authorization: `Bearer ${finance}` })).text());
    const header = csv[0]!;
    const gifts = csv.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]!])));
    const minor = (v: string | undefined) => Math.round(Number(v) * 100);
    for (const year of [2025, 2026]) {
      const res = await get(`/api/manage/statement?year=${year}`, bearer(token));
      expect(res.status).toBe(200);
      const statement = (await res.json()) as any;
      const counted = gifts.filter(
        (g) => g.paid_at!.startsWith(String(year)) && !['failed', 'pending'].includes(g.status!),
      );
      expect(counted.length, String(year)).toBeGreaterThan(0);
      const net = counted.reduce(
        (sum, g) => sum + (g.status === 'dispute_lost' ? 0 : minor(g.amount) - minor(g.refunded_amount)),
        0,
      );
      expect(statement.totals).toEqual([
        {
          currency: 'usd',
          amount: counted.reduce((sum, g) => sum + minor(g.amount), 0),
          refundedAmount: counted.reduce((sum, g) => sum + minor(g.refunded_amount), 0),
          netAmount: net,
          count: counted.length,
        },
      ]);
    }
    const bad = await get('/api/manage/statement?year=twenty', bearer(token));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.field).toBe('year');
  });

  it('statements send mails each supporter who gave that year once, however often it runs', async () => {
    await give(ctx, { email: 'a@example.org' });
    await give(ctx, { email: 'b@example.org', frequency: 'once' });
    const year = new Date().getUTCFullYear();
    const first = await sendStatements(ctx.deps, year);
    expect(first).toMatchObject({ queued: 2, sent: 2, failed: 0 });
    const again = await sendStatements(ctx.deps, year);
    expect(again).toMatchObject({ queued: 0, sent: 0 });
    expect(smtp.received.map((m) => m.to[0]).sort()).toEqual(['a@example.org', 'b@example.org']);
    const link = linkIn(smtp.received[0]!.parsed.text ?? '', TEST_PUBLIC_URL);
    expect(link.searchParams.get('statement')).toBe(String(year));
    expect((await sendStatements(ctx.deps, year - 5)).queued).toBe(0);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendManageLinks } from '../src/manage/send-links.js';
import { give, linkIn, serveWebhooks, tokenFor } from './support/donor.js';
import { createTestContext, TEST_PUBLIC_URL, type TestContext } from './support/harness.js';
import type { Served } from './support/http-server.js';
import { TestSmtpServer } from './support/smtp.js';

let ctx: TestContext;
let smtp: TestSmtpServer;
let served: Served;

beforeAll(async () => {
  smtp = await new TestSmtpServer().start();
  ctx = await createTestContext({ SMTP_URL: smtp.url });
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
  ctx.clock.set(new Date());
  smtp.clear();
});

const ORIGIN = new URL(TEST_PUBLIC_URL).origin;
const sameSite = { origin: ORIGIN, 'sec-fetch-site': 'same-origin' };
const cookieOf = (token: string) => ({ cookie: `rd_manage=${token}` });

function get(path: string, headers: Record<string, string> = {}) {
  return Promise.resolve(ctx.app.request(path, { headers }));
}
function postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return Promise.resolve(
    ctx.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...sameSite, ...headers },
      body: new URLSearchParams(fields).toString(),
    }),
  );
}

describe('the /manage pages', () => {
  it('asks for the e-mail and says the same thing for a known and an unknown address', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const page = await get('/manage');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="email"');
    const known = await postForm('/manage', { email: 'donor@example.org' });
    const unknown = await postForm('/manage', { email: 'stranger@example.org' });
    const sentence = 'If we hold gifts for that address, a link is on its way.';
    expect(await known.text()).toContain(sentence);
    expect(await unknown.text()).toContain(sentence);
    await ctx.deps.linkMail.idle();
    await sendManageLinks(ctx.deps);
    expect(smtp.received.map((m) => m.to[0])).toEqual(['donor@example.org']);
    const invalid = await postForm('/manage', { email: 'not an address' });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain('aria-invalid="true"');
  });

  it('refuses a cross-site form post before anything is recorded', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const res = await postForm(
      '/manage',
      { email: 'donor@example.org' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    expect(res.status).toBe(403);
    expect(await ctx.database.db.selectFrom('manage_links').selectAll().execute()).toEqual([]);
    const token = await tokenFor(ctx, 'donor@example.org');
    const id = (await ctx.database.db.selectFrom('recurring_donations').select('id').executeTakeFirstOrThrow()).id;
    const cancel = await postForm(
      `/manage/recurring/${id}/cancel`,
      {},
      { ...cookieOf(token), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    expect(cancel.status).toBe(403);
    expect(ctx.stripe.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/subscriptions'))).toEqual(
      [],
    );
  });

  it('a mailed link puts its token in a strict, HttpOnly, Secure cookie and leaves the URL at once', async () => {
    await give(ctx, { email: 'donor@example.org', amount: 500 });
    await postForm('/manage', { email: 'donor@example.org' });
    await ctx.deps.linkMail.idle();
    await sendManageLinks(ctx.deps);
    const link = linkIn(smtp.received[0]!.parsed.text ?? '', TEST_PUBLIC_URL);
    const token = link.searchParams.get('token')!;
    const landing = await get(`${link.pathname}${link.search}`);
    expect(landing.status).toBe(200);
    expect(landing.headers.get('referrer-policy')).toBe('no-referrer');
    const cookie = landing.headers.get('set-cookie')!;
    expect(cookie).toContain(`rd_manage=${token}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/Path=\/manage/);
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(3600);
    const body = await landing.text();
    expect(body).toContain('http-equiv="refresh" content="0;url=/manage"');
    expect(body).not.toContain(token);

    const dashboard = await get('/manage', cookieOf(token));
    const html = await dashboard.text();
    expect(html).toContain('$5.00 every month');
    expect(html).toMatch(/Next payment on \d{1,2} [A-Z][a-z]+ \d{4}\./);
    expect(html).toContain('Visa ending 4242');
    expect(html).toContain('Signed in as d•••@example.org.');
    expect(dashboard.headers.get('cache-control')).toContain('no-store');
  });

  it('an expired or unknown link sets no cookie and asks for a new one', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org', 1000);
    ctx.clock.advance(2000);
    const landing = await get(`/manage?token=${token}`);
    expect(landing.headers.get('set-cookie')).toBeNull();
    expect(await landing.text()).toContain('url=/manage?link=expired');
    expect(await (await get('/manage?link=expired')).text()).toContain('That link has expired');
    const stale = await get('/manage/statement?year=2026', cookieOf(token));
    expect(stale.status).toBe(303);
    expect(stale.headers.get('location')).toBe('/manage?link=expired');
  });

  it('the cancel page offers a pause and a lower amount first, asks why, and still cancels', async () => {
    await give(ctx, { email: 'donor@example.org', amount: 2500 });
    const token = await tokenFor(ctx, 'donor@example.org');
    const id = (await ctx.database.db.selectFrom('recurring_donations').select('id').executeTakeFirstOrThrow()).id;
    const page = await (await get(`/manage/recurring/${id}/cancel`, cookieOf(token))).text();
    expect(page).toContain('Pause 1 month');
    expect(page).toContain('name="instead_of_cancel" value="1"');
    expect(page).toMatch(/name="amount_minor" value="(\d+)"/);
    expect(page).toContain('name="reason" value="too_expensive"');
    expect(page).toContain('Cancel my donation');

    const lower = Number(/name="amount_minor" value="(\d+)"/.exec(page)![1]);
    expect(lower).toBeLessThan(2500);
    const lowered = await postForm(
      `/manage/recurring/${id}/amount`,
      { amount_minor: String(lower), instead_of_cancel: '1' },
      cookieOf(token),
    );
    expect(lowered.status).toBe(303);
    expect(lowered.headers.get('location')).toBe('/manage?done=amount');
    const paused = await postForm(
      `/manage/recurring/${id}/pause`,
      { months: '2', instead_of_cancel: '1' },
      cookieOf(token),
    );
    expect(paused.headers.get('location')).toBe('/manage?done=pause');
    const cancelled = await postForm(
      `/manage/recurring/${id}/cancel`,
      { reason: 'too_expensive', comment: 'Back soon' },
      cookieOf(token),
    );
    expect(cancelled.headers.get('location')).toBe('/manage?done=cancel');
    const after = await (await get('/manage?done=cancel', cookieOf(token))).text();
    expect(after).toContain('Your donation is cancelled');
    expect(after).toMatch(/It ends on \d{1,2} [A-Z][a-z]+ \d{4}/);
    expect(after).toContain('Keep my donation');
    const actions = await ctx.database.db
      .selectFrom('donor_actions')
      .select(['action', 'instead_of_cancel'])
      .orderBy('created_at')
      .execute();
    expect(
      actions
        .filter((a) => a.instead_of_cancel)
        .map((a) => a.action)
        .sort(),
    ).toEqual(['amount', 'pause']);
    const row = await ctx.database.db.selectFrom('recurring_donations').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ amount: lower, cancel_at_period_end: true, cancel_reason: 'too_expensive' });
  });

  it('a typed amount outside the range is shown back as an error, and nothing changes', async () => {
    await give(ctx, { email: 'donor@example.org', amount: 1000 });
    const token = await tokenFor(ctx, 'donor@example.org');
    const id = (await ctx.database.db.selectFrom('recurring_donations').select('id').executeTakeFirstOrThrow()).id;
    const res = await postForm(`/manage/recurring/${id}/amount`, { amount: '0.10' }, cookieOf(token));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/amount must be at least/);
    const typed = await postForm(`/manage/recurring/${id}/amount`, { amount: '12.50' }, cookieOf(token));
    expect(typed.status).toBe(303);
    expect(
      (await ctx.database.db.selectFrom('recurring_donations').select('amount').executeTakeFirstOrThrow()).amount,
    ).toBe(1250);
  });

  it('"Update card" sends the donor to the portal', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const id = (await ctx.database.db.selectFrom('recurring_donations').select('id').executeTakeFirstOrThrow()).id;
    const res = await postForm(`/manage/recurring/${id}/payment-method`, {}, cookieOf(token));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/\/p\/session\/bps_/);
  });

  it('the statement page lists the year with totals and prints without the buttons', async () => {
    await give(ctx, { email: 'donor@example.org', amount: 1200 });
    ctx.rebuild({
      SMTP_URL: smtp.url,
      STATEMENT_FOOTER: 'Registered charity 12345. No goods or services were provided.',
    });
    const token = await tokenFor(ctx, 'donor@example.org');
    const year = new Date().getUTCFullYear();
    const html = await (await get(`/manage/statement?year=${year}`, cookieOf(token))).text();
    expect(html).toContain(`your gifts in ${year}`);
    expect(html).toContain('Total (USD, 1 gift)');
    expect(html).toContain('$12.00');
    expect(html).toContain('Registered charity 12345.');
    expect(html).toContain('@media print');
    ctx.rebuild({ SMTP_URL: smtp.url });
  });

  it('signing out ends the link everywhere', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const res = await postForm('/manage/sign-out', {}, cookieOf(token));
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/rd_manage=;/);
    const api = await get('/api/manage/donations', { authorization: `Bearer ${token}` });
    expect(api.status).toBe(401);
  });
});

describe('when Stripe fails', () => {
  it('"Update card" shows the failure on the page, and a change says so without changing anything', async () => {
    await give(ctx, { email: 'donor@example.org' });
    const token = await tokenFor(ctx, 'donor@example.org');
    const id = (await ctx.database.db.selectFrom('recurring_donations').select('id').executeTakeFirstOrThrow()).id;
    ctx.stripe.failNext({
      status: 400,
      error: { type: 'invalid_request_error', message: 'No configuration provided' },
    });
    const portal = await postForm(`/manage/recurring/${id}/payment-method`, {}, cookieOf(token));
    expect(portal.status).toBe(502);
    expect(portal.headers.get('content-type')).toContain('text/html');
    expect(await portal.text()).toContain('could not open the card update');
    ctx.stripe.failNext({ status: 500 });
    const pause = await postForm(`/manage/recurring/${id}/pause`, { months: '1' }, cookieOf(token));
    expect(pause.status).toBe(502);
    expect(
      (await ctx.database.db.selectFrom('recurring_donations').select('paused').executeTakeFirstOrThrow()).paused,
    ).toBe(false);
  });
});

describe("another donor's donation", () => {
  it('a form aimed at it changes nothing and lands back on the donor’s own page', async () => {
    await give(ctx, { email: 'one@example.org' });
    await give(ctx, { email: 'two@example.org' });
    const one = await tokenFor(ctx, 'one@example.org');
    const theirs = await ctx.database.db
      .selectFrom('recurring_donations')
      .innerJoin('supporters', 'supporters.id', 'recurring_donations.supporter_id')
      .select('recurring_donations.id')
      .where('supporters.email', '=', 'two@example.org')
      .executeTakeFirstOrThrow();
    for (const action of ['cancel', 'pause', 'payment-method']) {
      const res = await postForm(`/manage/recurring/${theirs.id}/${action}`, { months: '1' }, cookieOf(one));
      expect(res.status, action).toBe(303);
      expect(res.headers.get('location')).toBe('/manage');
    }
    const cancelPage = await get(`/manage/recurring/${theirs.id}/cancel`, cookieOf(one));
    expect(cancelPage.headers.get('location')).toBe('/manage');
    expect(
      ctx.stripe.requests.filter(
        (r) => r.method === 'POST' && r.path.startsWith('/v1/') && r.path !== '/v1/checkout/sessions',
      ),
    ).toEqual([]);
  });
});

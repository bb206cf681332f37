import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendManageLinks } from '../src/manage/send-links.js';
import { bearer, eventsSettled, give, linkIn, serveWebhooks, tokenFor } from './support/donor.js';
import { createTestContext, postJson, TEST_PUBLIC_URL, type TestContext } from './support/harness.js';
import type { Served } from './support/http-server.js';
import { TestSmtpServer } from './support/smtp.js';

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

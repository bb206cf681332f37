import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendDueReminders } from '../src/reminders/send-due.js';
import { countRows, expectError } from './support/assertions.js';
import { createTestContext, postJson, TEST_NOW, type TestContext } from './support/harness.js';
import { oneOff, recurring } from './support/histories.js';
import { deliverAll, inOrder } from './support/ledger.js';
import { TestSmtpServer } from './support/smtp.js';
import { checkoutSession, deliver, event } from './support/stripe-events.js';

let ctx: TestContext;
let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await new TestSmtpServer().start();
  ctx = await createTestContext({ SMTP_URL: smtp.url, REMINDER_MAX_ATTEMPTS: '3', TRUST_PROXY: '1' });
});
afterAll(async () => {
  await ctx.close();
  await smtp.stop();
});
beforeEach(async () => {
  await ctx.reset();
  smtp.clear();
});

const DAY = 86_400_000;
const NOW = Date.parse(TEST_NOW);
const READER = 'rdr_0123456789abcdef';
const signUp = (body: Record<string, unknown>, ip = '198.51.100.7') =>
  postJson(ctx.app, '/api/reminders', body, { 'x-forwarded-for': ip });
const emailReminder = (extra: Record<string, unknown> = {}) => ({
  email: 'Reader@Example.org',
  consent: true,
  consentVersion: 'box-2026-11',
  ...extra,
});
const reminders = () =>
  ctx.database.db.selectFrom('reminders').selectAll().orderBy('created_at').orderBy('remind_at').execute();

describe('POST /api/reminders', () => {
  it('signs a reader up for one e-mail in 30 days by default, storing the consent wording version', async () => {
    const res = await signUp(emailReminder({ frequency: 'monthly', amount: 500, currency: 'USD', campaign: 'box' }));
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toEqual({ id: expect.any(String), remindAt: new Date(NOW + 30 * DAY).toISOString() });
    const [row] = await reminders();
    expect(row).toMatchObject({
      id: body.id,
      kind: 'email',
      email: 'reader@example.org',
      frequency: 'monthly',
      amount: 500,
      currency: 'usd',
      campaign: 'box',
      consent_version: 'box-2026-11',
      status: 'pending',
    });
    expect(row?.consented_at).toEqual(new Date(NOW));
  });

  it('signing up again moves the date of the one pending reminder', async () => {
    const first = await (await signUp(emailReminder({ remindAt: '2026-12-05' }))).json();
    const second = await (
      await signUp(emailReminder({ email: 'READER@example.org', remindAt: '2027-02-01T08:30:00Z' }))
    ).json();
    expect(second).toEqual({ id: first.id, remindAt: '2027-02-01T08:30:00.000Z' });
    const rows = await reminders();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.remind_at.toISOString()).toBe('2027-02-01T08:30:00.000Z');
  });

  it('a day without a time is sent at 09:00 UTC that day', async () => {
    expect((await (await signUp(emailReminder({ remindAt: '2026-11-29' }))).json()).remindAt).toBe(
      '2026-11-29T09:00:00.000Z',
    );
  });

  it.each([
    ['neither email nor readerId', { consent: true }, 'email', /email or readerId is required/],
    ['an e-mail without consent', { email: 'a@example.org' }, 'consent', /consent must be true/],
    ['consent false', { email: 'a@example.org', consent: false }, 'consent', /consent must be true/],
    ['consent not a boolean', { email: 'a@example.org', consent: 'yes' }, 'consent', /true or false/],
    ['a malformed e-mail', { email: 'nope', consent: true }, 'email', /valid e-mail/],
    ['remindAt today', { readerId: READER, remindAt: '2026-11-28' }, 'remindAt', /from tomorrow/],
    ['remindAt in the past', { readerId: READER, remindAt: '2025-01-01' }, 'remindAt', /from tomorrow/],
    ['remindAt beyond a year', { readerId: READER, remindAt: '2027-12-01' }, 'remindAt', /one year ahead/],
    ['remindAt not a date', { readerId: READER, remindAt: 'next week' }, 'remindAt', /ISO date/],
    ['remindAt an impossible day', { readerId: READER, remindAt: '2027-02-30' }, 'remindAt', /ISO date/],
    ['an amount without currency', { readerId: READER, amount: 500 }, 'currency', /required with amount/],
    ['an amount below the minimum', { readerId: READER, amount: 100, currency: 'usd' }, 'amount', /at least 2\.00 USD/],
    ['an unknown currency', { readerId: READER, currency: 'xyz' }, 'currency', /one of USD, EUR, GBP/],
    ['an unknown frequency', { readerId: READER, frequency: 'daily' }, 'frequency', /once, monthly, annual/],
    ['a malformed readerId', { readerId: 'short' }, 'readerId', /16 to 128/],
    ['a long campaign', { readerId: READER, campaign: 'c'.repeat(101) }, 'campaign', /at most 100/],
  ])('%s -> 400 naming the field, nothing written', async (_name, body, field, message) => {
    const error = await expectError(await signUp(body), 400, 'invalid_request', field);
    expect(error.message).toMatch(message);
    expect(await reminders()).toEqual([]);
  });

  it('a body that is not a JSON object -> 400', async () => {
    await expectError(await signUp('[]' as never), 400, 'invalid_request');
  });
});

describe('anonymous deferrals', () => {
  it('a readerId alone records a deferral the box can ask about, and it lapses at remindAt', async () => {
    const res = await signUp({ readerId: READER, remindAt: '2026-12-05' });
    expect(res.status).toBe(201);
    const ask = () => ctx.app.request(`/api/reminders/deferral?readerId=${READER}`);
    expect(await (await ask()).json()).toEqual({ deferredUntil: '2026-12-05T09:00:00.000Z' });
    expect(await (await ctx.app.request('/api/reminders/deferral?readerId=rdr_someone_else_entirely')).json()).toEqual({
      deferredUntil: null,
    });
    const [row] = await reminders();
    expect(row).toMatchObject({ kind: 'deferral', email: null, consent_version: null });
    ctx.clock.set('2026-12-06T00:00:00Z');
    expect(await (await ask()).json()).toEqual({ deferredUntil: null });
    // A deferral is never e-mailed.
    expect((await sendDueReminders(ctx.deps)).sent).toBe(0);
  });

  it('GET /api/reminders/deferral without a valid readerId -> 400', async () => {
    await expectError(await ctx.app.request('/api/reminders/deferral'), 400, 'invalid_request', 'readerId');
    await expectError(await ctx.app.request('/api/reminders/deferral?readerId=x'), 400, 'invalid_request', 'readerId');
  });
});

describe('delivery', () => {
  it('sends each due reminder once, with text and HTML parts, a pre-filled donation link and a cancel link', async () => {
    await signUp(
      emailReminder({ remindAt: '2026-12-01', frequency: 'monthly', amount: 500, currency: 'usd', campaign: 'box' }),
    );
    await signUp(emailReminder({ email: 'later@example.org', remindAt: '2027-01-01' }));
    expect((await sendDueReminders(ctx.deps)).sent).toBe(0);

    ctx.clock.set('2026-12-01T09:00:00Z');
    expect(await sendDueReminders(ctx.deps)).toMatchObject({ sent: 1, retried: 0, failed: 0 });
    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail?.to).toEqual(['reader@example.org']);
    expect(mail?.parsed.subject).toBe('Your reminder to support our newsroom');
    const donate = 'https://donate.newsroom.test/donate?amount=500&currency=usd&frequency=monthly&campaign=box';
    expect(mail?.parsed.text).toContain(`Give 5.00 USD every month: ${donate}`);
    expect(mail?.parsed.html).toContain(donate.replace(/&/g, '&amp;'));
    const cancel = /https:\/\/donate\.newsroom\.test\/reminders\/cancel\?token=([\w-]+)/.exec(mail?.parsed.text ?? '');
    expect(cancel?.[1]).toHaveLength(43);
    expect(mail?.parsed.html).toContain(cancel?.[0]);

    // Sent, so the address is gone: only the pending reminder still has one.
    const row = (await reminders()).find((r) => r.status === 'sent');
    expect(row).toMatchObject({ attempts: 1, email: null });
    expect((await reminders()).map((r) => r.email)).toEqual([null, 'later@example.org']);
    expect(row?.sent_at).toEqual(new Date('2026-12-01T09:00:00Z'));
    expect(row?.cancel_token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.cancel_token_hash).not.toContain(cancel?.[1]);

    expect((await sendDueReminders(ctx.deps)).sent).toBe(0);
    expect(smtp.received).toHaveLength(1);
  });

  it('two sweepers at the same moment send each of 20 reminders exactly once', async () => {
    for (let i = 0; i < 20; i++) {
      await signUp(emailReminder({ email: `reader${i}@example.org`, remindAt: '2026-12-01' }), `203.0.113.${i}`);
    }
    ctx.clock.set('2026-12-02T00:00:00Z');
    const [a, b] = await Promise.all([sendDueReminders(ctx.deps), sendDueReminders(ctx.deps)]);
    expect(a!.sent + b!.sent).toBe(20);
    const recipients = smtp.received.flatMap((m) => m.to).sort();
    expect(recipients).toHaveLength(20);
    expect(new Set(recipients).size).toBe(20);
    expect((await reminders()).every((r) => r.status === 'sent')).toBe(true);
  });

  it('an SMTP failure is retried with backoff, and the reminder is sent once when SMTP recovers', async () => {
    await signUp(emailReminder({ remindAt: '2026-12-01' }));
    ctx.clock.set('2026-12-01T09:00:00Z');
    smtp.refuseNext(1);
    expect(await sendDueReminders(ctx.deps)).toMatchObject({ sent: 0, retried: 1 });
    let [row] = await reminders();
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row?.next_attempt_at).toEqual(new Date('2026-12-01T09:01:00Z'));
    expect(row?.last_error).toMatch(/451/);

    expect((await sendDueReminders(ctx.deps)).sent).toBe(0);
    ctx.clock.advance(61_000);
    expect((await sendDueReminders(ctx.deps)).sent).toBe(1);
    expect(smtp.received).toHaveLength(1);
    [row] = await reminders();
    expect(row).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('after REMINDER_MAX_ATTEMPTS failures the reminder is marked failed and never sent', async () => {
    await signUp(emailReminder({ remindAt: '2026-12-01' }));
    ctx.clock.set('2026-12-01T09:00:00Z');
    smtp.refuseNext(10);
    for (let i = 0; i < 5; i++) {
      await sendDueReminders(ctx.deps);
      ctx.clock.advance(3600_000);
    }
    const [row] = await reminders();
    expect(row).toMatchObject({ status: 'failed', attempts: 3 });
    expect(smtp.received).toHaveLength(0);
    expect(JSON.stringify(ctx.logs)).not.toContain('reader@example.org');
  });

  it('a sweeper that died mid-send leaves the reminder failed, not sent twice', async () => {
    await signUp(emailReminder({ remindAt: '2026-12-01' }));
    await ctx.database.db
      .updateTable('reminders')
      .set({ status: 'sending', attempts: 1, claimed_until: new Date('2026-12-01T09:05:00Z') })
      .execute();
    ctx.clock.set('2026-12-01T09:10:00Z');
    expect(await sendDueReminders(ctx.deps)).toMatchObject({ sent: 0, interrupted: 1 });
    expect((await reminders())[0]).toMatchObject({ status: 'failed' });
    expect(smtp.received).toHaveLength(0);
  });

  it('without SMTP_URL reminders stay queued', async () => {
    ctx.rebuild({ SMTP_URL: undefined });
    await signUp(emailReminder({ remindAt: '2026-12-01' }));
    ctx.clock.set('2026-12-02T00:00:00Z');
    expect(await sendDueReminders(ctx.deps)).toMatchObject({ sent: 0, mailEnabled: false });
    expect((await reminders())[0]?.status).toBe('pending');
    ctx.rebuild();
  });
});

describe('cancel links', () => {
  async function sentReminderToken(): Promise<string> {
    await signUp(emailReminder({ remindAt: '2026-12-01' }));
    ctx.clock.set('2026-12-01T09:00:00Z');
    await sendDueReminders(ctx.deps);
    const [mail] = await smtp.waitFor(1);
    return /cancel\?token=([\w-]+)/.exec(mail!.parsed.text ?? '')![1]!;
  }

  it('the link opens a confirmation page that changes nothing; its button cancels and erases the address', async () => {
    const token = await sentReminderToken();
    const pageRes = await ctx.app.request(`/reminders/cancel?token=${token}`);
    expect(pageRes.status).toBe(200);
    const pageHtml = await pageRes.text();
    expect(pageHtml).toContain('<form method="post" action="/reminders/cancel">');
    expect(pageHtml).toContain(`value="${token}"`);
    expect((await reminders())[0]?.status).toBe('sent');

    const done = await ctx.app.request('/reminders/cancel', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Your reminder is cancelled');
    const [row] = await reminders();
    expect(row).toMatchObject({ status: 'cancelled', email: null });
    expect(row?.sent_at).not.toBeNull();
    expect(row?.email_erased_at).not.toBeNull();
  });

  it('POST /api/reminders/cancel cancels with the token, again harmlessly, and reveals nothing for a wrong one', async () => {
    const token = await sentReminderToken();
    const ok = await postJson(ctx.app, '/api/reminders/cancel', { token });
    expect(await ok.json()).toEqual({ cancelled: true });
    expect((await postJson(ctx.app, '/api/reminders/cancel', { token })).status).toBe(200);

    const wrong = await expectError(
      await postJson(ctx.app, '/api/reminders/cancel', { token: 'A'.repeat(43) }),
      404,
      'not_found',
    );
    expect(wrong.message).toBe('This cancel link is not valid');
    await expectError(await postJson(ctx.app, '/api/reminders/cancel', { token: '<script>' }), 404, 'not_found');
    await expectError(await postJson(ctx.app, '/api/reminders/cancel', {}), 400, 'invalid_request', 'token');
    const page = await ctx.app.request('/reminders/cancel', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=nonsense',
    });
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain('example.org');
  });
});

describe('conversion: reminders that know about gifts', () => {
  const T = Date.parse('2026-11-30T10:00:00Z') / 1000;

  it('a one-off gift with the same e-mail closes the pending reminder as converted; it is never sent', async () => {
    await signUp(emailReminder({ email: 'reader.once1@example.org', remindAt: '2026-12-10' }));
    await deliverAll(ctx.app, oneOff(1, T).events, NOW / 1000);
    const [row] = await reminders();
    expect(row).toMatchObject({ status: 'converted' });
    expect(row?.converted_at).toEqual(new Date(T * 1000));
    ctx.clock.set('2026-12-11T00:00:00Z');
    expect((await sendDueReminders(ctx.deps)).sent).toBe(0);
    expect(smtp.received).toHaveLength(0);
  });

  it('a recurring gift with the same e-mail converts it too', async () => {
    await signUp(emailReminder({ email: 'reader.monthly2@example.org', remindAt: '2026-12-10' }));
    await deliverAll(ctx.app, inOrder([recurring(2, T, { interval: 'month', renewals: 0 })]), NOW / 1000);
    expect((await reminders())[0]?.status).toBe('converted');
  });

  it('a checkout started with a readerId closes that reader deferral when it completes', async () => {
    await signUp({ readerId: READER, remindAt: '2026-12-10' });
    const checkout = await postJson(ctx.app, '/api/checkout-sessions', {
      frequency: 'once',
      amount: 1500,
      currency: 'usd',
      readerId: READER,
    });
    expect(checkout.status).toBe(201);
    const { id } = await checkout.json();
    const session = checkoutSession({
      id,
      mode: 'payment',
      paymentStatus: 'paid',
      amount: 1500,
      email: 'someone@example.org',
      customer: 'cus_r1',
      paymentIntent: 'pi_r1',
    });
    await deliver(ctx.app, event('checkout.session.completed', session, { created: T }), { timestamp: NOW / 1000 });
    expect((await reminders())[0]).toMatchObject({ kind: 'deferral', status: 'converted' });
    expect(await (await ctx.app.request(`/api/reminders/deferral?readerId=${READER}`)).json()).toEqual({
      deferredUntil: null,
    });
  });
});

describe('privacy and abuse', () => {
  it('the address is kept only while the reminder is pending: sending erases it; dates and outcome stay', async () => {
    await signUp(emailReminder({ remindAt: '2026-12-01' }));
    ctx.clock.set('2026-11-30T09:00:00Z');
    await sendDueReminders(ctx.deps);
    expect((await reminders())[0]?.email).toBe('reader@example.org');
    ctx.clock.set('2026-12-01T09:00:00Z');
    expect(await sendDueReminders(ctx.deps)).toMatchObject({ sent: 1 });
    const [row] = await reminders();
    expect(row).toMatchObject({ email: null, status: 'sent' });
    expect(row?.sent_at).toEqual(new Date('2026-12-01T09:00:00Z'));
    expect(row?.email_erased_at).toEqual(new Date('2026-12-01T09:00:00Z'));
    // A closed reminder that still has an address (closed by an older version) loses it at the next sweep.
    await ctx.database.db.updateTable('reminders').set({ email: 'reader@example.org' }).execute();
    ctx.clock.set('2026-12-01T09:01:00Z');
    expect((await sendDueReminders(ctx.deps)).erased).toBe(1);
    expect((await reminders())[0]?.email).toBeNull();
  });

  it('limits sign-ups per e-mail and per IP per hour, counted in the database, with Retry-After', async () => {
    ctx.rebuild({ REMINDER_RATE_LIMIT_PER_EMAIL: '2', REMINDER_RATE_LIMIT_PER_IP: '3' });
    expect((await signUp(emailReminder(), '192.0.2.1')).status).toBe(201);
    expect((await signUp(emailReminder(), '192.0.2.1')).status).toBe(201);
    const limited = await signUp(emailReminder(), '192.0.2.1');
    await expectError(limited, 429, 'rate_limited');
    expect(limited.headers.get('retry-after')).toBe('3600');
    // The address's limit counts per network: from elsewhere nobody can use up the reader's own.
    expect((await signUp(emailReminder(), '192.0.2.2')).status).toBe(201);

    for (const n of [1, 2]) expect((await signUp({ readerId: `${READER}${n}` }, '192.0.2.9')).status).toBe(201);
    expect((await signUp(emailReminder({ email: 'other@example.org' }), '192.0.2.9')).status).toBe(201);
    await expectError(await signUp({ readerId: `${READER}x` }, '192.0.2.9'), 429, 'rate_limited');
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(0);
    expect(await reminders()).toHaveLength(4);

    ctx.clock.advance(3600_000);
    expect((await signUp({ readerId: `${READER}y` }, '192.0.2.9')).status).toBe(201);
    const counters = await ctx.database.db.selectFrom('rate_limit_counters').select('bucket').execute();
    expect(counters.map((c) => c.bucket).join(' ')).not.toContain('example.org');
    ctx.rebuild();
  });
});

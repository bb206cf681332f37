import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendDueReminders } from '../src/reminders/send-due.js';
import { createTestContext, postJson, TEST_NOW, type TestContext } from './support/harness.js';
import { oneOff, recurring, refunded } from './support/histories.js';
import { deliverAll, inOrder } from './support/ledger.js';
import { TestSmtpServer } from './support/smtp.js';
import { bearer, staffToken } from './support/staff.js';

let ctx: TestContext;
let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await new TestSmtpServer().start();
  ctx = await createTestContext({ SMTP_URL: smtp.url, LOG_LEVEL: 'trace' });
});
afterAll(async () => {
  await ctx.close();
  await smtp.stop();
});

describe('structured logs over a full flow', () => {
  it('carry the request id on every request line, and no e-mail address, token, secret or card detail', async () => {
    const token = await staffToken(ctx, 'admin');
    const NOW = Date.parse(TEST_NOW) / 1000;
    await postJson(ctx.app, '/api/checkout-sessions', {
      frequency: 'monthly',
      amount: 500,
      currency: 'usd',
      email: 'flow@example.org',
    });
    await postJson(ctx.app, '/api/checkout-sessions', {
      frequency: 'once',
      amount: 1,
      currency: 'usd',
      email: 'bad-amount@example.org',
    });
    ctx.stripe.failNext({
      status: 402,
      error: { type: 'card_error', code: 'card_declined', message: 'Your card ending 4242 was declined' },
    });
    await postJson(ctx.app, '/api/checkout-sessions', {
      frequency: 'once',
      amount: 500,
      currency: 'usd',
      email: 'declined@example.org',
    });
    await deliverAll(
      ctx.app,
      inOrder([
        oneOff(1, NOW - 100),
        recurring(2, NOW - 90, { interval: 'month', renewals: 1 }),
        refunded(3, NOW - 80, [500]),
      ]),
      NOW,
    );
    await postJson(ctx.app, '/api/reminders', { email: 'remind@example.org', consent: true, remindAt: '2026-12-01' });
    ctx.clock.set('2026-12-01T10:00:00Z');
    smtp.refuseNext(1);
    await sendDueReminders(ctx.deps);
    ctx.clock.advance(120_000);
    await sendDueReminders(ctx.deps);
    await (await ctx.app.request('/admin/exports/gifts.csv', { headers: bearer(token) })).text();
    await ctx.app.request('/admin/tokens', {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Second', role: 'finance' }),
    });
    await ctx.app.request('/admin/summary', {
      headers: { authorization: 'Bearer rdt_wrongwrongwrongwrongwrongwrongwrongwrongwro' },
    });

    expect(ctx.logs.filter((l) => l.msg === 'request').length).toBeGreaterThanOrEqual(15);
    expect(smtp.received).toHaveLength(1);
    const text = JSON.stringify(ctx.logs);
    expect(text).not.toMatch(/[\w.+-]+@[\w-]+\.[\w.]+/);
    expect(text).not.toMatch(/rdt_[\w-]{20}/);
    expect(text).not.toContain('whsec_');
    expect(text).not.toContain('sk_test_');
    // Stripe's error message names the card; random ids may contain "4242", so look for the message itself.
    expect(text).not.toContain('Your card');
    expect(text).not.toMatch(/ending 4242/);
    expect(text).not.toMatch(/cancel\?token=/);
    for (const line of ctx.logs.filter((l) => l.msg === 'request')) {
      expect(line.requestId, JSON.stringify(line)).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Lines written while handling a request carry its id too; only the background sweep's do not.
    const withoutId = ctx.logs.filter((l) => !l.requestId && l.job !== 'reminders');
    expect(withoutId).toEqual([]);
  });
});

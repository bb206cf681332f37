import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, TEST_NOW, type TestContext } from './support/harness.js';
import { asyncOneOff, disputed, oneOff, recurring, refunded, refundedRenewal } from './support/histories.js';
import { deliverAll, inOrder, ledgerSnapshot } from './support/ledger.js';
import { checkoutSession, deliver, event, invoice, untaggedSubscription } from './support/stripe-events.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const NOW = Date.parse(TEST_NOW) / 1000;
const T0 = Date.parse('2026-01-05T10:00:00Z') / 1000;
const iso = (unix: number) => new Date(unix * 1000);

async function insertOurCheckout(stripeSessionId: string, frequency: 'once' | 'monthly', amount: number) {
  await ctx.database.db
    .insertInto('checkout_sessions')
    .values({
      id: crypto.randomUUID(),
      stripe_session_id: stripeSessionId,
      frequency,
      amount,
      currency: 'usd',
      campaign: null,
      livemode: false,
      created_at: iso(T0 - 60),
      expires_at: iso(T0 + 3600),
      updated_at: iso(T0 - 60),
    })
    .execute();
}

describe('checkout.session.* events', () => {
  it('a paid one-off checkout records the supporter and a succeeded gift, and completes our checkout row', async () => {
    await insertOurCheckout('cs_test_once1', 'once', 1000);
    await deliverAll(ctx.app, oneOff(1, T0, { campaign: 'article-42' }).events, NOW);
    const { supporters, gifts, totals } = await ledgerSnapshot(ctx.database);
    expect(supporters).toEqual([
      {
        email: 'reader.once1@example.org',
        name: 'Reader 1',
        stripe_customer_ids: ['cus_once1'],
        first_gift_at: iso(T0),
        last_gift_at: iso(T0),
      },
    ]);
    expect(gifts).toEqual([
      expect.objectContaining({
        email: 'reader.once1@example.org',
        frequency: 'once',
        amount: 1000,
        currency: 'usd',
        status: 'succeeded',
        net_amount: 1000,
        stripe_checkout_session_id: 'cs_test_once1',
        stripe_payment_intent_id: 'pi_once1',
        campaign: 'article-42',
        paid_at: iso(T0),
      }),
    ]);
    expect(totals).toEqual([{ currency: 'usd', net: 1000 }]);
    const checkout = await ctx.database.db.selectFrom('checkout_sessions').selectAll().executeTakeFirstOrThrow();
    expect(checkout.status).toBe('complete');
    expect(checkout.completed_at).toEqual(iso(T0));
  });

  it('a delayed payment is pending on completion and counts only once it succeeds', async () => {
    const [completed, succeeded] = asyncOneOff(1, T0, 'succeeded').events;
    await deliverAll(ctx.app, [completed!], NOW);
    let snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts).toEqual([expect.objectContaining({ status: 'pending', net_amount: 0, paid_at: null })]);
    expect(snap.supporters[0]?.first_gift_at).toBeNull();
    await deliverAll(ctx.app, [succeeded!], NOW);
    snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts).toEqual([expect.objectContaining({ status: 'succeeded', net_amount: 2500, currency: 'eur' })]);
    expect(snap.supporters[0]?.first_gift_at).toEqual(iso(succeeded!.created));
  });

  it('a delayed payment that fails is marked failed and never counts', async () => {
    await deliverAll(ctx.app, asyncOneOff(1, T0, 'failed').events, NOW);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts).toEqual([expect.objectContaining({ status: 'failed', net_amount: 0 })]);
    expect(snap.totals).toEqual([{ currency: 'eur', net: 0 }]);
  });

  it('a checkout session without our tag is stored as ignored and records nothing', async () => {
    const foreign = checkoutSession({
      id: 'cs_test_foreign',
      mode: 'payment',
      paymentStatus: 'paid',
      amount: 9900,
      email: 'shop@example.org',
      customer: 'cus_shop',
      paymentIntent: 'pi_shop',
      metadata: { order: '123' },
    });
    const res = await deliver(ctx.app, event('checkout.session.completed', foreign, { created: T0 }), {
      timestamp: NOW,
    });
    expect(await res.json()).toEqual({ received: true, outcome: 'ignored' });
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts).toEqual([]);
    expect(snap.supporters).toEqual([]);
    const stored = await ctx.database.db.selectFrom('stripe_events').selectAll().executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ outcome: 'ignored', error: 'checkout session not created by reader-donations' });
    expect(stored.processed_at).not.toBeNull();
  });

  it('checkout.session.expired marks our checkout row expired, for abandoned-checkout figures', async () => {
    await insertOurCheckout('cs_test_gone', 'once', 500);
    const expired = checkoutSession({
      id: 'cs_test_gone',
      mode: 'payment',
      paymentStatus: 'unpaid',
      status: 'expired',
      amount: 500,
      email: 'reader@example.org',
      customer: 'cus_x',
      paymentIntent: null,
    });
    const res = await deliver(ctx.app, event('checkout.session.expired', expired, { created: T0 + 3600 }), {
      timestamp: NOW,
    });
    expect(res.status).toBe(200);
    const row = await ctx.database.db.selectFrom('checkout_sessions').selectAll().executeTakeFirstOrThrow();
    expect(row.status).toBe('expired');
    expect(row.expired_at).toEqual(iso(T0 + 3600));
    expect((await ledgerSnapshot(ctx.database)).gifts).toEqual([]);
  });
});

describe('recurring donations', () => {
  it('a monthly donation: the first invoice counts once, renewals add one payment each and move the period', async () => {
    await deliverAll(ctx.app, inOrder([recurring(1, T0, { interval: 'month', renewals: 2 })]), NOW);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts.map((g) => [g.stripe_invoice_id, g.frequency, g.amount, g.status])).toEqual([
      ['in_sub_monthly1_0', 'monthly', 500, 'succeeded'],
      ['in_sub_monthly1_1', 'monthly', 500, 'succeeded'],
      ['in_sub_monthly1_2', 'monthly', 500, 'succeeded'],
    ]);
    expect(snap.totals).toEqual([{ currency: 'usd', net: 1500 }]);
    expect(snap.recurring).toEqual([
      {
        email: 'reader.monthly1@example.org',
        stripe_subscription_id: 'sub_monthly1',
        amount: 500,
        currency: 'usd',
        interval: 'month',
        status: 'active',
        started_at: iso(T0),
        canceled_at: null,
        cancel_at_period_end: false,
        current_period_end: iso(T0 + 3 * 30 * 86_400),
        last_payment_at: iso(T0 + 2 * 30 * 86_400),
        failed_payment_attempts: 0,
        campaign: 'newsletter',
      },
    ]);
    expect(snap.supporters).toHaveLength(1);
    expect(snap.supporters[0]?.first_gift_at).toEqual(iso(T0 + 1));
  });

  it('an annual donation is recorded with a yearly interval', async () => {
    await deliverAll(ctx.app, inOrder([recurring(1, T0, { interval: 'year', renewals: 1 })]), NOW);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts.map((g) => g.frequency)).toEqual(['annual', 'annual']);
    expect(snap.recurring[0]).toMatchObject({ interval: 'year', amount: 5000, status: 'active' });
  });

  it('a failed renewal makes the donation past_due with the attempt count; the recovery makes it active', async () => {
    const history = recurring(1, T0, { interval: 'month', renewals: 1, failThenRecover: true });
    const events = inOrder([history]);
    const failedAt = events.findIndex((e) => e.type === 'invoice.payment_failed');
    await deliverAll(ctx.app, events.slice(0, failedAt + 1), NOW);
    let snap = await ledgerSnapshot(ctx.database);
    expect(snap.recurring[0]).toMatchObject({ status: 'past_due', failed_payment_attempts: 1 });
    expect(snap.gifts).toHaveLength(1);
    await deliverAll(ctx.app, events.slice(failedAt + 1), NOW);
    snap = await ledgerSnapshot(ctx.database);
    expect(snap.recurring[0]).toMatchObject({ status: 'active', failed_payment_attempts: 0 });
    expect(snap.gifts).toHaveLength(2);
  });

  it('a proration invoice (a credit line first) records the payment without touching the donation amount', async () => {
    await deliverAll(ctx.app, inOrder([recurring(1, T0, { interval: 'month', renewals: 0 })]), NOW);
    const inv = invoice({
      id: 'in_proration',
      subscription: 'sub_monthly1',
      customer: 'cus_monthly1',
      email: 'reader.monthly1@example.org',
      amountPaid: 500,
      billingReason: 'subscription_cycle',
      paidAt: T0 + 86_400,
      periodStart: T0,
      periodEnd: T0 + 30 * 86_400,
    });
    inv.billing_reason = 'subscription_update';
    const line = inv.lines.data[0];
    inv.lines.data = [
      { ...line, amount: -500 },
      { ...line, amount: 1000 },
    ];
    const res = await deliver(ctx.app, event('invoice.paid', inv, { created: T0 + 86_400 }), { timestamp: NOW });
    expect(res.status).toBe(200);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts.find((g) => g.stripe_invoice_id === 'in_proration')).toMatchObject({
      amount: 500,
      status: 'succeeded',
    });
    expect(snap.recurring[0]?.amount).toBe(500);
  });

  it('a failed first payment leaves the donation incomplete, a failed renewal makes it past_due', async () => {
    const first = invoice({
      id: 'in_first_fail',
      subscription: 'sub_f',
      customer: 'cus_f',
      email: 'f@example.org',
      amountPaid: 500,
      billingReason: 'subscription_create',
      status: 'open',
      attemptCount: 1,
      periodStart: T0,
      periodEnd: T0 + 30 * 86_400,
    });
    await deliver(ctx.app, event('invoice.payment_failed', first, { created: T0 }), { timestamp: NOW });
    expect((await ledgerSnapshot(ctx.database)).recurring[0]).toMatchObject({
      status: 'incomplete',
      failed_payment_attempts: 1,
    });
  });

  it('a cancellation at period end, then the deletion, ends the donation', async () => {
    await deliverAll(ctx.app, inOrder([recurring(1, T0, { interval: 'month', renewals: 1, cancel: true })]), NOW);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.recurring[0]).toMatchObject({ status: 'canceled', cancel_at_period_end: true });
    expect(snap.recurring[0]?.canceled_at).not.toBeNull();
    expect(snap.gifts).toHaveLength(2);
  });

  it('the same e-mail across a one-off and a recurring gift is one supporter', async () => {
    const once = oneOff(7, T0);
    const monthly = recurring(7, T0 + 100, { interval: 'month', renewals: 0 });
    const email = 'reader.once7@example.org';
    for (const e of monthly.events) {
      const o = e.data.object;
      if (o.customer_details) o.customer_details.email = email.toUpperCase();
      if ('customer_email' in o && o.object === 'invoice') o.customer_email = email;
    }
    await deliverAll(ctx.app, inOrder([once, monthly]), NOW);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.supporters).toHaveLength(1);
    expect(snap.supporters[0]?.stripe_customer_ids).toEqual(['cus_monthly7', 'cus_once7']);
    expect(snap.gifts.map((g) => g.email)).toEqual([email, email]);
    expect(snap.recurring[0]?.email).toBe(email);
  });

  it('payments and a donation that arrive before any e-mail join the supporter once an event names one', async () => {
    const monthly = recurring(8, T0, { interval: 'month', renewals: 1 });
    // Invoices without an e-mail, all delivered before the checkout that names the reader.
    for (const e of monthly.events) if (e.data.object.object === 'invoice') e.data.object.customer_email = null;
    const [checkout, ...rest] = monthly.events;
    await deliverAll(ctx.app, rest, NOW);
    const before = await ledgerSnapshot(ctx.database);
    expect(before.gifts.map((g) => g.email)).toEqual([null, null]);
    expect(before.recurring[0]?.email).toBeNull();

    await deliverAll(ctx.app, [checkout!], NOW);
    const snap = await ledgerSnapshot(ctx.database);
    const email = 'reader.monthly8@example.org';
    expect(snap.supporters.map((s) => s.email)).toEqual([email]);
    expect(snap.gifts.map((g) => g.email)).toEqual([email, email]);
    expect(snap.recurring[0]?.email).toBe(email);
  });
});

describe('refunds and disputes', () => {
  it('partial then full refunds: cumulative amounts, and the money leaves the totals', async () => {
    const history = refunded(1, T0, [500, 2000]);
    await deliverAll(ctx.app, history.events.slice(0, 2), NOW);
    let snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts[0]).toMatchObject({ status: 'partially_refunded', refunded_amount: 500, net_amount: 1500 });
    await deliverAll(ctx.app, history.events.slice(2), NOW);
    snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts[0]).toMatchObject({
      status: 'refunded',
      refunded_amount: 2000,
      net_amount: 0,
      stripe_charge_id: 'ch_once1',
    });
    expect(snap.totals).toEqual([{ currency: 'usd', net: 0 }]);
  });

  it('a refund of a renewal is traced to its invoice through Stripe and applied to that payment', async () => {
    const history = refundedRenewal(1, T0);
    history.arrange?.(ctx.stripe);
    await deliverAll(ctx.app, inOrder([history]), NOW);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts.map((g) => [g.stripe_invoice_id, g.status, g.stripe_payment_intent_id])).toEqual([
      ['in_sub_monthly1_0', 'succeeded', null],
      ['in_sub_monthly1_1', 'refunded', 'pi_renewal_1'],
    ]);
    expect(ctx.stripe.requestsTo('GET', '/v1/invoice_payments')).toHaveLength(1);
  });

  it('a lost dispute takes the money out; a won dispute leaves it', async () => {
    await deliverAll(ctx.app, disputed(1, T0, 'lost').events.slice(0, 2), NOW);
    expect((await ledgerSnapshot(ctx.database)).gifts[0]).toMatchObject({ status: 'disputed', net_amount: 5000 });
    await deliverAll(ctx.app, disputed(1, T0, 'lost').events.slice(2), NOW);
    expect((await ledgerSnapshot(ctx.database)).gifts[0]).toMatchObject({ status: 'dispute_lost', net_amount: 0 });
    await deliverAll(ctx.app, disputed(2, T0, 'won').events, NOW);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts.find((g) => g.stripe_payment_intent_id === 'pi_once2')).toMatchObject({
      status: 'succeeded',
      net_amount: 5000,
    });
    expect(snap.totals).toEqual([{ currency: 'gbp', net: 5000 }]);
  });
});

describe('subscriptions and invoices from outside reader-donations', () => {
  // Untagged objects need a lookup inside the event's transaction before its statement: the
  // transaction then takes more than one round trip, and must still apply or ignore exactly once.
  const untaggedSub = (id: string) => untaggedSubscription(id, 'cus_other', T0);
  const untaggedInvoice = (id: string, sub: string) =>
    invoice({
      id,
      subscription: sub,
      customer: 'cus_other',
      email: 'someone.else@example.org',
      amountPaid: 700,
      billingReason: 'subscription_cycle',
      paidAt: T0 + 10,
      periodStart: T0,
      periodEnd: T0 + 30 * 86_400,
      metadata: {},
    });

  it('are stored as ignored, once, and record nothing', async () => {
    const events = [
      event('customer.subscription.created', untaggedSub('sub_other'), { created: T0 }),
      event('invoice.paid', untaggedInvoice('in_other', 'sub_other'), { created: T0 + 10 }),
    ];
    for (const e of events) {
      const first = await deliver(ctx.app, e, { timestamp: NOW });
      expect(await first.json()).toEqual({ received: true, outcome: 'ignored' });
      const again = await deliver(ctx.app, e, { timestamp: NOW });
      expect(await again.json()).toEqual({ received: true, outcome: 'duplicate' });
    }
    const stored = await ctx.database.db
      .selectFrom('stripe_events')
      .select(['outcome', 'error', 'attempts'])
      .orderBy('created')
      .execute();
    expect(stored).toEqual([
      { outcome: 'ignored', error: 'subscription not created by reader-donations', attempts: 1 },
      { outcome: 'ignored', error: 'invoice not for a reader-donations subscription', attempts: 1 },
    ]);
    const snap = await ledgerSnapshot(ctx.database);
    expect([snap.gifts, snap.recurring, snap.supporters]).toEqual([[], [], []]);
  });

  it('an untagged invoice of a subscription we know is recorded as its payment', async () => {
    await deliverAll(ctx.app, inOrder([recurring(1, T0, { interval: 'month', renewals: 0 })]), NOW);
    const renewal = untaggedInvoice('in_untagged_renewal', 'sub_monthly1');
    const res = await deliver(ctx.app, event('invoice.paid', renewal, { created: T0 + 30 * 86_400 }), {
      timestamp: NOW,
    });
    expect(await res.json()).toEqual({ received: true, outcome: 'processed' });
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts.map((g) => [g.stripe_invoice_id, g.frequency, g.amount])).toEqual([
      ['in_sub_monthly1_0', 'monthly', 500],
      ['in_untagged_renewal', 'monthly', 700],
    ]);
  });
});

describe('delivery rules', () => {
  it('a repeat delivery answers 200 duplicate and changes nothing', async () => {
    const [e] = oneOff(1, T0).events;
    await deliverAll(ctx.app, [e!], NOW);
    const before = await ledgerSnapshot(ctx.database);
    const again = await deliver(ctx.app, e!, { timestamp: NOW });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: true, outcome: 'duplicate' });
    expect(await ledgerSnapshot(ctx.database)).toEqual(before);
  });

  it('a type we do not handle is 200 and stored as ignored', async () => {
    const res = await deliver(
      ctx.app,
      event('customer.created', { id: 'cus_1', object: 'customer' }, { created: T0 }),
      {
        timestamp: NOW,
      },
    );
    expect(await res.json()).toEqual({ received: true, outcome: 'ignored' });
    const row = await ctx.database.db.selectFrom('stripe_events').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ type: 'customer.created', outcome: 'ignored', error: 'event type not handled' });
  });

  it('a live-mode event under a test key is 200, ignored and logged', async () => {
    const [e] = oneOff(1, T0).events;
    e!.livemode = true;
    const res = await deliver(ctx.app, e!, { timestamp: NOW });
    expect(await res.json()).toEqual({ received: true, outcome: 'ignored' });
    expect((await ledgerSnapshot(ctx.database)).gifts).toEqual([]);
    expect(ctx.logs.some((l) => l.msg === 'event mode does not match STRIPE_SECRET_KEY; ignored')).toBe(true);
  });

  it('an event in another API version is processed where it fits, with a warning', async () => {
    const [e] = oneOff(1, T0).events;
    e!.api_version = '2025-09-30.clover';
    expect((await deliver(ctx.app, e!, { timestamp: NOW })).status).toBe(200);
    expect((await ledgerSnapshot(ctx.database)).gifts).toHaveLength(1);
    const warning = ctx.logs.find((l) => l.msg === 'event rendered in another API version');
    expect(warning).toMatchObject({ apiVersion: '2025-09-30.clover', level: 'warn' });
  });

  it('an event whose object does not fit its type is stored as failed and answered 500', async () => {
    const [e] = oneOff(1, T0).events;
    e!.data.object.amount_total = 'ten dollars';
    const res = await deliver(ctx.app, e!, { timestamp: NOW });
    expect(res.status).toBe(500);
    expect((await res.json()).error.code).toBe('event_processing_failed');
    const row = await ctx.database.db.selectFrom('stripe_events').selectAll().executeTakeFirstOrThrow();
    expect(row.outcome).toBe('failed');
    expect(row.error).toMatch(/amount_total/);
  });

  it('a NUL character in a reader-typed field is dropped; the processed event keeps its object ids, not its body', async () => {
    const [e] = oneOff(1, T0).events;
    e!.data.object.customer_details.name = 'Ann\u0000a';
    const res = await deliver(ctx.app, e!, { timestamp: NOW });
    expect(res.status).toBe(200);
    expect((await ledgerSnapshot(ctx.database)).supporters[0]?.name).toBe('Anna');
    const stored = await ctx.database.db
      .selectFrom('stripe_events')
      .select(['payload', 'object_ids'])
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ payload: null, object_ids: ['cs_test_once1', 'cus_once1', 'pi_once1'] });
  });

  it('logs carry no e-mail address or webhook secret', async () => {
    await deliverAll(ctx.app, inOrder([oneOff(1, T0), recurring(2, T0, { interval: 'month', renewals: 1 })]), NOW);
    const text = JSON.stringify(ctx.logs).toLowerCase();
    expect(text).not.toContain('@example.org');
    expect(text).not.toContain('whsec_');
  });
});

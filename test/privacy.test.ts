import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyRetention } from '../src/privacy/retention.js';
import { sendDueReminders } from '../src/reminders/send-due.js';
import { replayEvents } from '../webhooks/replay.js';
import { expectError } from './support/assertions.js';
import { createTestContext, postJson, TEST_NOW, type TestContext } from './support/harness.js';
import { disputed, oneOff, recurring, recurringEmailChange, refunded, refundedRenewal } from './support/histories.js';
import { deliverAll, inOrder } from './support/ledger.js';
import { bearer, parseCsv, staffToken } from './support/staff.js';
import {
  checkoutSession,
  deliver,
  event,
  invoice,
  type StripeEvent,
  subscription,
  TAG,
} from './support/stripe-events.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ TRUST_PROXY: '1' });
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const NOW = Date.parse(TEST_NOW) / 1000;
const DAY = 86_400;
const T0 = NOW - 200 * DAY;

/** What a reader types into Stripe Checkout or a bank holds about them: none of it may stay here. */
const PERSONAL = {
  line1: '12 Tverskaya Street, apt 7',
  city: 'Krasnogorsk',
  phone: '+7 495 555 01 23',
  readerIp: '203.0.113.77',
};
const address = {
  line1: PERSONAL.line1,
  line2: null,
  city: PERSONAL.city,
  postal_code: null,
  state: null,
  country: 'RU',
};

/** Puts an address, a phone number and an IP where Stripe's objects carry them. */
function withAddressAndPhone(e: StripeEvent): StripeEvent {
  const o = e.data.object;
  if (o.object === 'checkout.session') {
    o.customer_details = { ...o.customer_details, address, phone: PERSONAL.phone };
    o.collected_information = { shipping_details: { name: o.customer_details.name ?? 'A reader', address } };
  } else if (o.object === 'invoice') {
    Object.assign(o, { customer_address: address, customer_phone: PERSONAL.phone });
    o.customer_shipping = { address, name: o.customer_name, phone: PERSONAL.phone };
  } else if (o.object === 'charge') {
    o.billing_details = { address, email: null, name: 'A reader', phone: PERSONAL.phone, tax_id: null };
  } else if (o.object === 'dispute') {
    o.evidence = { ...o.evidence, billing_address: PERSONAL.line1, customer_purchase_ip: PERSONAL.readerIp };
  }
  return e;
}

/** Every row of every table, as JSON text: what a `pg_dump` of the data would show. */
async function dump(): Promise<Array<{ table: string; row: string; json: Record<string, unknown> }>> {
  const { db } = ctx.database;
  const { rows: tables } = await sql<{ name: string }>`select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`.execute(db);
  const out: Array<{ table: string; row: string; json: Record<string, unknown> }> = [];
  for (const { name } of tables) {
    const { rows } = await sql<{ row: string }>`select row_to_json(t)::text as row from ${sql.table(name)} t`.execute(
      db,
    );
    for (const r of rows) out.push({ table: name, row: r.row, json: JSON.parse(r.row) });
  }
  return out;
}

const EMAIL = /[\w.+-]+@[\w-]+(\.[\w-]+)+/g;

/** Where e-mail addresses may be (docs/privacy.md): a supporter's row, a pending reminder, a failed event's body. */
function emailsOutsideAllowedPlaces(rows: Awaited<ReturnType<typeof dump>>) {
  return rows.flatMap(({ table, row, json }) => {
    const found = row.match(EMAIL) ?? [];
    if (found.length === 0) return [];
    if (table === 'supporters' && found.every((e) => e === json.email)) return [];
    if (table === 'reminders' && json.status === 'pending' && found.every((e) => e === json.email)) return [];
    // A failed event's body may name anyone (it waits for replay); nothing else in its row may.
    if (table === 'stripe_events' && json.outcome === 'failed') {
      const rest = JSON.stringify({ ...json, payload: null }).match(EMAIL) ?? [];
      return rest.length === 0 ? [] : [{ table, found: rest }];
    }
    return [{ table, found }];
  });
}

const signUp = (email: string) =>
  postJson(
    ctx.app,
    '/api/reminders',
    { email, consent: true, remindAt: '2026-12-15' },
    { 'x-forwarded-for': PERSONAL.readerIp },
  );

const foreignSession = () =>
  withAddressAndPhone(
    event(
      'checkout.session.completed',
      checkoutSession({
        id: 'cs_test_shop',
        mode: 'payment',
        paymentStatus: 'paid',
        amount: 4200,
        email: 'outsider@shop.example',
        name: 'Outside Shopper',
        customer: 'cus_shop',
        paymentIntent: 'pi_shop',
        metadata: { order: '77' },
      }),
      { created: T0 },
    ),
  );

const unhandledCustomer = () =>
  event(
    'customer.created',
    {
      id: 'cus_new',
      object: 'customer',
      email: 'someone@example.net',
      name: 'Some One',
      phone: PERSONAL.phone,
      address,
    },
    { created: T0 },
  );

/** A monthly donation of supporter 2 that Stripe also knows (so it can be canceled there). */
function knownToStripe() {
  ctx.stripe.subscriptions.set(
    'sub_monthly2',
    subscription({
      id: 'sub_monthly2',
      customer: 'cus_monthly2',
      status: 'active',
      amount: 500,
      interval: 'month',
      startDate: T0,
      currentPeriodEnd: NOW + 10 * DAY,
      metadata: { ...TAG, frequency: 'monthly' },
    }),
  );
  ctx.stripe.customers.set('cus_monthly2', { id: 'cus_monthly2', object: 'customer', email: 'x' });
}

/** Every kind of history, each with addresses and phones, and a failed event replayed. */
async function fullHistory() {
  const histories = [
    oneOff(1, T0),
    recurring(2, T0, { interval: 'month', renewals: 2 }),
    refunded(3, T0, [500, 2000]),
    disputed(4, T0, 'lost'),
    refundedRenewal(5, T0),
  ];
  for (const h of histories) h.arrange?.(ctx.stripe);
  const events = inOrder(histories).map(withAddressAndPhone);
  const renewalRefund = events.find((e) => e.type === 'charge.refunded' && e.data.object.id === 'ch_renewal_5')!;
  await deliverAll(
    ctx.app,
    events.filter((e) => e !== renewalRefund),
    NOW,
  );
  // Its trace to an invoice fails at Stripe: stored failed, with its body exactly as received.
  ctx.stripe.failNext({ status: 500 });
  const failed = await deliver(ctx.app, renewalRefund, { timestamp: NOW });
  expect(failed.status).toBe(500);
  const stored = await ctx.database.db
    .selectFrom('stripe_events')
    .select(['payload', 'outcome'])
    .where('id', '=', renewalRefund.id)
    .executeTakeFirstOrThrow();
  expect(stored).toEqual({ payload: JSON.stringify(renewalRefund), outcome: 'failed' });
  expect((await replayEvents(ctx.deps, {})).map((r) => r.outcome)).toEqual(['processed']);

  for (const e of [foreignSession(), unhandledCustomer()]) {
    const res = await deliver(ctx.app, e, { timestamp: NOW });
    expect(await res.json()).toEqual({ received: true, outcome: 'ignored' });
  }
  expect((await signUp('pending.reader@example.org')).status).toBe(201);
  expect(
    (
      await postJson(
        ctx.app,
        '/api/checkout-sessions',
        { frequency: 'once', amount: 1500, currency: 'usd', email: 'checkout.reader@example.org' },
        { 'x-forwarded-for': PERSONAL.readerIp, 'idempotency-key': 'key-1' },
      )
    ).status,
  ).toBe(201);
}

describe('what is kept', () => {
  it('after full histories, personal data is only where the Privacy section allows it', async () => {
    await fullHistory();
    const finance = await staffToken(ctx, 'finance');
    const csv = await ctx.app.request('/admin/exports/gifts.csv', {
      headers: { ...bearer(finance), 'x-forwarded-for': '198.51.100.200' },
    });
    expect(csv.status).toBe(200);
    await csv.text();

    const rows = await dump();
    const text = rows.map((r) => r.row).join('\n');
    expect(text).toContain('reader.once1@example.org');
    expect(text).toContain('Reader 1');
    for (const value of Object.values(PERSONAL)) expect(text).not.toContain(value);
    expect(emailsOutsideAllowedPlaces(rows)).toEqual([]);
    // The e-mails the histories gave are in their supporters' rows only.
    const supporters = rows.filter((r) => r.table === 'supporters').map((r) => r.json.email);
    expect(supporters).toContain('reader.monthly2@example.org');
    expect(text).not.toContain('outsider@shop.example');
    expect(text).not.toContain('someone@example.net');
    expect(text).not.toContain('checkout.reader@example.org');
    // Processed and ignored events keep what replay and audit need, and no body.
    const events = rows.filter((r) => r.table === 'stripe_events').map((r) => r.json);
    expect(events.length).toBeGreaterThan(20);
    for (const e of events) expect(e).toMatchObject({ payload: null });
    expect(events.find((e) => e.id && (e.object_ids as string[]).includes('cs_test_shop'))).toMatchObject({
      outcome: 'ignored',
      error: 'checkout session not created by reader-donations',
      object_ids: ['cs_test_shop', 'cus_shop', 'pi_shop'],
    });
    // The staff member's address is in the audit row, the only place an address may be.
    expect(rows.filter((r) => r.row.includes('198.51.100.200')).map((r) => r.table)).toEqual(['audit_log']);
  });

  it('rate-limit counters hold keyed hashes, and go when their window ends even with no traffic', async () => {
    expect((await signUp('pending.reader@example.org')).status).toBe(201);
    const counters = await ctx.database.db.selectFrom('rate_limit_counters').selectAll().execute();
    expect(counters.map((c) => c.bucket.split(':').slice(0, 2).join(':')).sort()).toEqual([
      'reminder:email',
      'reminder:ip',
    ]);
    expect(JSON.stringify(counters)).not.toMatch(/203\.0\.113|example\.org/);
    expect(counters[0]?.expires_at).toEqual(new Date('2026-11-28T13:00:00Z'));
    ctx.clock.set('2026-11-28T12:59:59Z');
    expect((await applyRetention(ctx.deps)).rateLimitCounters).toBe(0);
    ctx.clock.set('2026-11-28T13:00:00Z');
    expect((await sendDueReminders(ctx.deps)).retention.rateLimitCounters).toBe(2);
    expect(await ctx.database.db.selectFrom('rate_limit_counters').selectAll().execute()).toEqual([]);
  });

  it('rate-limit buckets depend on the key: the same address under another RATE_LIMIT_SECRET counts apart', async () => {
    const bucket = async (secret: string) => {
      await ctx.reset();
      ctx.rebuild({ RATE_LIMIT_SECRET: secret.repeat(32) });
      expect((await signUp('pending.reader@example.org')).status).toBe(201);
      const rows = await ctx.database.db.selectFrom('rate_limit_counters').select('bucket').orderBy('bucket').execute();
      return rows.map((r) => r.bucket);
    };
    const a = await bucket('a');
    expect(await bucket('a')).toEqual(a);
    const b = await bucket('b');
    expect(b).toHaveLength(2);
    expect(b.filter((x) => a.includes(x))).toEqual([]);
    ctx.rebuild();
  });

  it("the sweep drops a failed event's body after EVENT_PAYLOAD_RETENTION_DAYS, by the injected clock", async () => {
    ctx.rebuild({ STRIPE_SECRET_KEY: '', EVENT_PAYLOAD_RETENTION_DAYS: '30' });
    // A refund needs Stripe to find its payment: without a key it fails, and waits for a retry.
    const e = withAddressAndPhone(refunded(1, T0, [500]).events[1]!);
    expect((await deliver(ctx.app, e, { timestamp: NOW })).status).toBe(500);
    const row = () =>
      ctx.database.db.selectFrom('stripe_events').selectAll().where('id', '=', e.id).executeTakeFirstOrThrow();
    expect((await row()).payload).toContain(PERSONAL.phone);

    ctx.clock.set(new Date(Date.parse(TEST_NOW) + 30 * DAY * 1000 - 1000).toISOString());
    expect((await applyRetention(ctx.deps)).eventBodies).toBe(0);
    expect((await row()).payload).not.toBeNull();
    ctx.clock.set(new Date(Date.parse(TEST_NOW) + 30 * DAY * 1000 + 1000).toISOString());
    expect((await applyRetention(ctx.deps)).eventBodies).toBe(1);
    expect(await row()).toMatchObject({
      payload: null,
      outcome: 'failed',
      object_ids: ['ch_once1', 'cus_once1', 'pi_once1'],
    });
    // Replay passes it by; asked for by id, it says why.
    expect(await replayEvents(ctx.deps, {})).toEqual([]);
    expect(await replayEvents(ctx.deps, { id: e.id })).toEqual([
      { id: e.id, type: 'charge.refunded', outcome: 'failed', error: 'its body is no longer kept' },
    ]);
    // Stripe's redelivery brings the body back, so the event can still be applied.
    ctx.rebuild();
    ctx.clock.set(TEST_NOW);
    await deliverAll(ctx.app, oneOff(1, T0).events, NOW);
    expect(await (await deliver(ctx.app, e, { timestamp: NOW })).json()).toEqual({
      received: true,
      outcome: 'processed',
    });
    expect((await row()).payload).toBeNull();
  });
});

describe('erasure and access', () => {
  let admin: string;
  beforeEach(async () => {
    admin = await staffToken(ctx, 'admin');
  });
  const erase = (body: unknown, token = admin) => postJson(ctx.app, '/admin/supporters/erase', body, bearer(token));
  const show = (email: string, token = admin) =>
    ctx.app.request(`/admin/supporters?email=${encodeURIComponent(email)}`, { headers: bearer(token) });
  const summary = async () => {
    const res = await ctx.app.request('/admin/summary', { headers: bearer(admin) });
    const body = await res.json();
    // Months are relative to the clock; the rest is what an erasure must not change.
    return body;
  };

  it('erases a supporter everywhere; later events for their customer land without their e-mail or name', async () => {
    await fullHistory();
    knownToStripe();
    const email = 'Reader.Monthly2@Example.org';
    // Stored failed: an event whose object does not fit, naming the donor.
    const broken = recurring(2, T0, { interval: 'month', renewals: 3 }).events.at(-2)!;
    broken.data.object.amount_paid = 'five';
    expect((await deliver(ctx.app, broken, { timestamp: NOW })).status).toBe(500);
    expect((await signUp(email)).status).toBe(201);

    const before = await (await show(email)).json();
    expect(before.supporters).toMatchObject([{ email: 'reader.monthly2@example.org', name: 'Reader 2' }]);
    const id = before.supporters[0].id;
    expect(before.stripeCustomers).toEqual(['cus_monthly2']);
    expect(before.gifts).toHaveLength(3);
    expect(before.recurringDonations).toMatchObject([{ stripeSubscriptionId: 'sub_monthly2', status: 'active' }]);
    expect(before.reminders).toMatchObject([{ status: 'pending', email: 'reader.monthly2@example.org' }]);
    expect(before.pendingEvents).toEqual([{ id: broken.id, type: 'invoice.paid', receivedAt: TEST_NOW }]);

    // An active donation must be canceled at Stripe first.
    await expectError(await erase({ email }), 409, 'recurring_active', 'cancelRecurring');
    expect(ctx.stripe.requests.filter((r) => r.method === 'DELETE')).toEqual([]);

    const res = await erase({ email, cancelRecurring: true, deleteStripeCustomer: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      supporterIds: [id],
      supportersErased: 1,
      recurringCanceled: 1,
      stripeCustomersDeleted: 1,
      remindersErased: 1,
      eventBodiesDropped: 1,
    });
    expect(ctx.stripe.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([
      '/v1/subscriptions/sub_monthly2',
      '/v1/customers/cus_monthly2',
    ]);
    const donation = await ctx.database.db
      .selectFrom('recurring_donations')
      .select('status')
      .where('stripe_subscription_id', '=', 'sub_monthly2')
      .executeTakeFirstOrThrow();
    expect(donation.status).toBe('canceled');

    const gone = (text: string) => {
      expect(text.toLowerCase()).not.toContain('reader.monthly2@example.org');
      expect(text).not.toContain('Reader 2');
    };
    gone((await dump()).map((r) => r.row).join('\n'));

    // A renewal Stripe made before the cancel, delivered late, still lands in the ledger.
    const late = withAddressAndPhone(
      event(
        'invoice.paid',
        invoice({
          id: 'in_late',
          subscription: 'sub_monthly2',
          customer: 'cus_monthly2',
          email,
          name: 'Reader 2',
          amountPaid: 500,
          billingReason: 'subscription_cycle',
          paidAt: NOW - DAY,
          periodStart: NOW - DAY,
          periodEnd: NOW + 29 * DAY,
        }),
        { created: NOW - DAY },
      ),
    );
    expect(await (await deliver(ctx.app, late, { timestamp: NOW })).json()).toMatchObject({ outcome: 'processed' });
    const gift = await ctx.database.db
      .selectFrom('gifts')
      .select(['supporter_id', 'amount'])
      .where('stripe_invoice_id', '=', 'in_late')
      .executeTakeFirstOrThrow();
    expect(gift).toEqual({ supporter_id: id, amount: 500 });
    const rows = await dump();
    gone(rows.map((r) => r.row).join('\n'));
    expect(rows.filter((r) => r.table === 'supporters')).toHaveLength(5);
    await expectError(await show(email), 404, 'not_found');
  });

  it('an erased supporter exports with empty e-mail and name, and the summary does not change', async () => {
    await fullHistory();
    const finance = await staffToken(ctx, 'finance');
    const supportersCsv = async () =>
      parseCsv(await (await ctx.app.request('/admin/exports/supporters.csv', { headers: bearer(finance) })).text());
    const before = { summary: await summary(), supporters: await supportersCsv() };
    const res = await erase({ email: 'reader.once1@example.org' });
    expect(await res.json()).toMatchObject({ supportersErased: 1, recurringCanceled: 0, stripeCustomersDeleted: 0 });
    expect(await summary()).toEqual(before.summary);
    const after = await supportersCsv();
    const header = after[0]!;
    const row = after.find((r) => r[header.indexOf('email')] === '')!;
    expect(row[header.indexOf('name')]).toBe('');
    expect(row[header.indexOf('lifetime_amount')]).toBe('10.00');
    expect(after).toHaveLength(before.supporters.length);
    const gifts = parseCsv(
      await (await ctx.app.request('/admin/exports/gifts.csv', { headers: bearer(finance) })).text(),
    );
    expect(gifts.map((r) => r.join(',')).join('\n')).not.toContain('reader.once1');
  });

  it('is for admins only, validates its input, and is audited by supporter id, never the e-mail', async () => {
    await deliverAll(ctx.app, oneOff(1, T0).events, NOW);
    const finance = await staffToken(ctx, 'finance');
    await expectError(await show('reader.once1@example.org', finance), 403, 'forbidden');
    await expectError(await erase({ email: 'reader.once1@example.org' }, finance), 403, 'forbidden');
    await expectError(await ctx.app.request('/admin/supporters?email=x@example.org'), 401, 'unauthorized');
    await expectError(await show('not-an-address'), 400, 'invalid_request', 'email');
    await expectError(
      await ctx.app.request('/admin/supporters', { headers: bearer(admin) }),
      400,
      'invalid_request',
      'email',
    );
    await expectError(await erase({}), 400, 'invalid_request', 'email');
    await expectError(
      await erase({ email: 'reader.once1@example.org', cancel_recurring: true }),
      400,
      'invalid_request',
    );
    await expectError(
      await erase({ email: 'reader.once1@example.org', cancelRecurring: 'yes' }),
      400,
      'invalid_request',
      'cancelRecurring',
    );
    await expectError(await erase('not json'), 400, 'invalid_request');
    await expectError(await show('nobody@example.org'), 404, 'not_found');
    await expectError(await erase({ email: 'nobody@example.org' }), 404, 'not_found');
    expect((await ctx.database.db.selectFrom('supporters').select('email').execute())[0]?.email).toBe(
      'reader.once1@example.org',
    );

    expect((await show('reader.once1@example.org')).status).toBe(200);
    expect((await erase({ email: 'READER.once1@example.org' })).status).toBe(200);
    const audit = await ctx.database.db
      .selectFrom('audit_log')
      .select(['token_name', 'endpoint', 'filters', 'completed'])
      .where('endpoint', 'like', '/admin/supporters%')
      .orderBy('created_at')
      .execute();
    const id = (await ctx.database.db.selectFrom('supporters').select('id').executeTakeFirstOrThrow()).id;
    expect(audit).toContainEqual({
      token_name: 'admin token',
      endpoint: '/admin/supporters/erase',
      filters: { supporterIds: [id], found: true, cancelRecurring: false, deleteStripeCustomer: false },
      completed: true,
    });
    expect(audit).toContainEqual({
      token_name: 'admin token',
      endpoint: '/admin/supporters',
      filters: { supporterIds: [id], found: true },
      completed: true,
    });
    expect(JSON.stringify(audit)).not.toContain('@');
    expect(JSON.stringify(ctx.logs)).not.toContain('reader.once1');
  });

  it('a checkout Stripe completed before the erasure, delivered after it under a new customer, joins the erased row', async () => {
    await deliverAll(ctx.app, oneOff(1, T0).events, NOW);
    expect((await erase({ email: 'reader.once1@example.org' })).status).toBe(200);
    const session = (id: string, customer: string, created: number) =>
      event(
        'checkout.session.completed',
        checkoutSession({
          id,
          mode: 'payment',
          paymentStatus: 'paid',
          amount: 700,
          email: 'Reader.Once1@Example.org',
          name: 'Reader 1',
          customer,
          paymentIntent: `pi_${id}`,
        }),
        { created },
      );
    // Created a minute before the erasure (a retry, a late delivery): the erased row takes it.
    const late = session('cs_test_late', 'cus_late', NOW - 60);
    expect(await (await deliver(ctx.app, late, { timestamp: NOW })).json()).toMatchObject({ outcome: 'processed' });
    const supporters = () => ctx.database.db.selectFrom('supporters').select(['id', 'email', 'name']).execute();
    expect(await supporters()).toEqual([{ id: expect.any(String), email: null, name: null }]);
    const text = (await dump())
      .map((r) => r.row)
      .join('\n')
      .toLowerCase();
    expect(text).not.toContain('reader.once1@example.org');
    expect(text).not.toContain('reader 1');
    // A gift made after the erasure is a new supporter's, with their consent anew.
    ctx.clock.advance(3_600_000);
    const again = session('cs_test_again', 'cus_again', NOW + 3600);
    expect((await deliver(ctx.app, again, { timestamp: NOW + 3600 })).status).toBe(200);
    expect((await supporters()).map((r) => r.email).sort()).toEqual([null, 'reader.once1@example.org']);
    // The guard goes after ERASURE_GUARD_DAYS.
    ctx.clock.set(new Date(Date.parse(TEST_NOW) + 31 * DAY * 1000).toISOString());
    expect((await applyRetention(ctx.deps)).erasureGuards).toBe(1);
    expect(JSON.stringify(await dump())).not.toMatch(/"erased_email_hash":"/);
  });

  it('a donor who changed e-mail is erased under both addresses; a body naming another address stays', async () => {
    await deliverAll(ctx.app, recurringEmailChange(7, T0).events, NOW);
    expect((await ctx.database.db.selectFrom('supporters').select('email').execute()).length).toBe(2);
    // Someone else's failed event, whose address contains the erased one as a substring.
    const other = oneOff(8, T0).events[0]!;
    other.data.object.customer_details.email = 'xchanged.7@example.org.uk';
    other.data.object.amount_total = 'x';
    expect((await deliver(ctx.app, other, { timestamp: NOW })).status).toBe(500);

    const record = await (await show('changed.7@example.org')).json();
    expect(record.supporters.map((x: { email: string }) => x.email)).toEqual([
      'changed.7@example.org',
      'reader.monthly7@example.org',
    ]);
    expect(record.pendingEvents).toEqual([]);
    const res = await erase({ email: 'changed.7@example.org', cancelRecurring: true });
    expect(await res.json()).toMatchObject({ supportersErased: 2, recurringCanceled: 0, eventBodiesDropped: 0 });
    const text = (await dump())
      .filter((r) => r.table !== 'stripe_events')
      .map((r) => r.row)
      .join('\n');
    expect(text).not.toMatch(/changed\.7@|reader\.monthly7@|Reader 7/);
    const kept = await ctx.database.db
      .selectFrom('stripe_events')
      .select('payload')
      .where('id', '=', other.id)
      .executeTakeFirstOrThrow();
    expect(kept.payload).toContain('xchanged.7@example.org.uk');
  });

  it('a Stripe failure stops the erasure before anything here is erased, and it can be run again', async () => {
    await deliverAll(ctx.app, recurring(2, T0, { interval: 'month', renewals: 1 }).events, NOW);
    knownToStripe();
    ctx.stripe.failNext({ status: 500 });
    const email = 'reader.monthly2@example.org';
    await expectError(await erase({ email, cancelRecurring: true }), 502, 'payment_provider_error');
    expect((await ctx.database.db.selectFrom('supporters').select('email').executeTakeFirstOrThrow()).email).toBe(
      email,
    );
    const audit = await ctx.database.db
      .selectFrom('audit_log')
      .select('completed')
      .where('endpoint', '=', '/admin/supporters/erase')
      .execute();
    expect(audit).toEqual([{ completed: false }]);
    expect(await (await erase({ email, cancelRecurring: true })).json()).toMatchObject({
      supportersErased: 1,
      recurringCanceled: 1,
    });
  });

  it('a reminder being sent when its reader is erased is cancelled, and never retried', async () => {
    expect((await signUp('sending@example.org')).status).toBe(201);
    await ctx.database.db
      .updateTable('reminders')
      .set({ status: 'sending', claimed_until: new Date(Date.parse(TEST_NOW) + 60_000) })
      .execute();
    expect(await (await erase({ email: 'sending@example.org' })).json()).toMatchObject({ remindersErased: 1 });
    const [reminder] = await ctx.database.db.selectFrom('reminders').selectAll().execute();
    expect(reminder).toMatchObject({ status: 'cancelled', email: null });
  });

  it('someone known only by a reminder can see and erase it', async () => {
    expect((await signUp('only.reminder@example.org')).status).toBe(201);
    const record = await (await show('only.reminder@example.org')).json();
    expect(record).toMatchObject({ supporters: [], gifts: [], reminders: [{ status: 'pending' }] });
    expect(await (await erase({ email: 'only.reminder@example.org' })).json()).toMatchObject({
      supporterIds: [],
      supportersErased: 0,
      remindersErased: 1,
    });
    const [reminder] = await ctx.database.db.selectFrom('reminders').selectAll().execute();
    expect(reminder).toMatchObject({ email: null, status: 'cancelled' });
  });
});

describe('the Privacy section and the schema', () => {
  it('every column is listed as personal in docs/privacy.md or known to hold none', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../docs/privacy.md', import.meta.url), 'utf8');
    // The table before the first subsection.
    const section = doc.slice(0, doc.indexOf('\n## '));
    const personal = new Set([...section.matchAll(/^\| `(\w+)\.(\w+)` \|/gm)].map((m) => `${m[1]}.${m[2]}`));
    const { rows } = await sql<{ column: string }>`select table_name || '.' || column_name as column
      from information_schema.columns where table_schema = 'public' and table_name not like 'kysely_%'
      order by 1`.execute(ctx.database.db);
    const unclassified = rows.map((r) => r.column).filter((c) => !personal.has(c) && !NOT_PERSONAL.has(c));
    expect(
      unclassified,
      'add each to the table in docs/privacy.md, or to NOT_PERSONAL if it can hold no personal data',
    ).toEqual([]);
    const stale = [...personal, ...NOT_PERSONAL].filter((c) => !rows.some((r) => r.column === c));
    expect(stale, 'columns listed that the schema no longer has').toEqual([]);
  });
});

/** Columns that can hold no personal data: ids we or Stripe make, amounts, states and times. */
const NOT_PERSONAL = new Set(
  Object.entries({
    audit_log: 'id token_id token_name endpoint filters row_count completed created_at',
    checkout_sessions:
      'id stripe_session_id frequency amount currency campaign status livemode created_at expires_at updated_at completed_at expired_at',
    gifts:
      'id supporter_id stripe_customer_id frequency amount currency payment_state refunded_amount dispute_state status net_amount stripe_checkout_session_id stripe_payment_intent_id stripe_invoice_id stripe_charge_id stripe_subscription_id campaign paid_at created_at updated_at ledger_at',
    idempotency_keys: 'scope key_hash request_hash resource_id response_status response_body locked_until created_at',
    payment_adjustments:
      'stripe_payment_intent_id stripe_charge_id stripe_invoice_id amount_refunded dispute_state updated_at',
    rate_limit_counters: 'bucket window_start expires_at count',
    recurring_donations:
      'id supporter_id supporter_version stripe_customer_id stripe_subscription_id checkout_session_id amount currency interval status status_version snapshot_version invoice_version started_at canceled_at cancel_at_period_end current_period_end last_payment_at failed_payment_attempts campaign created_at updated_at paused paused_until cancel_reason',
    // Links mailed to donors name the supporter, never an address (read from supporters when sent).
    manage_links:
      'id supporter_id purpose stripe_invoice_id statement_year status attempts next_attempt_at claimed_until last_error token_hash expires_at sent_at created_at updated_at',
    // What donors did, by donation: no comment, no address.
    donor_actions:
      'id recurring_donation_id action reason pause_months old_amount new_amount currency instead_of_cancel created_at',
    import_runs: 'id scope stage cursor seen adopted started_at updated_at finished_at',
    reconcile_runs:
      'id trigger dry_run window_from window_to started_at finished_at complete seen already_recorded applied failed error',
    reminders:
      'id kind remind_at frequency amount currency campaign consent_version consented_at status attempts next_attempt_at claimed_until last_error cancel_token_hash sent_at cancelled_at converted_at closed_at email_erased_at created_at updated_at',
    server_secrets: 'name secret created_at',
    staff_tokens: 'id name role token_hash token_hint created_at last_used_at revoked_at',
    stripe_events: 'id type api_version created livemode object_ids received_at processed_at outcome error attempts',
    supporter_customers: 'stripe_customer_id supporter_id',
    supporters: 'id name_version stripe_customer_ids created_at updated_at erased_at',
  }).flatMap(([table, columns]) => columns.split(' ').map((c) => `${table}.${c}`)),
);

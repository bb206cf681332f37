import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importFromStripe } from '../src/stripe/import.js';
import { createTestContext, type TestContext } from './support/harness.js';
import { disputed, type History, oneOff, recurring, refunded, refundedRenewal } from './support/histories.js';
import { deliverAll, inOrder, ledgerSnapshot } from './support/ledger.js';
import { event, invoice, type StripeEvent, TAG } from './support/stripe-events.js';

let ctx: TestContext;
let reference: TestContext;

beforeAll(async () => {
  [ctx, reference] = await Promise.all([createTestContext(), createTestContext()]);
});
afterAll(async () => {
  await Promise.all([ctx.close(), reference.close()]);
});
beforeEach(async () => {
  await Promise.all([ctx.reset(), reference.reset()]);
});

const DAY = 86_400;
const T = Date.UTC(2026, 5, 1) / 1000;
type Json = Record<string, any>;

function histories(): History[] {
  return [
    oneOff(1, T),
    recurring(2, T + 3600, { interval: 'month', renewals: 2 }),
    refunded(3, T + 7200, [500, 2000]),
    disputed(4, T + 9000, 'lost'),
    refundedRenewal(5, T + 10_000),
  ];
}

const untagged = (m: Json | undefined) => {
  const { rd_source: _, ...rest } = m ?? {};
  return rest;
};

/**
 * The account as another tool left it: the histories' objects in their final state, none tagged
 * as ours, every donation sold as the product "Support our journalism"; plus another shop's
 * subscription (a mug club) that must stay out.
 */
function outsideAccount(target: TestContext, hs: History[]) {
  const last = new Map<string, { type: string; object: Json; created: number }>();
  for (const e of inOrder(hs))
    last.set(`${e.type.split('.').slice(0, -1).join('.')}:${e.data.object.id}`, {
      type: e.type,
      object: structuredClone(e.data.object),
      created: e.created,
    });
  const s = target.stripe;
  s.products.set('prod_support', { id: 'prod_support', object: 'product', name: 'Support our journalism' });
  s.products.set('prod_mug', { id: 'prod_mug', object: 'product', name: 'Mug club' });
  for (const h of hs) h.arrange?.(s);
  for (const { type, object, created } of last.values()) {
    if (type.startsWith('customer.subscription')) {
      object.metadata = untagged(object.metadata);
      object.created = object.start_date;
      object.items.data[0].price.product = 'prod_support';
      s.subscriptions.set(object.id, object);
    } else if (type.startsWith('invoice.') && object.status === 'paid') {
      object.parent.subscription_details.metadata = untagged(object.parent.subscription_details.metadata);
      s.invoices.set(object.id, object);
    } else if (type === 'checkout.session.completed' && object.mode === 'payment') {
      object.metadata = untagged(object.metadata);
      object.created = created;
      object.line_items = {
        data: [{ id: `li_${object.id}`, object: 'item', price: { id: 'price_x', product: 'prod_support' } }],
      };
      s.sessions.set(object.id, object);
    } else if (type === 'charge.refunded') {
      s.charges.set(object.id, object as any);
    } else if (type.startsWith('charge.dispute')) {
      s.disputes.set(object.id, object);
      if (!s.charges.has(object.charge)) {
        s.charges.set(object.charge, {
          id: object.charge,
          object: 'charge',
          payment_intent: object.payment_intent,
          amount_refunded: 0,
        } as any);
      }
    }
  }
  const mug = structuredClone([...s.subscriptions.values()][0]!);
  Object.assign(mug, { id: 'sub_mugclub', customer: 'cus_mugclub', metadata: {} });
  mug.items.data[0].price.product = 'prod_mug';
  s.subscriptions.set(mug.id, mug);
}

/** The month after: a renewal of the monthly donation, now tagged at Stripe. */
function followingMonth(): StripeEvent[] {
  const at = T + 3600 + 3 * 30 * DAY;
  return [
    event(
      'invoice.paid',
      invoice({
        id: 'in_sub_monthly2_next',
        subscription: 'sub_monthly2',
        customer: 'cus_monthly2',
        email: 'Reader.monthly2@Example.org',
        name: 'Reader 2',
        amountPaid: 500,
        billingReason: 'subscription_cycle',
        paidAt: at,
        periodStart: at,
        periodEnd: at + 30 * DAY,
        metadata: { ...TAG, frequency: 'monthly', campaign: 'newsletter' },
      }),
      { created: at },
    ),
  ];
}

describe('stripe import', () => {
  it('adopts the matching history; with the next month’s webhooks the ledger is as if the service had been there from the start', async () => {
    outsideAccount(ctx, histories());
    for (const h of histories()) h.arrange?.(reference.stripe);
    reference.clock.set(new Date(T * 1000));
    await deliverAll(reference.app, inOrder(histories()), T);

    ctx.clock.set(new Date((T + 90 * DAY) * 1000));
    const lines: string[] = [];
    const run = await importFromStripe(ctx.deps, {
      since: new Date((T - DAY) * 1000),
      match: { kind: 'product', pattern: /support our journalism/i },
      dryRun: false,
      onLine: (l) => lines.push(l),
    });
    expect(run.subscriptions).toEqual({ seen: 3, matched: 2 });
    expect(run.oneOffs).toEqual({ seen: 3, matched: 3 });
    expect(run.events.failed).toBe(0);
    expect(lines.filter((l) => l.startsWith('adopted'))).toHaveLength(5);
    // Tagged at Stripe: their own events are ours from now on; the mug club is not touched.
    expect(ctx.stripe.subscriptions.get('sub_monthly2')!.metadata).toMatchObject(TAG);
    expect(ctx.stripe.subscriptions.get('sub_mugclub')!.metadata).toEqual({});

    const at = T + 3600 + 3 * 30 * DAY;
    ctx.clock.set(new Date(at * 1000));
    reference.clock.set(new Date(at * 1000));
    await deliverAll(ctx.app, followingMonth(), at);
    await deliverAll(reference.app, followingMonth(), at);
    expect(await ledgerSnapshot(ctx.database)).toEqual(await ledgerSnapshot(reference.database));

    // Again: every event is found recorded, nothing changes.
    const before = await ledgerSnapshot(ctx.database);
    const again = await importFromStripe(ctx.deps, {
      since: new Date((T - DAY) * 1000),
      match: { kind: 'product', pattern: /support our journalism/i },
      dryRun: false,
    });
    expect(again.events).toMatchObject({ applied: 0, failed: 0 });
    expect(again.events.alreadyRecorded).toBe(run.events.applied);
    expect(await ledgerSnapshot(ctx.database)).toEqual(before);
  });

  it('without a match option, or as a dry run, adopts nothing and says what it could match', async () => {
    outsideAccount(ctx, histories());
    ctx.clock.set(new Date((T + 90 * DAY) * 1000));
    const survey = await importFromStripe(ctx.deps, { since: new Date((T - DAY) * 1000), match: null, dryRun: false });
    expect(survey.candidates.products.get('Support our journalism')).toBe(5);
    expect(survey.candidates.products.get('Mug club')).toBe(1);
    const dry = await importFromStripe(ctx.deps, {
      since: new Date((T - DAY) * 1000),
      match: { kind: 'metadata', key: 'campaign', value: 'newsletter' },
      dryRun: true,
    });
    expect(dry.subscriptions.matched).toBeGreaterThan(0);
    expect(await ctx.database.db.selectFrom('stripe_events').selectAll().execute()).toEqual([]);
    expect(await ctx.database.db.selectFrom('import_runs').selectAll().execute()).toEqual([]);
    expect(ctx.stripe.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('an interrupted run resumes where it stopped', async () => {
    outsideAccount(ctx, histories());
    ctx.clock.set(new Date((T + 90 * DAY) * 1000));
    const o = {
      since: new Date((T - DAY) * 1000),
      match: { kind: 'product' as const, pattern: /support/i },
      dryRun: false,
    };
    // Stripe goes away once the first subscription is in.
    const first = importFromStripe(ctx.deps, {
      ...o,
      onLine: (l) => {
        if (l.startsWith('adopted\tsubscription')) ctx.stripe.failNext({ status: 500 }, 50);
      },
    });
    await expect(first).rejects.toThrow();
    ctx.stripe.clearFaults();
    const row = await ctx.database.db.selectFrom('import_runs').selectAll().executeTakeFirstOrThrow();
    expect(row.finished_at).toBeNull();
    expect(row.stage).toBe('subscriptions');
    expect(row.cursor).toMatch(/^sub_/);
    const resumed = await importFromStripe(ctx.deps, o);
    expect(resumed.resumed).toBe(true);
    const runs = await ctx.database.db.selectFrom('import_runs').selectAll().execute();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.finished_at).not.toBeNull();
    expect(await ctx.database.db.selectFrom('gifts').selectAll().execute()).toHaveLength(8);
  });
});

describe('a donation the import cannot record as ours', () => {
  const o = () => ({
    since: new Date((T - DAY) * 1000),
    match: { kind: 'product' as const, pattern: /support/i },
    dryRun: false,
  });

  it('in the other mode: skipped with its payments, which are not stored as another shop’s', async () => {
    outsideAccount(ctx, histories());
    ctx.stripe.subscriptions.get('sub_monthly2')!.livemode = true;
    ctx.clock.set(new Date((T + 90 * DAY) * 1000));
    const lines: string[] = [];
    await importFromStripe(ctx.deps, { ...o(), onLine: (l) => lines.push(l) });
    expect(lines).toContain('skipped\tsubscription sub_monthly2\tnot recorded as ours (another mode?)');
    const invoiceEvents = await ctx.database.db
      .selectFrom('stripe_events')
      .select('id')
      .where('id', 'like', 'evt_import_invoice_in_sub_monthly2%')
      .execute();
    expect(invoiceEvents).toEqual([]);
  });

  it('one that fails stops the run before it, and a re-run resumes there once it can be read', async () => {
    outsideAccount(ctx, histories());
    const sub = ctx.stripe.subscriptions.get('sub_monthly2')!;
    const customer = sub.customer;
    // A shape the subscription handler cannot read (a customer that is no id).
    sub.customer = 12345;
    ctx.clock.set(new Date((T + 90 * DAY) * 1000));
    await expect(importFromStripe(ctx.deps, o())).rejects.toThrow(
      'subscription sub_monthly2 could not be recorded; run the import again to resume from it',
    );
    expect(
      await ctx.database.db
        .selectFrom('gifts')
        .select('id')
        .where('stripe_subscription_id', '=', 'sub_monthly2')
        .execute(),
    ).toEqual([]);
    sub.customer = customer;
    // Its event is stored as failed, not done: the re-run records it and its payments.
    const resumed = await importFromStripe(ctx.deps, o());
    expect(resumed.resumed).toBe(true);
    expect(
      await ctx.database.db
        .selectFrom('gifts')
        .select('id')
        .where('stripe_subscription_id', '=', 'sub_monthly2')
        .execute(),
    ).toHaveLength(3);
  });
});

import type { StripeEmulator } from '../../src/dev/stripe-emulator/server.js';
import {
  charge,
  checkoutSession,
  dispute,
  event,
  invoice,
  type StripeEvent,
  subscription,
  TAG,
} from './stripe-events.js';

/** A realistic sequence of Stripe events for one reader, in the order Stripe would send them. */
export interface History {
  name: string;
  events: StripeEvent[];
  /** What the fake Stripe must know for lookups (refunds on recurring payments). */
  arrange?(stripe: StripeEmulator): void;
}

const DAY = 86_400;

function ids(n: number, kind: string) {
  const s = `${kind}${n}`;
  return {
    cs: `cs_test_${s}`,
    pi: `pi_${s}`,
    ch: `ch_${s}`,
    cus: `cus_${s}`,
    sub: `sub_${s}`,
    email: `Reader.${s}@Example.org`,
  };
}

export function oneOff(
  n: number,
  t: number,
  o: { amount?: number; currency?: string; campaign?: string } = {},
): History {
  const i = ids(n, 'once');
  const amount = o.amount ?? 1000;
  const session = checkoutSession({
    id: i.cs,
    mode: 'payment',
    paymentStatus: 'paid',
    amount,
    currency: o.currency ?? 'usd',
    email: i.email,
    name: `Reader ${n}`,
    customer: i.cus,
    paymentIntent: i.pi,
    metadata: { rd_source: 'reader-donations', frequency: 'once', ...(o.campaign ? { campaign: o.campaign } : {}) },
  });
  return { name: `one-off ${n}`, events: [event('checkout.session.completed', session, { created: t })] };
}

export function asyncOneOff(n: number, t: number, outcome: 'succeeded' | 'failed'): History {
  const i = ids(n, `async${outcome}`);
  const base = {
    id: i.cs,
    mode: 'payment' as const,
    amount: 2500,
    currency: 'eur',
    email: i.email,
    customer: i.cus,
    paymentIntent: i.pi,
  };
  return {
    name: `async one-off ${outcome} ${n}`,
    events: [
      event('checkout.session.completed', checkoutSession({ ...base, paymentStatus: 'unpaid' }), { created: t }),
      event(
        `checkout.session.async_payment_${outcome}`,
        checkoutSession({ ...base, paymentStatus: outcome === 'succeeded' ? 'paid' : 'unpaid' }),
        { created: t + 3 * DAY },
      ),
    ],
  };
}

export function recurring(
  n: number,
  t: number,
  o: { interval: 'month' | 'year'; renewals: number; amount?: number; cancel?: boolean; failThenRecover?: boolean },
): History {
  const i = ids(n, o.interval === 'month' ? 'monthly' : 'annual');
  const amount = o.amount ?? (o.interval === 'month' ? 500 : 5000);
  const period = o.interval === 'month' ? 30 * DAY : 365 * DAY;
  const frequency = o.interval === 'month' ? 'monthly' : 'annual';
  const metadata = { rd_source: 'reader-donations', frequency, campaign: 'newsletter' };
  const sub = (status: string, created: number, extra: Record<string, unknown> = {}) =>
    subscription({
      id: i.sub,
      customer: i.cus,
      status,
      amount,
      interval: o.interval,
      startDate: t,
      currentPeriodEnd: t + period * (1 + Math.floor((created - t) / period)),
      metadata,
      ...extra,
    });
  const inv = (k: number, created: number, extra: Partial<Parameters<typeof invoice>[0]> = {}) =>
    invoice({
      id: `in_${i.sub}_${k}`,
      subscription: i.sub,
      customer: i.cus,
      email: i.email,
      name: `Reader ${n}`,
      amountPaid: amount,
      billingReason: k === 0 ? 'subscription_create' : 'subscription_cycle',
      paidAt: created,
      periodStart: t + period * k,
      periodEnd: t + period * (k + 1),
      metadata,
      ...extra,
    });
  const events: StripeEvent[] = [
    event(
      'checkout.session.completed',
      checkoutSession({
        id: i.cs,
        mode: 'subscription',
        paymentStatus: 'paid',
        amount,
        email: i.email,
        name: `Reader ${n}`,
        customer: i.cus,
        subscription: i.sub,
        metadata,
      }),
      { created: t + 2 },
    ),
    event('customer.subscription.created', sub('active', t), { created: t }),
    event('invoice.paid', inv(0, t + 1), { created: t + 1 }),
  ];
  let last = t + 2;
  for (let k = 1; k <= o.renewals; k++) {
    const at = t + period * k;
    if (o.failThenRecover && k === 1) {
      events.push(
        event('invoice.payment_failed', inv(k, at, { status: 'open', paidAt: null, attemptCount: 1 }), { created: at }),
        event('customer.subscription.updated', sub('past_due', at + 1), { created: at + 1 }),
      );
      events.push(
        event('invoice.paid', inv(k, at + 3 * DAY, { attemptCount: 2 }), { created: at + 3 * DAY }),
        event('customer.subscription.updated', sub('active', at + 3 * DAY + 1), { created: at + 3 * DAY + 1 }),
      );
      last = at + 3 * DAY + 1;
    } else {
      events.push(
        event('invoice.paid', inv(k, at), { created: at }),
        event('customer.subscription.updated', sub('active', at + 1), { created: at + 1 }),
      );
      last = at + 1;
    }
  }
  if (o.cancel) {
    events.push(
      event(
        'customer.subscription.updated',
        sub('active', last + DAY, { cancelAtPeriodEnd: true, canceledAt: last + DAY }),
        {
          created: last + DAY,
        },
      ),
      event(
        'customer.subscription.deleted',
        sub('canceled', last + 10 * DAY, { cancelAtPeriodEnd: true, canceledAt: last + DAY }),
        {
          created: last + 10 * DAY,
        },
      ),
    );
  }
  return { name: `${frequency} ${n}`, events };
}

/** The donor changes e-mail in the billing portal before a renewal: the newest e-mail wins. */
export function recurringEmailChange(n: number, t: number): History {
  const base = recurring(n, t, { interval: 'month', renewals: 2 });
  const renewal = base.events.filter((e) => e.type === 'invoice.paid').at(-1)!;
  renewal.data.object.customer_email = `changed.${n}@example.org`;
  return { name: `monthly ${n} with an e-mail change`, events: base.events };
}

export function refunded(n: number, t: number, refunds: number[]): History {
  const base = oneOff(n, t, { amount: 2000 });
  const i = ids(n, 'once');
  return {
    name: `refunded one-off ${n} (${refunds.join(', ')})`,
    arrange: (stripe) => taggedPaymentIntent(stripe, i.pi),
    events: [
      ...base.events,
      ...refunds.map((cumulative, k) =>
        event(
          'charge.refunded',
          charge({ id: i.ch, paymentIntent: i.pi, customer: i.cus, amount: 2000, amountRefunded: cumulative }),
          { created: t + (k + 1) * DAY },
        ),
      ),
    ],
  };
}

/** A refund of the second payment of a monthly donation: traced to its invoice through Stripe. */
export function refundedRenewal(n: number, t: number): History {
  const base = recurring(n, t, { interval: 'month', renewals: 1 });
  const i = ids(n, 'monthly');
  const pi = `pi_renewal_${n}`;
  const at = t + 31 * DAY;
  return {
    name: `refunded renewal ${n}`,
    events: [
      ...base.events,
      event(
        'charge.refunded',
        charge({ id: `ch_renewal_${n}`, paymentIntent: pi, customer: i.cus, amount: 500, amountRefunded: 500 }),
        {
          created: at,
        },
      ),
    ],
    arrange(stripe) {
      stripe.invoicePayments.push({ invoice: `in_${i.sub}_1`, payment_intent: pi });
      const invoice = `in_${i.sub}_1`;
      stripe.paymentIntents.set(pi, { id: pi, object: 'payment_intent', metadata: {} });
      stripe.invoices.set(invoice, {
        id: invoice,
        object: 'invoice',
        parent: { type: 'subscription_details', subscription_details: { subscription: i.sub, metadata: { ...TAG } } },
      });
    },
  };
}

/** What Stripe holds for a one-off gift's PaymentIntent: Checkout's tag, copied from payment_intent_data. */
function taggedPaymentIntent(stripe: StripeEmulator, id: string) {
  stripe.paymentIntents.set(id, { id, object: 'payment_intent', metadata: { ...TAG, frequency: 'once' } });
}

export function disputed(n: number, t: number, outcome: 'won' | 'lost'): History {
  const base = oneOff(n, t, { amount: 5000, currency: 'gbp' });
  const i = ids(n, 'once');
  const d = (status: string) => dispute({ id: `dp_${n}`, charge: i.ch, paymentIntent: i.pi, amount: 5000, status });
  return {
    name: `disputed one-off ${n} (${outcome})`,
    arrange: (stripe) => taggedPaymentIntent(stripe, i.pi),
    events: [
      ...base.events,
      event('charge.dispute.created', d('needs_response'), { created: t + 5 * DAY }),
      event('charge.dispute.closed', d(outcome), { created: t + 40 * DAY }),
    ],
  };
}

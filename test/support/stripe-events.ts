import { readFileSync } from 'node:fs';
import type { Hono } from 'hono';
import Stripe from 'stripe';
import type { AppEnv } from '../../src/app-env.js';

type Json = Record<string, any>;

const fixtures: Record<string, Json> = JSON.parse(
  readFileSync(new URL('../fixtures/stripe-fixtures.json', import.meta.url), 'utf8'),
).resources;

/** Stripe's example object for a resource, with a scenario's fields laid over it. */
function from(resource: string, overrides: Json): Json {
  return { ...structuredClone(fixtures[resource]), ...overrides };
}

export const TAG = { rd_source: 'reader-donations' };

export function checkoutSession(o: {
  id: string;
  mode: 'payment' | 'subscription';
  paymentStatus: 'paid' | 'unpaid';
  amount: number;
  currency?: string;
  email: string;
  name?: string | null;
  customer: string;
  paymentIntent?: string | null;
  subscription?: string | null;
  metadata?: Json;
  status?: 'complete' | 'expired' | 'open';
}): Json {
  const fixture = fixtures['checkout.session']!;
  return from('checkout.session', {
    id: o.id,
    mode: o.mode,
    status: o.status ?? 'complete',
    payment_status: o.paymentStatus,
    amount_subtotal: o.amount,
    amount_total: o.amount,
    currency: o.currency ?? 'usd',
    customer: o.customer,
    customer_email: null,
    customer_details: { ...fixture.customer_details, email: o.email, name: o.name ?? null },
    payment_intent: o.mode === 'payment' ? (o.paymentIntent ?? null) : null,
    subscription: o.mode === 'subscription' ? (o.subscription ?? null) : null,
    metadata: o.metadata ?? { ...TAG, frequency: o.mode === 'payment' ? 'once' : 'monthly' },
    submit_type: 'donate',
    url: null,
  });
}

export function invoice(o: {
  id: string;
  subscription: string;
  customer: string;
  email: string | null;
  name?: string | null;
  amountPaid: number;
  currency?: string;
  billingReason: 'subscription_create' | 'subscription_cycle';
  paidAt?: number | null;
  periodStart: number;
  periodEnd: number;
  attemptCount?: number;
  status?: 'paid' | 'open';
  metadata?: Json;
}): Json {
  const fixture = fixtures.invoice!;
  const line = fixture.lines.data[0];
  return from('invoice', {
    id: o.id,
    customer: o.customer,
    customer_email: o.email,
    customer_name: o.name ?? null,
    currency: o.currency ?? 'usd',
    amount_due: o.amountPaid,
    amount_paid: o.status === 'open' ? 0 : o.amountPaid,
    amount_remaining: o.status === 'open' ? o.amountPaid : 0,
    attempt_count: o.attemptCount ?? 1,
    attempted: true,
    billing_reason: o.billingReason,
    status: o.status ?? 'paid',
    subscription: undefined,
    status_transitions: { ...fixture.status_transitions, paid_at: o.paidAt ?? null },
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { subscription: o.subscription, metadata: o.metadata ?? { ...TAG, frequency: 'monthly' } },
    },
    lines: {
      ...fixture.lines,
      data: [
        {
          ...line,
          amount: o.amountPaid,
          currency: o.currency ?? 'usd',
          period: { start: o.periodStart, end: o.periodEnd },
        },
      ],
    },
  });
}

export function subscription(o: {
  id: string;
  customer: string;
  status: string;
  amount: number;
  currency?: string;
  interval: 'month' | 'year';
  currentPeriodEnd: number;
  startDate: number;
  cancelAtPeriodEnd?: boolean;
  canceledAt?: number | null;
  metadata?: Json;
}): Json {
  const fixture = fixtures.subscription!;
  const item = fixture.items.data[0];
  return from('subscription', {
    id: o.id,
    customer: o.customer,
    status: o.status,
    cancel_at_period_end: o.cancelAtPeriodEnd ?? false,
    canceled_at: o.canceledAt ?? null,
    ended_at: o.status === 'canceled' ? (o.canceledAt ?? null) : null,
    start_date: o.startDate,
    metadata: o.metadata ?? { ...TAG, frequency: o.interval === 'month' ? 'monthly' : 'annual' },
    items: {
      ...fixture.items,
      data: [
        {
          ...item,
          subscription: o.id,
          current_period_end: o.currentPeriodEnd,
          price: {
            ...item.price,
            unit_amount: o.amount,
            unit_amount_decimal: String(o.amount),
            currency: o.currency ?? 'usd',
            recurring: { ...item.price.recurring, interval: o.interval },
          },
        },
      ],
    },
  });
}

/** A monthly subscription made outside this service: no `rd_source` tag. */
export function untaggedSubscription(id: string, customer: string, startDate: number): Json {
  return subscription({
    id,
    customer,
    status: 'active',
    amount: 700,
    interval: 'month',
    startDate,
    currentPeriodEnd: startDate + 30 * 86_400,
    metadata: {},
  });
}

export function charge(o: {
  id: string;
  paymentIntent: string;
  customer: string | null;
  amount: number;
  amountRefunded: number;
  currency?: string;
}): Json {
  return from('charge', {
    id: o.id,
    amount: o.amount,
    amount_captured: o.amount,
    amount_refunded: o.amountRefunded,
    refunded: o.amountRefunded >= o.amount,
    currency: o.currency ?? 'usd',
    customer: o.customer,
    payment_intent: o.paymentIntent,
  });
}

export function dispute(o: {
  id: string;
  charge: string;
  paymentIntent: string;
  amount: number;
  status: string;
}): Json {
  return from('dispute', {
    id: o.id,
    charge: o.charge,
    payment_intent: o.paymentIntent,
    amount: o.amount,
    currency: 'usd',
    status: o.status,
  });
}

export interface StripeEvent extends Json {
  id: string;
  type: string;
  created: number;
}

let counter = 0;
export function event(
  type: string,
  object: Json,
  o: { id?: string; created: number; livemode?: boolean; apiVersion?: string | null },
): StripeEvent {
  return {
    ...structuredClone(fixtures.event),
    id: o.id ?? `evt_test_${(++counter).toString(36)}_${Math.random().toString(36).slice(2, 10)}`,
    type,
    created: o.created,
    livemode: o.livemode ?? false,
    api_version: o.apiVersion === undefined ? Stripe.API_VERSION : o.apiVersion,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  } as StripeEvent;
}

export const WEBHOOK_SECRET = 'whsec_test_secret';
const signer = new Stripe('sk_test_signer');

/** Signs exactly the string it POSTs, as Stripe does, with the SDK's own test helper. */
export function signedHeader(payload: string, secret = WEBHOOK_SECRET, timestamp?: number): string {
  return signer.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}

export async function deliver(
  app: Hono<AppEnv>,
  evt: StripeEvent | string,
  o: { secret?: string; timestamp: number; header?: string | null },
): Promise<Response> {
  const payload = typeof evt === 'string' ? evt : JSON.stringify(evt);
  const header = o.header === undefined ? signedHeader(payload, o.secret, o.timestamp) : o.header;
  return app.request('/webhooks/stripe', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(header === null ? {} : { 'stripe-signature': header }) },
    body: payload,
  });
}

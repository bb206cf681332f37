import { createHmac, randomBytes } from 'node:crypto';

// DEVELOPMENT TOOL: shapes of the Stripe objects (API 2026-10-28.endive) that the emulator sends,
// with the fields the service reads and the ones a reader of the payload would expect beside them.

export const API_VERSION = '2026-10-28.endive';
export const stripeId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

type Json = Record<string, unknown>;

export function event(type: string, object: Json, created: number): Json {
  return {
    id: stripeId('evt'),
    object: 'event',
    api_version: API_VERSION,
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

/** Stripe-Signature exactly as Stripe computes it: HMAC-SHA256 over "<t>.<body>" with the whsec_ secret. */
export function signature(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export function subscriptionObject(o: {
  id: string;
  customer: string;
  amount: number;
  currency: string;
  interval: string;
  metadata: Json;
  now: number;
  periodEnd: number;
  paymentMethod?: string | null;
}): Json {
  return {
    id: o.id,
    object: 'subscription',
    status: 'active',
    customer: o.customer,
    currency: o.currency,
    cancel_at_period_end: false,
    cancel_at: null,
    canceled_at: null,
    ended_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: 'charge_automatically',
    default_payment_method: o.paymentMethod ?? null,
    pause_collection: null,
    created: o.now,
    start_date: o.now,
    livemode: false,
    metadata: o.metadata,
    latest_invoice: null,
    items: {
      object: 'list',
      has_more: false,
      url: `/v1/subscription_items?subscription=${o.id}`,
      data: [
        {
          id: stripeId('si'),
          object: 'subscription_item',
          subscription: o.id,
          quantity: 1,
          current_period_start: o.now,
          current_period_end: o.periodEnd,
          price: {
            id: stripeId('price'),
            object: 'price',
            currency: o.currency,
            product: stripeId('prod'),
            unit_amount: o.amount,
            unit_amount_decimal: String(o.amount),
            recurring: { interval: o.interval, interval_count: 1, usage_type: 'licensed' },
            type: 'recurring',
          },
        },
      ],
    },
  };
}

export function firstInvoiceObject(o: {
  subscription: string;
  customer: string;
  email: string;
  name: string | null;
  amount: number;
  currency: string;
  metadata: Json;
  now: number;
  periodEnd: number;
}): Json {
  return {
    id: stripeId('in'),
    object: 'invoice',
    customer: o.customer,
    customer_email: o.email,
    customer_name: o.name,
    currency: o.currency,
    amount_due: o.amount,
    amount_paid: o.amount,
    amount_remaining: 0,
    attempt_count: 1,
    attempted: true,
    billing_reason: 'subscription_create',
    collection_method: 'charge_automatically',
    created: o.now,
    livemode: false,
    status: 'paid',
    status_transitions: { finalized_at: o.now, paid_at: o.now, marked_uncollectible_at: null, voided_at: null },
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { subscription: o.subscription, metadata: o.metadata },
    },
    lines: {
      object: 'list',
      has_more: false,
      data: [
        {
          id: stripeId('il'),
          object: 'line_item',
          amount: o.amount,
          currency: o.currency,
          quantity: 1,
          period: { start: o.now, end: o.periodEnd },
        },
      ],
    },
  };
}

/** A card PaymentMethod as the API answers it (brand and last four digits are all a donor sees). */
export function cardPaymentMethod(o: { customer: string; brand: string; last4: string; now: number }): Json {
  return {
    id: stripeId('pm'),
    object: 'payment_method',
    type: 'card',
    customer: o.customer,
    created: o.now,
    livemode: false,
    billing_details: { address: null, email: null, name: null, phone: null },
    card: { brand: o.brand, last4: o.last4, exp_month: 12, exp_year: 2030, funding: 'credit', country: 'US' },
    metadata: {},
  };
}

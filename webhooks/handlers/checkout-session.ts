import type { PaymentState } from '../../db/schema.js';
import { sql } from '../../db/sql-fragment.js';
import { markCheckoutCompleteQuery, markCheckoutExpiredQuery } from '../../src/checkout/checkout-sessions-queries.js';
import { eventVersion, impliedVersion } from '../../src/ledger/event-version.js';
import { adjustmentCte, upsertGiftQuery } from '../../src/ledger/gifts.js';
import { upsertRecurringDonationQuery } from '../../src/ledger/recurring-donations.js';
import { convertRemindersQuery } from '../../src/ledger/reminder-conversion.js';
import { supporterCte, supporterId } from '../../src/ledger/supporters.js';
import { defineHandler, type HandlerContext, ignored, processed } from '../handler.js';
import { type CheckoutSessionObject, checkoutSessionObject } from '../stripe-objects.js';
import { campaignOf, intervalOf, isOurs, keys, recordWithSupporter, recurringFrequency } from './common.js';

type Outcome = 'completed' | 'async_payment_succeeded' | 'async_payment_failed';

const lockKeys = (s: CheckoutSessionObject) => [
  keys.checkout(s.id),
  keys.customer(s.customer),
  keys.email(s.customer_details.email ?? s.customer_email),
  keys.paymentIntent(s.payment_intent),
  keys.subscription(s.subscription),
];

/** What a session event says about the payment: delayed methods complete "unpaid" first. */
function paymentStateOf(outcome: Outcome, s: CheckoutSessionObject): PaymentState {
  if (outcome === 'async_payment_failed') return 'failed';
  if (outcome === 'async_payment_succeeded') return 'succeeded';
  return s.payment_status === 'paid' ? 'succeeded' : 'pending';
}

async function recordSession(ctx: HandlerContext, s: CheckoutSessionObject, outcome: Outcome) {
  if (!isOurs(s.metadata)) return ignored('checkout session not created by reader-donations');
  const { event, now } = ctx;
  const email = s.customer_details.email ?? s.customer_email;
  const version = eventVersion(event.created, event.id);
  const campaign = campaignOf(s.metadata);
  const supporter = supporterCte({
    email,
    erasure: await ctx.erasureCheck(email),
    name: s.customer_details.name,
    stripeCustomerId: s.customer,
    version,
    now,
  });
  const checkout = sql`checkout as (${markCheckoutCompleteQuery(s.id, event.createdAt, now)})`;
  // The reader gave: reminders for this e-mail, and the deferral of the reader who checked out, close.
  const converted =
    outcome === 'async_payment_failed'
      ? null
      : convertRemindersQuery({ email, readerId: sql`(select reader_id from checkout)` }, event.createdAt, now);
  const common = [supporter, checkout, converted && sql`converted as (${converted})`];

  if (s.mode === 'payment') {
    if (!s.amount_total || !s.currency) return ignored('checkout session without an amount');
    const paymentState = paymentStateOf(outcome, s);
    const gift = upsertGiftQuery({
      key: { column: 'stripe_checkout_session_id', value: s.id },
      frequency: 'once',
      amount: s.amount_total,
      currency: s.currency,
      paymentState,
      paidAt: paymentState === 'succeeded' ? event.createdAt : null,
      supporterId,
      stripeCustomerId: s.customer,
      stripePaymentIntentId: s.payment_intent,
      stripeSubscriptionId: null,
      campaign,
      now,
    });
    await recordWithSupporter(ctx, email, s.customer, [
      ...common,
      adjustmentCte(s.payment_intent, null),
      sql`gift as (${gift})`,
    ]);
    return processed;
  }

  if (s.mode === 'subscription' && s.subscription) {
    // The money is recorded once, by invoice.paid for the first invoice; the session only creates
    // the recurring donation, so the two can never count the same payment twice.
    const paid = paymentStateOf(outcome, s);
    const donation = upsertRecurringDonationQuery({
      stripeSubscriptionId: s.subscription,
      supporterId,
      supporterVersion: email ? version : null,
      stripeCustomerId: s.customer,
      checkoutSessionId: s.metadata.rd_checkout_id ?? s.client_reference_id ?? null,
      campaign,
      fill: {
        amount: s.amount_total ?? null,
        currency: s.currency,
        interval: intervalOf(recurringFrequency(s.metadata)),
        startedAt: event.createdAt,
      },
      ...(paid === 'failed'
        ? {}
        : {
            status: {
              version: impliedVersion(event.id, paid === 'succeeded' ? 1 : 0),
              status: paid === 'succeeded' ? 'active' : 'incomplete',
            },
          }),
      now,
    });
    await recordWithSupporter(ctx, email, s.customer, [...common, sql`donation as (${donation})`]);
    return processed;
  }
  return ignored(`checkout session in ${s.mode} mode`);
}

const sessionHandler = (outcome: Outcome) =>
  defineHandler({
    schema: checkoutSessionObject,
    lockKeys,
    apply: (ctx, s) => recordSession(ctx, s, outcome),
  });

export const checkoutSessionCompleted = sessionHandler('completed');
export const checkoutSessionAsyncPaymentSucceeded = sessionHandler('async_payment_succeeded');
export const checkoutSessionAsyncPaymentFailed = sessionHandler('async_payment_failed');

export const checkoutSessionExpired = defineHandler({
  schema: checkoutSessionObject,
  lockKeys: (s) => [keys.checkout(s.id)],
  async apply(ctx, s) {
    if (!isOurs(s.metadata)) return ignored('checkout session not created by reader-donations');
    await ctx.effect([sql`expired as (${markCheckoutExpiredQuery(s.id, ctx.event.createdAt, ctx.now)})`]);
    return processed;
  },
});

import type { PaymentState } from '../../db/schema.js';
import { markCheckoutComplete, markCheckoutExpired } from '../../src/checkout/checkout-sessions-queries.js';
import { eventVersion, impliedVersion } from '../../src/ledger/event-version.js';
import { upsertGift } from '../../src/ledger/gifts.js';
import { upsertRecurringDonation } from '../../src/ledger/recurring-donations.js';
import { resolveSupporter } from '../../src/ledger/supporters.js';
import { convertReminders } from '../../src/reminders/reminders-queries.js';
import { defineHandler, type HandlerContext, ignored, processed } from '../handler.js';
import { type CheckoutSessionObject, checkoutSessionObject } from '../stripe-objects.js';
import { campaignOf, intervalOf, isOurs, keys, recurringFrequency } from './common.js';

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
  const { trx, event, now } = ctx;
  const email = s.customer_details.email ?? s.customer_email;
  const version = eventVersion(event.created, event.id);
  const supporterVersion = email ? version : null;
  const supporterId = await resolveSupporter(trx, {
    email,
    name: s.customer_details.name,
    stripeCustomerId: s.customer,
    version,
    now,
  });
  const { readerId } = await markCheckoutComplete(trx, s.id, event.createdAt, now);
  if (outcome !== 'async_payment_failed') {
    // The reader gave: reminders for this e-mail, and the deferral of the reader who checked out, close.
    await convertReminders(trx, { email, readerId }, event.createdAt, now);
  }
  const checkoutId = s.metadata.rd_checkout_id ?? s.client_reference_id;
  const campaign = campaignOf(s.metadata);

  if (s.mode === 'payment') {
    if (!s.amount_total || !s.currency) return ignored('checkout session without an amount');
    const paymentState = paymentStateOf(outcome, s);
    await upsertGift(trx, {
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
    return processed;
  }

  if (s.mode === 'subscription' && s.subscription) {
    // The money is recorded once, by invoice.paid for the first invoice; the session only creates
    // the recurring donation, so the two can never count the same payment twice.
    const paid = paymentStateOf(outcome, s);
    await upsertRecurringDonation(trx, {
      stripeSubscriptionId: s.subscription,
      supporterId,
      supporterVersion,
      stripeCustomerId: s.customer,
      checkoutSessionId: checkoutId ?? null,
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
    await markCheckoutExpired(ctx.trx, s.id, ctx.event.createdAt, ctx.now);
    return processed;
  },
});

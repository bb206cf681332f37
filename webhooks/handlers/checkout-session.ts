import type { PaymentState } from '../../db/schema.js';
import { defineHandler, type Effect, type EffectContext, ignored, processed } from '../handler.js';
import { withCheckoutCompleted, withCheckoutExpired } from '../ledger/checkout-sessions.js';
import { eventVersion, impliedVersion } from '../ledger/event-version.js';
import { withAdjustment, withGift } from '../ledger/gifts.js';
import { withRecurringDonation } from '../ledger/recurring-donations.js';
import { withRemindersConverted } from '../ledger/reminder-conversion.js';
import { withSupporter } from '../ledger/supporters.js';
import { type CheckoutSessionObject, checkoutSessionObject } from '../stripe-objects.js';
import { campaignOf, intervalOf, isOurs, keys, recurringFrequency, withOrphansOf } from './common.js';

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

function sessionEffect(ctx: EffectContext, s: CheckoutSessionObject, outcome: Outcome): Effect {
  if (!isOurs(s.metadata)) return ignored('checkout session not created by reader-donations');
  if (s.mode === 'payment' && (!s.amount_total || !s.currency)) return ignored('checkout session without an amount');
  if (s.mode !== 'payment' && !(s.mode === 'subscription' && s.subscription)) {
    return ignored(`checkout session in ${s.mode} mode`);
  }
  const { event, now } = ctx;
  const email = s.customer_details.email ?? s.customer_email;
  const version = eventVersion(event.created, event.id);
  const campaign = campaignOf(s.metadata);
  const paymentState = paymentStateOf(outcome, s);
  let common = withCheckoutCompleted(
    withSupporter(ctx.statement, {
      email,
      erasure: ctx.erasureCheck(email),
      name: s.customer_details.name,
      stripeCustomerId: s.customer,
      version,
      now,
    }),
    s.id,
    event.createdAt,
    now,
  );
  // The reader gave: reminders for this e-mail, and the deferral of the reader who checked out, close.
  if (outcome !== 'async_payment_failed') {
    common = withRemindersConverted(
      common,
      { email, readerId: (c) => c.checkout.value('reader_id') },
      event.createdAt,
      now,
    );
  }

  if (s.mode === 'payment') {
    const statement = withGift(withAdjustment(common, s.payment_intent, null), {
      key: { column: 'stripe_checkout_session_id', value: s.id },
      frequency: 'once',
      amount: s.amount_total!,
      currency: s.currency!,
      paymentState,
      paidAt: paymentState === 'succeeded' ? event.createdAt : null,
      stripeCustomerId: s.customer,
      stripePaymentIntentId: s.payment_intent,
      stripeSubscriptionId: null,
      campaign,
      now,
    });
    return processed(withOrphansOf(statement, email, s.customer));
  }

  // The money is recorded once, by invoice.paid for the first invoice; the session only creates
  // the recurring donation, so the two can never count the same payment twice.
  const statement = withRecurringDonation(common, {
    stripeSubscriptionId: s.subscription!,
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
    ...(paymentState === 'failed'
      ? {}
      : {
          status: {
            version: impliedVersion(event.id, paymentState === 'succeeded' ? 1 : 0),
            status: paymentState === 'succeeded' ? 'active' : 'incomplete',
          },
        }),
    now,
  });
  return processed(withOrphansOf(statement, email, s.customer));
}

const sessionHandler = (outcome: Outcome) =>
  defineHandler({
    schema: checkoutSessionObject,
    lockKeys,
    effect: (ctx, s) => sessionEffect(ctx, s, outcome),
  });

export const checkoutSessionCompleted = sessionHandler('completed');
export const checkoutSessionAsyncPaymentSucceeded = sessionHandler('async_payment_succeeded');
export const checkoutSessionAsyncPaymentFailed = sessionHandler('async_payment_failed');

export const checkoutSessionExpired = defineHandler({
  schema: checkoutSessionObject,
  lockKeys: (s) => [keys.checkout(s.id)],
  effect(ctx, s) {
    if (!isOurs(s.metadata)) return ignored('checkout session not created by reader-donations');
    return processed(withCheckoutExpired(ctx.statement, s.id, ctx.event.createdAt, ctx.now));
  },
});

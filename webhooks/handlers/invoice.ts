import { sql } from '../../db/sql-fragment.js';
import { defineHandler, type EffectContext, ignored, processed } from '../handler.js';
import { eventVersion } from '../ledger/event-version.js';
import { withAdjustment, withGift } from '../ledger/gifts.js';
import { withPaymentFailedNotice } from '../ledger/payment-failed-notice.js';
import {
  donationFallback,
  knownRecurringDonationQuery,
  type RecurringFacts,
  withRecurringDonation,
} from '../ledger/recurring-donations.js';
import { withRemindersConverted } from '../ledger/reminder-conversion.js';
import { withSupporter } from '../ledger/supporters.js';
import { type InvoiceObject, invoiceObject } from '../stripe-objects.js';
import { campaignOf, intervalOf, isOurs, keys, recurringFrequency, toDate, withOrphansOf } from './common.js';

const subscriptionOf = (i: InvoiceObject) => i.parent?.subscription_details?.subscription ?? null;
const metadataOf = (i: InvoiceObject) => i.parent?.subscription_details?.metadata ?? {};
/**
 * The donation's own amount, from a subscription invoice's positive line (a changed amount produces
 * proration invoices whose lines, credits included, say nothing reliable about it).
 */
const donationAmountOf = (i: InvoiceObject) => {
  if (i.billing_reason !== 'subscription_create' && i.billing_reason !== 'subscription_cycle') return null;
  const positive = (i.lines?.data ?? []).map((l) => l.amount ?? 0).filter((a) => a > 0);
  return positive.length === 1 ? positive[0]! : null;
};

const periodEndOf = (i: InvoiceObject) =>
  toDate(Math.max(0, ...(i.lines?.data ?? []).map((l) => l.period?.end ?? 0)) || null);

const lockKeys = (i: InvoiceObject) => [
  keys.invoice(i.id),
  keys.subscription(subscriptionOf(i)),
  keys.customer(i.customer),
  keys.email(i.customer_email),
];

/**
 * An invoice is ours when its subscription carries our tag (copied onto its invoices), or is one
 * we already know (created by our checkout): only an untagged invoice costs a read.
 */
const read = (i: InvoiceObject) => {
  const subscriptionId = subscriptionOf(i);
  return subscriptionId && !isOurs(metadataOf(i)) ? knownRecurringDonationQuery(subscriptionId) : null;
};

/** The invoice's subscription when it is ours; null when not (`known`: what `read` found). */
function ourSubscriptionOf(i: InvoiceObject, known: unknown[] | null): string | null {
  const subscriptionId = subscriptionOf(i);
  return subscriptionId && (known === null || known.length > 0) ? subscriptionId : null;
}

const notOurs = () => ignored('invoice not for a reader-donations subscription');

/**
 * What both invoice events write: the supporter (by the invoice's e-mail, else its customer) and
 * the recurring donation, with the facts the event adds.
 */
function withSubscription(
  ctx: EffectContext,
  i: InvoiceObject,
  subscriptionId: string,
  facts: Pick<RecurringFacts, 'fill' | 'status' | 'invoice' | 'lastPaymentAt' | 'currentPeriodEnd'>,
) {
  const { event, now } = ctx;
  const metadata = metadataOf(i);
  const version = eventVersion(event.created, event.id);
  const statement = withSupporter(ctx.statement, {
    email: i.customer_email,
    erasure: ctx.erasureCheck(i.customer_email),
    name: i.customer_name,
    stripeCustomerId: i.customer,
    version,
    now,
  });
  return withRecurringDonation(statement, {
    stripeSubscriptionId: subscriptionId,
    supporterVersion: i.customer_email ? version : null,
    stripeCustomerId: i.customer,
    checkoutSessionId: metadata.rd_checkout_id ?? null,
    campaign: campaignOf(metadata),
    ...facts,
    now,
  });
}

export const invoicePaid = defineHandler<InvoiceObject, undefined, { id: string }>({
  schema: invoiceObject,
  lockKeys,
  read,
  effect(ctx, i, _, known) {
    const subscriptionId = ourSubscriptionOf(i, known);
    if (!subscriptionId) return notOurs();
    const { event, now } = ctx;
    const metadata = metadataOf(i);
    const frequency = recurringFrequency(metadata);
    const paidAt = toDate(i.status_transitions?.paid_at) ?? event.createdAt;
    const subscription = withRemindersConverted(
      withSubscription(ctx, i, subscriptionId, {
        fill: {
          amount: donationAmountOf(i),
          currency: i.currency,
          interval: intervalOf(frequency ?? 'monthly'),
          startedAt: null,
        },
        status: { version: eventVersion(event.created, event.id, 1), status: 'active' },
        invoice: { version: eventVersion(event.created, event.id), failedAttempts: 0 },
        lastPaymentAt: paidAt,
        currentPeriodEnd: periodEndOf(i),
      }),
      { email: i.customer_email },
      paidAt,
      now,
    );
    if (i.amount_paid <= 0) return processed(withOrphansOf(subscription, i.customer_email, i.customer));
    // Frequency and campaign from the invoice's metadata, else from the donation as it stood.
    const statement = withGift(withAdjustment(subscription, null, i.id), {
      key: { column: 'stripe_invoice_id', value: i.id },
      frequency: frequency ?? sql`coalesce(${donationFallback(subscriptionId, 'frequency')}, 'monthly')`,
      amount: i.amount_paid,
      currency: i.currency,
      paymentState: 'succeeded',
      paidAt,
      stripeCustomerId: i.customer,
      stripePaymentIntentId: null,
      stripeSubscriptionId: subscriptionId,
      campaign: campaignOf(metadata) ?? donationFallback(subscriptionId, 'campaign'),
      now,
    });
    return processed(withOrphansOf(statement, i.customer_email, i.customer));
  },
});

export const invoicePaymentFailed = defineHandler<InvoiceObject, undefined, { id: string }>({
  schema: invoiceObject,
  lockKeys,
  read,
  effect(ctx, i, _, known) {
    const subscriptionId = ourSubscriptionOf(i, known);
    if (!subscriptionId) return notOurs();
    const { event } = ctx;
    // A failed first payment leaves the subscription incomplete (Stripe's own state); a failed renewal, past_due.
    const first = i.billing_reason === 'subscription_create';
    const statement = withSubscription(ctx, i, subscriptionId, {
      status: {
        version: eventVersion(event.created, event.id, first ? 0 : 1),
        status: first ? 'incomplete' : 'past_due',
      },
      invoice: { version: eventVersion(event.created, event.id), failedAttempts: i.attempt_count },
    });
    // A renewal that failed tells the donor how to fix it; a first payment fails in front of them, at checkout.
    const noticed = first ? statement : withPaymentFailedNotice(statement, i.id, ctx.now);
    return processed(withOrphansOf(noticed, i.customer_email, i.customer));
  },
});

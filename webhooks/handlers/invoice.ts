import { sql } from '../../db/sql-fragment.js';
import { eventVersion } from '../../src/ledger/event-version.js';
import { adjustmentCte, upsertGiftQuery } from '../../src/ledger/gifts.js';
import {
  donationFallback,
  knownRecurringDonationQuery,
  type RecurringFacts,
  upsertRecurringDonationQuery,
} from '../../src/ledger/recurring-donations.js';
import { convertRemindersQuery } from '../../src/ledger/reminder-conversion.js';
import { supporterCte, supporterId } from '../../src/ledger/supporters.js';
import { defineHandler, type HandlerContext, ignored, processed } from '../handler.js';
import { type InvoiceObject, invoiceObject } from '../stripe-objects.js';
import { campaignOf, intervalOf, isOurs, keys, recordWithSupporter, recurringFrequency, toDate } from './common.js';

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
 * The invoice's subscription when it is ours: it carries our tag (copied onto its invoices), or is
 * one we already know (created by our checkout). Only an untagged invoice costs a lookup.
 */
async function ourSubscriptionOf(ctx: HandlerContext, i: InvoiceObject): Promise<string | null> {
  const subscriptionId = subscriptionOf(i);
  if (!subscriptionId) return null;
  if (isOurs(metadataOf(i)) || (await ctx.query(knownRecurringDonationQuery(subscriptionId))).length > 0) {
    return subscriptionId;
  }
  return null;
}

const notOurs = () => ignored('invoice not for a reader-donations subscription');

/**
 * The CTEs both invoice events share: the supporter (by the invoice's e-mail, else its customer)
 * and the recurring donation, with the facts the event adds.
 */
async function subscriptionCtes(
  ctx: HandlerContext,
  i: InvoiceObject,
  subscriptionId: string,
  facts: Pick<RecurringFacts, 'fill' | 'status' | 'invoice' | 'lastPaymentAt' | 'currentPeriodEnd'>,
) {
  const { event, now } = ctx;
  const metadata = metadataOf(i);
  const version = eventVersion(event.created, event.id);
  const donation = upsertRecurringDonationQuery({
    stripeSubscriptionId: subscriptionId,
    supporterId,
    supporterVersion: i.customer_email ? version : null,
    stripeCustomerId: i.customer,
    checkoutSessionId: metadata.rd_checkout_id ?? null,
    campaign: campaignOf(metadata),
    ...facts,
    now,
  });
  return [
    supporterCte({
      email: i.customer_email,
      erasure: await ctx.erasureCheck(i.customer_email),
      name: i.customer_name,
      stripeCustomerId: i.customer,
      version,
      now,
    }),
    sql`donation as (${donation})`,
  ];
}

export const invoicePaid = defineHandler({
  schema: invoiceObject,
  lockKeys,
  async apply(ctx, i) {
    const subscriptionId = await ourSubscriptionOf(ctx, i);
    if (!subscriptionId) return notOurs();
    const { event, now } = ctx;
    const metadata = metadataOf(i);
    const frequency = recurringFrequency(metadata);
    const paidAt = toDate(i.status_transitions?.paid_at) ?? event.createdAt;
    const ctes = await subscriptionCtes(ctx, i, subscriptionId, {
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
    });
    const converted = convertRemindersQuery({ email: i.customer_email }, paidAt, now);
    if (converted) ctes.push(sql`converted as (${converted})`);
    if (i.amount_paid > 0) {
      // Frequency and campaign from the invoice's metadata, else from the donation as it stood.
      const gift = upsertGiftQuery({
        key: { column: 'stripe_invoice_id', value: i.id },
        frequency: frequency ?? sql`coalesce(${donationFallback(subscriptionId, 'frequency')}, 'monthly')`,
        amount: i.amount_paid,
        currency: i.currency,
        paymentState: 'succeeded',
        paidAt,
        supporterId,
        stripeCustomerId: i.customer,
        stripePaymentIntentId: null,
        stripeSubscriptionId: subscriptionId,
        campaign: campaignOf(metadata) ?? donationFallback(subscriptionId, 'campaign'),
        now,
      });
      ctes.push(adjustmentCte(null, i.id), sql`gift as (${gift})`);
    }
    await recordWithSupporter(ctx, i.customer_email, i.customer, ctes);
    return processed;
  },
});

export const invoicePaymentFailed = defineHandler({
  schema: invoiceObject,
  lockKeys,
  async apply(ctx, i) {
    const subscriptionId = await ourSubscriptionOf(ctx, i);
    if (!subscriptionId) return notOurs();
    const { event } = ctx;
    // A failed first payment leaves the subscription incomplete (Stripe's own state); a failed renewal, past_due.
    const first = i.billing_reason === 'subscription_create';
    const ctes = await subscriptionCtes(ctx, i, subscriptionId, {
      status: {
        version: eventVersion(event.created, event.id, first ? 0 : 1),
        status: first ? 'incomplete' : 'past_due',
      },
      invoice: { version: eventVersion(event.created, event.id), failedAttempts: i.attempt_count },
    });
    await recordWithSupporter(ctx, i.customer_email, i.customer, ctes);
    return processed;
  },
});

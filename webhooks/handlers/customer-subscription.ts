import { type Fragment, sql } from '../../db/sql-fragment.js';
import { eventVersion } from '../../src/ledger/event-version.js';
import { knownRecurringDonationQuery, upsertRecurringDonationQuery } from '../../src/ledger/recurring-donations.js';
import { supporterCte, supporterId } from '../../src/ledger/supporters.js';
import { defineHandler, ignored, processed } from '../handler.js';
import { type SubscriptionObject, subscriptionObject } from '../stripe-objects.js';
import { asInterval, campaignOf, isOurs, keys, toDate } from './common.js';

// incomplete < live states < ended: within one second, the more advanced state wins.
const RANK: Record<string, number> = { incomplete: 0, canceled: 2, incomplete_expired: 2 };

/**
 * The recurring donation as a subscription snapshot says it is, newest version wins: from a
 * customer.subscription.* event, or from Stripe's answer to a change we made (`sourceId` names
 * the event or the request; `created` is when the snapshot was taken). A query.
 */
export function subscriptionSnapshotQuery(
  s: SubscriptionObject,
  o: { created: number; sourceId: string; supporterId: Fragment; now: Date },
): Fragment {
  const item = s.items.data[0]!;
  return upsertRecurringDonationQuery({
    stripeSubscriptionId: s.id,
    supporterId: o.supporterId,
    supporterVersion: null,
    stripeCustomerId: s.customer,
    checkoutSessionId: s.metadata.rd_checkout_id ?? null,
    campaign: campaignOf(s.metadata),
    snapshot: {
      version: eventVersion(o.created, o.sourceId, RANK[s.status] ?? 1),
      status: s.status,
      amount: item.price.unit_amount ?? null,
      currency: item.price.currency,
      interval: asInterval(item.price.recurring?.interval),
      cancelAtPeriodEnd: s.cancel_at_period_end,
      canceledAt: toDate(s.canceled_at),
      startedAt: toDate(s.start_date),
    },
    currentPeriodEnd: toDate(item.current_period_end),
    now: o.now,
  });
}

/** created, updated and deleted all carry the whole subscription: each is a snapshot, newest wins. */
export const customerSubscription = defineHandler({
  schema: subscriptionObject,
  lockKeys: (s) => [keys.subscription(s.id), keys.customer(s.customer)],
  async apply(ctx, s) {
    const { event, now } = ctx;
    if (!isOurs(s.metadata) && (await ctx.query(knownRecurringDonationQuery(s.id))).length === 0) {
      return ignored('subscription not created by reader-donations');
    }
    const version = eventVersion(event.created, event.id, RANK[s.status] ?? 1);
    const donation = subscriptionSnapshotQuery(s, { created: event.created, sourceId: event.id, supporterId, now });
    // A subscription carries no e-mail: its supporter is whoever its customer belongs to, if known yet.
    const supporter = supporterCte({
      email: null,
      erasure: null,
      name: null,
      stripeCustomerId: s.customer,
      version,
      now,
    });
    await ctx.effect([supporter, sql`donation as (${donation})`]);
    return processed;
  },
});

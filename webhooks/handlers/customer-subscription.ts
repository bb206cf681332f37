import { type Fragment, sql } from '../../db/sql-fragment.js';
import { cancelReasonOf } from '../../src/manage/cancel-reasons.js';
import { defineHandler, ignored, processed } from '../handler.js';
import { eventVersion } from '../ledger/event-version.js';
import {
  knownRecurringDonationQuery,
  type RecurringFacts,
  recurringDonationUpsert,
  withRecurringDonation,
} from '../ledger/recurring-donations.js';
import { withSupporter } from '../ledger/supporters.js';
import { type SubscriptionObject, subscriptionObject } from '../stripe-objects.js';
import { asInterval, campaignOf, isOurs, keys, toDate } from './common.js';

// incomplete < live states < ended: within one second, the more advanced state wins.
const RANK: Record<string, number> = { incomplete: 0, canceled: 2, incomplete_expired: 2 };

/**
 * The recurring donation as a subscription snapshot says it is, newest version wins: from a
 * customer.subscription.* event, or from Stripe's answer to a change we made (`sourceId` names
 * the event or the request; `created` is when the snapshot was taken).
 */
function snapshotFacts(s: SubscriptionObject, o: { created: number; sourceId: string; now: Date }): RecurringFacts {
  const item = s.items.data[0]!;
  return {
    stripeSubscriptionId: s.id,
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
      paused: Boolean(s.pause_collection),
      pausedUntil: toDate(s.pause_collection?.resumes_at),
      // A reason stands while the donation is being cancelled; a resumed one has none.
      cancelReason: s.cancel_at_period_end || s.status === 'canceled' ? cancelReasonOf(s.cancellation_details) : null,
    },
    currentPeriodEnd: toDate(item.current_period_end),
    now: o.now,
  };
}

/** Stripe's answer to a change we asked for, recorded at once as the event will record it again (a statement). */
export function subscriptionSnapshotStatement(
  s: SubscriptionObject,
  o: { created: number; sourceId: string; now: Date },
): Fragment {
  return recurringDonationUpsert(snapshotFacts(s, o), sql`null::uuid`, sql`true`);
}

/** created, updated and deleted all carry the whole subscription: each is a snapshot, newest wins. */
export const customerSubscription = defineHandler<SubscriptionObject, undefined, { id: string }>({
  schema: subscriptionObject,
  lockKeys: (s) => [keys.subscription(s.id), keys.customer(s.customer)],
  // An untagged subscription is ours only if we know it (one our checkout created before tagging).
  read: (s) => (isOurs(s.metadata) ? null : knownRecurringDonationQuery(s.id)),
  effect(ctx, s, _, known) {
    if (known?.length === 0) return ignored('subscription not created by reader-donations');
    const { event, now } = ctx;
    // A subscription carries no e-mail: its supporter is whoever its customer belongs to, if known yet.
    const statement = withSupporter(ctx.statement, {
      email: null,
      erasure: null,
      name: null,
      stripeCustomerId: s.customer,
      version: eventVersion(event.created, event.id, RANK[s.status] ?? 1),
      now,
    });
    return processed(
      withRecurringDonation(statement, snapshotFacts(s, { created: event.created, sourceId: event.id, now })),
    );
  },
});

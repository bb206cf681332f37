import { randomUUID } from 'node:crypto';
import { assignments, type Fragment, insertInto, raw, sql } from '../../db/sql-fragment.js';
import type { Cte, Ctes, EventStatement } from '../event-statement.js';

export type Interval = 'month' | 'year';

export interface SubscriptionSnapshot {
  /** eventVersion of the customer.subscription.* event: the newest snapshot wins. */
  version: string;
  status: string;
  amount: number | null;
  currency: string | null;
  interval: Interval | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: Date | null;
  startedAt: Date | null;
  /** Stripe's pause_collection: paused, and until when (null: until resumed). */
  paused: boolean;
  pausedUntil: Date | null;
  /** The donor's reason while a cancel stands (src/manage/cancel-reasons.ts), else null. */
  cancelReason: string | null;
}

export interface RecurringFacts {
  stripeSubscriptionId: string;
  /** eventVersion of the event whose e-mail named the supporter; null when found by customer only. */
  supporterVersion: string | null;
  stripeCustomerId: string | null;
  checkoutSessionId: string | null;
  campaign: string | null;
  /** Full state from a subscription event. */
  snapshot?: SubscriptionSnapshot;
  /** What a checkout or invoice event knows; used only until a subscription snapshot arrives. */
  fill?: { amount: number | null; currency: string | null; interval: Interval | null; startedAt: Date | null };
  /** A status implied by a checkout or invoice event (paid -> active, failed -> past_due). */
  status?: { version: string; status: string };
  /** From invoice events: the attempt count of the newest invoice outcome (0 once paid). */
  invoice?: { version: string; failedAttempts: number };
  lastPaymentAt?: Date | null;
  currentPeriodEnd?: Date | null;
  now: Date;
}

const isTerminal = (status: string) => `(${status} in ('canceled', 'incomplete_expired'))`;
const ex = (c: string) => `excluded.${c}`;
const cur = (c: string) => `recurring_donations.${c}`;

// Which side of a conflict wins each group of columns: fixed text, the same for every event.
const statusWins = `(${ex('status_version')} is not null and (${cur('status_version')} is null
    or (${isTerminal(ex('status'))}, ${ex('status_version')}) > (${isTerminal(cur('status'))}, ${cur('status_version')})))`;
const supporterWins = `(${ex('supporter_version')} is not null and ${ex('supporter_id')} is not null
    and (${cur('supporter_version')} is null or ${ex('supporter_version')} > ${cur('supporter_version')}))`;
const snapshotWins = `(${ex('snapshot_version')} is not null and (${cur('snapshot_version')} is null
    or ${ex('snapshot_version')} > ${cur('snapshot_version')}))`;
const fromSnapshot = (c: string) =>
  raw(`case when ${snapshotWins} then ${ex(c)}
           when ${cur('snapshot_version')} is null then coalesce(${cur(c)}, ${ex(c)})
           else ${cur(c)} end`);

const merged = assignments('recurring_donations', {
  status: raw(`case when ${statusWins} then ${ex('status')} else ${cur('status')} end`),
  status_version: raw(`case when ${statusWins} then ${ex('status_version')} else ${cur('status_version')} end`),
  amount: fromSnapshot('amount'),
  currency: fromSnapshot('currency'),
  interval: fromSnapshot('interval'),
  started_at: fromSnapshot('started_at'),
  canceled_at: raw(`case when ${snapshotWins} then ${ex('canceled_at')} else ${cur('canceled_at')} end`),
  cancel_at_period_end: raw(
    `case when ${snapshotWins} then ${ex('cancel_at_period_end')} else ${cur('cancel_at_period_end')} end`,
  ),
  paused: raw(`case when ${snapshotWins} then ${ex('paused')} else ${cur('paused')} end`),
  paused_until: raw(`case when ${snapshotWins} then ${ex('paused_until')} else ${cur('paused_until')} end`),
  cancel_reason: raw(`case when ${snapshotWins} then ${ex('cancel_reason')} else ${cur('cancel_reason')} end`),
  snapshot_version: raw(`greatest(${cur('snapshot_version')}, ${ex('snapshot_version')})`),
  failed_payment_attempts: raw(
    `case when ${ex('invoice_version')} is not null and (${cur('invoice_version')} is null or ${ex('invoice_version')} > ${cur('invoice_version')}) then ${ex('failed_payment_attempts')} else ${cur('failed_payment_attempts')} end`,
  ),
  invoice_version: raw(`greatest(${cur('invoice_version')}, ${ex('invoice_version')})`),
  current_period_end: raw(`greatest(${cur('current_period_end')}, ${ex('current_period_end')})`),
  last_payment_at: raw(`greatest(${cur('last_payment_at')}, ${ex('last_payment_at')})`),
  supporter_id: raw(
    `case when ${supporterWins} then ${ex('supporter_id')} else coalesce(${cur('supporter_id')}, ${ex('supporter_id')}) end`,
  ),
  supporter_version: raw(
    `case when ${supporterWins} then ${ex('supporter_version')} else ${cur('supporter_version')} end`,
  ),
  stripe_customer_id: raw(`coalesce(${cur('stripe_customer_id')}, ${ex('stripe_customer_id')})`),
  checkout_session_id: raw(`coalesce(${cur('checkout_session_id')}, ${ex('checkout_session_id')})`),
  campaign: raw(`coalesce(${cur('campaign')}, ${ex('campaign')})`),
  updated_at: raw(ex('updated_at')),
});

/**
 * Adds the `donation` CTE: creates or updates a recurring donation from whatever one event knows,
 * for the event's supporter. Status moves to the newest event's, except that a canceled donation
 * never comes back to life; snapshot fields follow the newest subscription event; dates only move
 * forward. Gives the donation's id.
 */
/** The name of the CTE withRecurringDonation adds (withOrphansLinked leaves its row alone). */
export const DONATION_CTE = 'donation';

export function withRecurringDonation<R extends Ctes & { supporter: Cte<'id'> }>(
  statement: EventStatement<R>,
  f: RecurringFacts,
) {
  return statement.write(DONATION_CTE, (c, when) => recurringDonationUpsert(f, c.supporter.value('id'), when), ['id']);
}

/** The upsert of a recurring donation; written only when `when` holds. */
export function recurringDonationUpsert(f: RecurringFacts, supporterId: Fragment, when: Fragment): Fragment {
  const status = f.snapshot ? { version: f.snapshot.version, status: f.snapshot.status } : f.status;
  const row = insertInto(
    'recurring_donations',
    {
      id: randomUUID(),
      supporter_id: supporterId,
      supporter_version: sql`case when ${supporterId} is not null then ${f.supporterVersion}::text end`,
      stripe_customer_id: f.stripeCustomerId,
      stripe_subscription_id: f.stripeSubscriptionId,
      checkout_session_id: f.checkoutSessionId,
      amount: f.snapshot?.amount ?? f.fill?.amount ?? null,
      currency: (f.snapshot?.currency ?? f.fill?.currency ?? null)?.toLowerCase() ?? null,
      interval: f.snapshot?.interval ?? f.fill?.interval ?? null,
      status: status?.status ?? 'incomplete',
      status_version: status?.version ?? null,
      snapshot_version: f.snapshot?.version ?? null,
      invoice_version: f.invoice?.version ?? null,
      started_at: f.snapshot?.startedAt ?? f.fill?.startedAt ?? null,
      canceled_at: f.snapshot?.canceledAt ?? null,
      cancel_at_period_end: f.snapshot?.cancelAtPeriodEnd ?? false,
      paused: f.snapshot?.paused ?? false,
      paused_until: f.snapshot?.pausedUntil ?? null,
      cancel_reason: f.snapshot?.cancelReason ?? null,
      current_period_end: f.currentPeriodEnd ?? null,
      last_payment_at: f.lastPaymentAt ?? null,
      failed_payment_attempts: f.invoice?.failedAttempts ?? 0,
      campaign: f.campaign,
      created_at: f.now,
      updated_at: f.now,
    },
    when,
  );
  return sql`${row} on conflict (stripe_subscription_id) do update set ${merged}`;
}

/** What a donation's gifts take from it when the invoice's metadata does not say (a query). */
export function donationFallback(stripeSubscriptionId: string, column: 'frequency' | 'campaign'): Fragment {
  return column === 'frequency'
    ? sql`(select case interval when 'month' then 'monthly' when 'year' then 'annual' end
        from recurring_donations where stripe_subscription_id = ${stripeSubscriptionId})`
    : sql`(select campaign from recurring_donations where stripe_subscription_id = ${stripeSubscriptionId})`;
}

/** Whether we know this subscription (a query for the event's transaction). */
export function knownRecurringDonationQuery(stripeSubscriptionId: string): Fragment {
  return sql`select id from recurring_donations where stripe_subscription_id = ${stripeSubscriptionId}`;
}

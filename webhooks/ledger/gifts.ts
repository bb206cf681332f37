import { randomUUID } from 'node:crypto';
import type { Frequency, PaymentState } from '../../db/schema.js';
import { assignments, type Fragment, insertInto, raw, sql } from '../../db/sql-fragment.js';
import type { Cte, Ctes, EventStatement } from '../event-statement.js';

type Adjustment = Cte<'stripe_payment_intent_id' | 'stripe_charge_id' | 'amount_refunded' | 'dispute_state'>;

export interface GiftFacts {
  /** The Stripe object the payment is keyed by: the Checkout Session (one-off) or the Invoice (recurring). */
  key: { column: 'stripe_checkout_session_id' | 'stripe_invoice_id'; value: string };
  /** An expression: recurring gifts may take it from the donation when the event does not say. */
  frequency: Frequency | Fragment;
  amount: number;
  currency: string;
  paymentState: PaymentState;
  paidAt: Date | null;
  stripeCustomerId: string | null;
  stripePaymentIntentId: string | null;
  stripeSubscriptionId: string | null;
  campaign: string | null | Fragment;
  now: Date;
}

// pending < failed < succeeded: a later "pending" never undoes a payment that went through.
const mergedPaymentState = sql`case
  when excluded.payment_state = 'succeeded' or gifts.payment_state = 'succeeded' then 'succeeded'
  when excluded.payment_state = 'failed' or gifts.payment_state = 'failed' then 'failed'
  else 'pending' end`;

/**
 * Adds the `gift` CTE: records one payment in the ledger, or merges what this event knows into the
 * row another event made. Facts only accumulate, so any order of the same events gives the same
 * row. A refund or dispute that arrived before the payment is folded in (the `adjustment` CTE,
 * which must come first: withAdjustment). Gives the gift's id.
 */
/** The name of the CTE withGift adds (withOrphansLinked leaves its row alone). */
export const GIFT_CTE = 'gift';

export function withGift<R extends Ctes & { supporter: Cte<'id'>; adjustment: Adjustment }>(
  statement: EventStatement<R>,
  f: GiftFacts,
) {
  return statement.write(
    GIFT_CTE,
    (c, when) => {
      const adjustment = (
        column: 'stripe_payment_intent_id' | 'stripe_charge_id' | 'amount_refunded' | 'dispute_state',
      ) => c.adjustment.value(column);
      const row = insertInto(
        'gifts',
        {
          id: randomUUID(),
          supporter_id: c.supporter.value('id'),
          stripe_customer_id: f.stripeCustomerId,
          frequency: f.frequency,
          amount: f.amount,
          currency: f.currency.toLowerCase(),
          payment_state: f.paymentState,
          [f.key.column]: f.key.value,
          stripe_payment_intent_id: sql`coalesce(${f.stripePaymentIntentId}, ${adjustment('stripe_payment_intent_id')})`,
          stripe_subscription_id: f.stripeSubscriptionId,
          stripe_charge_id: adjustment('stripe_charge_id'),
          refunded_amount: sql`coalesce(${adjustment('amount_refunded')}, 0)`,
          dispute_state: sql`coalesce(${adjustment('dispute_state')}, 'none')`,
          campaign: f.campaign,
          paid_at: f.paidAt,
          created_at: f.now,
          updated_at: f.now,
        },
        when,
      );
      return sql`${row} on conflict (${raw(f.key.column)}) do update set ${merged}`;
    },
    ['id'],
  );
}

const merged = assignments('gifts', {
  payment_state: mergedPaymentState,
  paid_at: sql`coalesce(gifts.paid_at, excluded.paid_at)`,
  supporter_id: sql`coalesce(gifts.supporter_id, excluded.supporter_id)`,
  stripe_customer_id: sql`coalesce(gifts.stripe_customer_id, excluded.stripe_customer_id)`,
  stripe_payment_intent_id: sql`coalesce(gifts.stripe_payment_intent_id, excluded.stripe_payment_intent_id)`,
  stripe_subscription_id: sql`coalesce(gifts.stripe_subscription_id, excluded.stripe_subscription_id)`,
  stripe_charge_id: sql`coalesce(gifts.stripe_charge_id, excluded.stripe_charge_id)`,
  refunded_amount: sql`greatest(gifts.refunded_amount, excluded.refunded_amount)`,
  dispute_state: mergedDisputeState('gifts.dispute_state', 'excluded.dispute_state'),
  campaign: sql`coalesce(gifts.campaign, excluded.campaign)`,
  updated_at: sql`excluded.updated_at`,
});

/**
 * Adds the `adjustment` CTE: a recorded refund or dispute for this payment, by its PaymentIntent
 * or, for recurring payments whose PaymentIntent we only learn from the refund, by its invoice. One
 * that arrived for a gift already in the ledger was applied then, so this only matters for a new
 * row or one that learns its PaymentIntent now.
 */
export function withAdjustment<R extends Ctes>(
  statement: EventStatement<R>,
  paymentIntentId: string | null,
  invoiceId: string | null,
) {
  return statement.read(
    'adjustment',
    () => sql`select stripe_payment_intent_id, stripe_charge_id, amount_refunded, dispute_state from payment_adjustments
      where stripe_payment_intent_id = ${paymentIntentId} or stripe_invoice_id = ${invoiceId}
      order by stripe_payment_intent_id = ${paymentIntentId} desc nulls last
      limit 1`,
    ['stripe_payment_intent_id', 'stripe_charge_id', 'amount_refunded', 'dispute_state'],
  );
}

/** none < open < won | lost: a dispute that has closed stays closed. `a` and `b` are column references. */
export function mergedDisputeState(a: string, b: string): Fragment {
  return raw(`case
    when ${a} = 'lost' or ${b} = 'lost' then 'lost'
    when ${a} = 'won' or ${b} = 'won' then 'won'
    when ${a} = 'open' or ${b} = 'open' then 'open'
    else 'none' end`);
}

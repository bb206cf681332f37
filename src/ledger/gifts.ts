import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database, DisputeState, Frequency, PaymentState } from '../../db/schema.js';
import { bumpGiftDates } from './supporters.js';

export interface GiftFacts {
  /** The Stripe object the payment is keyed by: the Checkout Session (one-off) or the Invoice (recurring). */
  key: { column: 'stripe_checkout_session_id' | 'stripe_invoice_id'; value: string };
  frequency: Frequency;
  amount: number;
  currency: string;
  paymentState: PaymentState;
  paidAt: Date | null;
  supporterId: string | null;
  stripeCustomerId: string | null;
  stripePaymentIntentId: string | null;
  stripeSubscriptionId: string | null;
  campaign: string | null;
  now: Date;
}

// pending < failed < succeeded: a later "pending" never undoes a payment that went through.
const mergedPaymentState = sql<PaymentState>`case
  when excluded.payment_state = 'succeeded' or gifts.payment_state = 'succeeded' then 'succeeded'
  when excluded.payment_state = 'failed' or gifts.payment_state = 'failed' then 'failed'
  else 'pending' end`;

/**
 * Records one payment in the ledger, or merges what this event knows into the row another event
 * made: facts only accumulate, so any order of the same events gives the same row.
 */
export async function upsertGift(trx: Kysely<Database>, f: GiftFacts): Promise<string> {
  const gift = await trx
    .insertInto('gifts')
    .values({
      id: randomUUID(),
      supporter_id: f.supporterId,
      stripe_customer_id: f.stripeCustomerId,
      frequency: f.frequency,
      amount: f.amount,
      currency: f.currency.toLowerCase(),
      payment_state: f.paymentState,
      [f.key.column]: f.key.value,
      stripe_payment_intent_id: f.stripePaymentIntentId,
      stripe_subscription_id: f.stripeSubscriptionId,
      campaign: f.campaign,
      paid_at: f.paidAt,
      created_at: f.now,
      updated_at: f.now,
    })
    .onConflict((oc) =>
      oc.column(f.key.column).doUpdateSet({
        payment_state: mergedPaymentState,
        paid_at: sql`coalesce(gifts.paid_at, excluded.paid_at)`,
        supporter_id: sql`coalesce(gifts.supporter_id, excluded.supporter_id)`,
        stripe_customer_id: sql`coalesce(gifts.stripe_customer_id, excluded.stripe_customer_id)`,
        stripe_payment_intent_id: sql`coalesce(gifts.stripe_payment_intent_id, excluded.stripe_payment_intent_id)`,
        stripe_subscription_id: sql`coalesce(gifts.stripe_subscription_id, excluded.stripe_subscription_id)`,
        campaign: sql`coalesce(gifts.campaign, excluded.campaign)`,
        updated_at: sql`excluded.updated_at`,
      }),
    )
    .returning(['id', 'supporter_id', 'payment_state', 'paid_at'])
    .executeTakeFirstOrThrow();

  // A refund or dispute may have arrived before the payment itself.
  await applyAdjustments(trx, { giftId: gift.id }, f.now);

  if (gift.supporter_id && gift.payment_state === 'succeeded' && gift.paid_at) {
    await bumpGiftDates(trx, gift.supporter_id, gift.paid_at);
  }
  return gift.id;
}

/**
 * Folds recorded refunds and disputes into the matching gifts: by PaymentIntent, or by invoice for
 * recurring payments whose PaymentIntent we only learn from the refund. Returns the gifts touched.
 */
export async function applyAdjustments(
  trx: Kysely<Database>,
  match: { giftId: string } | { paymentIntentId: string },
  now: Date,
): Promise<number> {
  const which =
    'giftId' in match ? sql`g.id = ${match.giftId}` : sql`a.stripe_payment_intent_id = ${match.paymentIntentId}`;
  const result = await sql`update gifts g set
      refunded_amount = greatest(g.refunded_amount, a.amount_refunded),
      dispute_state = ${mergedDisputeState(sql.ref('g.dispute_state'), sql.ref('a.dispute_state'))},
      stripe_charge_id = coalesce(g.stripe_charge_id, a.stripe_charge_id),
      stripe_payment_intent_id = coalesce(g.stripe_payment_intent_id, a.stripe_payment_intent_id),
      updated_at = ${now}
    from payment_adjustments a
    where ${which}
      and (a.stripe_payment_intent_id = g.stripe_payment_intent_id
           or (a.stripe_invoice_id is not null and a.stripe_invoice_id = g.stripe_invoice_id))`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/** none < open < won | lost: a dispute that has closed stays closed. */
export function mergedDisputeState(a: ReturnType<typeof sql.ref>, b: ReturnType<typeof sql.ref>) {
  return sql<DisputeState>`case
    when ${a} = 'lost' or ${b} = 'lost' then 'lost'
    when ${a} = 'won' or ${b} = 'won' then 'won'
    when ${a} = 'open' or ${b} = 'open' then 'open'
    else 'none' end`;
}

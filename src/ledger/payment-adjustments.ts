import { type Kysely, sql } from 'kysely';
import type { Database, DisputeState } from '../../db/schema.js';
import { applyAdjustments, mergedDisputeState } from './gifts.js';

export interface AdjustmentFacts {
  stripePaymentIntentId: string;
  stripeChargeId: string | null;
  /** The invoice this payment paid, when Stripe told us (recurring gifts are keyed by invoice). */
  stripeInvoiceId: string | null;
  /** Cumulative, as Stripe reports it: repeats and reorderings converge by taking the largest. */
  amountRefunded?: number;
  disputeState?: DisputeState;
  now: Date;
}

/**
 * Records a refund or dispute against a PaymentIntent, and applies it to the gift it belongs to
 * if that gift is already in the ledger (otherwise the gift picks it up when it arrives).
 */
export async function recordAdjustment(trx: Kysely<Database>, f: AdjustmentFacts): Promise<number> {
  await trx
    .insertInto('payment_adjustments')
    .values({
      stripe_payment_intent_id: f.stripePaymentIntentId,
      stripe_charge_id: f.stripeChargeId,
      stripe_invoice_id: f.stripeInvoiceId,
      amount_refunded: f.amountRefunded ?? 0,
      dispute_state: f.disputeState ?? 'none',
      updated_at: f.now,
    })
    .onConflict((oc) =>
      oc.column('stripe_payment_intent_id').doUpdateSet({
        amount_refunded: sql`greatest(payment_adjustments.amount_refunded, excluded.amount_refunded)`,
        dispute_state: mergedDisputeState(
          sql.ref('payment_adjustments.dispute_state'),
          sql.ref('excluded.dispute_state'),
        ),
        stripe_charge_id: sql`coalesce(payment_adjustments.stripe_charge_id, excluded.stripe_charge_id)`,
        stripe_invoice_id: sql`coalesce(payment_adjustments.stripe_invoice_id, excluded.stripe_invoice_id)`,
        updated_at: sql`excluded.updated_at`,
      }),
    )
    .execute();

  return applyAdjustments(trx, { paymentIntentId: f.stripePaymentIntentId }, f.now);
}

/** True when a gift with this PaymentIntent is in the ledger (so no lookup at Stripe is needed). */
export async function giftExistsForPaymentIntent(db: Kysely<Database>, paymentIntentId: string): Promise<boolean> {
  const row = await db
    .selectFrom('gifts')
    .select('id')
    .where('stripe_payment_intent_id', '=', paymentIntentId)
    .executeTakeFirst();
  return row !== undefined;
}

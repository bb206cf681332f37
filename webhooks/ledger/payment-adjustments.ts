import type { Kysely } from 'kysely';
import type { Database, DisputeState } from '../../db/schema.js';
import { assignments, insertInto, sql } from '../../db/sql-fragment.js';
import type { Ctes, EventStatement } from '../event-statement.js';
import { mergedDisputeState } from './gifts.js';

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
 * Adds `recorded`, a refund or dispute recorded against a PaymentIntent, and `applied`, the merged
 * record applied to the gift it belongs to if that gift is already in the ledger (otherwise the
 * gift picks it up when it arrives, see withAdjustment in ./gifts.ts).
 */
export function withAdjustmentRecorded<R extends Ctes>(statement: EventStatement<R>, f: AdjustmentFacts) {
  const merged = assignments('payment_adjustments', {
    amount_refunded: sql`greatest(payment_adjustments.amount_refunded, excluded.amount_refunded)`,
    dispute_state: mergedDisputeState('payment_adjustments.dispute_state', 'excluded.dispute_state'),
    stripe_charge_id: sql`coalesce(payment_adjustments.stripe_charge_id, excluded.stripe_charge_id)`,
    stripe_invoice_id: sql`coalesce(payment_adjustments.stripe_invoice_id, excluded.stripe_invoice_id)`,
    updated_at: sql`excluded.updated_at`,
  });
  return statement
    .write(
      'recorded',
      (_, when) => {
        const row = insertInto(
          'payment_adjustments',
          {
            stripe_payment_intent_id: f.stripePaymentIntentId,
            stripe_charge_id: f.stripeChargeId,
            stripe_invoice_id: f.stripeInvoiceId,
            amount_refunded: f.amountRefunded ?? 0,
            dispute_state: f.disputeState ?? 'none',
            updated_at: f.now,
          },
          when,
        );
        return sql`${row} on conflict (stripe_payment_intent_id) do update set ${merged}`;
      },
      ['stripe_payment_intent_id', 'stripe_charge_id', 'stripe_invoice_id', 'amount_refunded', 'dispute_state'],
    )
    .write(
      'applied',
      // Only rows `recorded` gave, which it gives only when the claim went through.
      (c) => sql`update gifts g set
          refunded_amount = greatest(g.refunded_amount, a.amount_refunded),
          dispute_state = ${mergedDisputeState('g.dispute_state', 'a.dispute_state')},
          stripe_charge_id = coalesce(g.stripe_charge_id, a.stripe_charge_id),
          stripe_payment_intent_id = coalesce(g.stripe_payment_intent_id, a.stripe_payment_intent_id),
          updated_at = ${f.now}
        from ${c.recorded.relation} a
        where a.stripe_payment_intent_id = g.stripe_payment_intent_id
          or (a.stripe_invoice_id is not null and a.stripe_invoice_id = g.stripe_invoice_id)`,
    );
}

/**
 * Whether the ledger holds a row with this Stripe id: a gift by its PaymentIntent or invoice, or a
 * recurring donation by its subscription (so no lookup at Stripe is needed for it).
 */
export async function ledgerHolds(
  db: Kysely<Database>,
  held:
    | { table: 'gifts'; column: 'stripe_payment_intent_id' | 'stripe_invoice_id'; value: string }
    | { table: 'recurring_donations'; column: 'stripe_subscription_id'; value: string },
): Promise<boolean> {
  const row = await db.selectFrom(held.table).select('id').where(held.column, '=', held.value).executeTakeFirst();
  return row !== undefined;
}

import type { Hono } from 'hono';
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { AppEnv } from '../../src/app-env.js';
import type { History } from './histories.js';
import { deliver, type StripeEvent } from './stripe-events.js';
import type { TestDatabase } from './test-db.js';

/**
 * The business content of the ledger, without our generated ids and bookkeeping times, so two
 * databases that received the same events in different orders can be compared for equality.
 */
export async function ledgerSnapshot(database: TestDatabase) {
  const { db } = database;
  const supporters = await db
    .selectFrom('supporters')
    .select(['email', 'name', 'stripe_customer_ids'])
    // As the supporters export computes them: over the supporter's payments that went through.
    .select(
      sql<Date | null>`(select min(paid_at) from gifts where supporter_id = supporters.id and payment_state = 'succeeded')`.as(
        'first_gift_at',
      ),
    )
    .select(
      sql<Date | null>`(select max(paid_at) from gifts where supporter_id = supporters.id and payment_state = 'succeeded')`.as(
        'last_gift_at',
      ),
    )
    .orderBy('email')
    .execute();
  const gifts = await db
    .selectFrom('gifts')
    .leftJoin('supporters', 'supporters.id', 'gifts.supporter_id')
    .select([
      'supporters.email',
      'gifts.frequency',
      'gifts.amount',
      'gifts.currency',
      'gifts.status',
      'gifts.refunded_amount',
      'gifts.net_amount',
      'gifts.dispute_state',
      'gifts.stripe_checkout_session_id',
      'gifts.stripe_payment_intent_id',
      'gifts.stripe_invoice_id',
      'gifts.stripe_charge_id',
      'gifts.stripe_subscription_id',
      'gifts.campaign',
      'gifts.paid_at',
    ])
    .orderBy('gifts.stripe_checkout_session_id')
    .orderBy('gifts.stripe_invoice_id')
    .execute();
  const recurring = await db
    .selectFrom('recurring_donations')
    .leftJoin('supporters', 'supporters.id', 'recurring_donations.supporter_id')
    .select([
      'supporters.email',
      'recurring_donations.stripe_subscription_id',
      'recurring_donations.amount',
      'recurring_donations.currency',
      'recurring_donations.interval',
      'recurring_donations.status',
      'recurring_donations.started_at',
      'recurring_donations.canceled_at',
      'recurring_donations.cancel_at_period_end',
      'recurring_donations.current_period_end',
      'recurring_donations.last_payment_at',
      'recurring_donations.failed_payment_attempts',
      'recurring_donations.campaign',
    ])
    .orderBy('recurring_donations.stripe_subscription_id')
    .execute();
  const totals = await db
    .selectFrom('gifts')
    .select(['currency', (eb) => eb.fn.sum<number>('net_amount').as('net')])
    .groupBy('currency')
    .orderBy('currency')
    .execute();
  return { supporters, gifts, recurring, totals: totals.map((t) => ({ currency: t.currency, net: Number(t.net) })) };
}

export async function deliverAll(app: Hono<AppEnv>, events: StripeEvent[], timestamp: number) {
  for (const e of events) {
    const res = await deliver(app, e, { timestamp });
    expect(res.status, `${e.type} ${e.id}: ${await res.clone().text()}`).toBe(200);
  }
}

/** The canonical order: as Stripe created them. */
export const inOrder = (histories: History[]) =>
  histories.flatMap((h) => h.events).sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));

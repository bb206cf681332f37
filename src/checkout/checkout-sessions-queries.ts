import { type Kysely, sql } from 'kysely';
import type { Database, NewCheckoutSession } from '../../db/schema.js';

export async function insertCheckoutSession(db: Kysely<Database>, row: NewCheckoutSession): Promise<void> {
  // A replayed Stripe create (same idempotency key) brings back a session we may already hold.
  await db
    .insertInto('checkout_sessions')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/**
 * complete is final; completed_at keeps the earliest completion we were told of. Returns the reader
 * id the checkout was started with, if it is one of ours.
 */
export async function markCheckoutComplete(db: Kysely<Database>, stripeSessionId: string, at: Date, now: Date) {
  const row = await db
    .updateTable('checkout_sessions')
    .set({
      status: 'complete',
      completed_at: sql`least(coalesce(completed_at, ${at}), ${at})`,
      updated_at: now,
    })
    .where('stripe_session_id', '=', stripeSessionId)
    .returning('reader_id')
    .executeTakeFirst();
  return { readerId: row?.reader_id ?? null };
}

/** An expiry never overrides a completion. */
export async function markCheckoutExpired(db: Kysely<Database>, stripeSessionId: string, at: Date, now: Date) {
  await db
    .updateTable('checkout_sessions')
    .set({ status: 'expired', expired_at: at, updated_at: now })
    .where('stripe_session_id', '=', stripeSessionId)
    .where('status', '=', 'open')
    .execute();
}

export async function findCheckoutByStripeId(db: Kysely<Database>, stripeSessionId: string) {
  return db
    .selectFrom('checkout_sessions')
    .selectAll()
    .where('stripe_session_id', '=', stripeSessionId)
    .executeTakeFirst();
}

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

/** The session completed (first completion wins); returns its reader id. A query for the event's statement. */
export function markCheckoutCompleteQuery(db: Kysely<Database>, stripeSessionId: string, at: Date, now: Date) {
  return db
    .updateTable('checkout_sessions')
    .set({
      status: 'complete',
      completed_at: sql`least(coalesce(completed_at, ${at}), ${at})`,
      updated_at: now,
    })
    .where('stripe_session_id', '=', stripeSessionId)
    .returning('reader_id');
}

/** An expiry never overrides a completion. A query for the event's statement. */
export function markCheckoutExpiredQuery(db: Kysely<Database>, stripeSessionId: string, at: Date, now: Date) {
  return db
    .updateTable('checkout_sessions')
    .set({ status: 'expired', expired_at: at, updated_at: now })
    .where('stripe_session_id', '=', stripeSessionId)
    .where('status', '=', 'open');
}

export async function findCheckoutByStripeId(db: Kysely<Database>, stripeSessionId: string) {
  return db
    .selectFrom('checkout_sessions')
    .selectAll()
    .where('stripe_session_id', '=', stripeSessionId)
    .executeTakeFirst();
}

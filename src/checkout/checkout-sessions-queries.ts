import type { Kysely } from 'kysely';
import type { Database, NewCheckoutSession } from '../../db/schema.js';
import { type Fragment, insertInto, PREPARED, run, sql } from '../../db/sql-fragment.js';

export async function insertCheckoutSession(db: Kysely<Database>, row: NewCheckoutSession): Promise<void> {
  // A replayed Stripe create (same idempotency key) brings back a session we may already hold.
  await run(db, sql`${PREPARED} ${insertInto('checkout_sessions', row)} on conflict do nothing`);
}

/** The session completed (first completion wins); returns its reader id. A query for the event's statement. */
export function markCheckoutCompleteQuery(stripeSessionId: string, at: Date, now: Date): Fragment {
  return sql`update checkout_sessions
    set status = 'complete', completed_at = least(coalesce(completed_at, ${at}), ${at}), updated_at = ${now}
    where stripe_session_id = ${stripeSessionId} returning reader_id`;
}

/** An expiry never overrides a completion. A query for the event's statement. */
export function markCheckoutExpiredQuery(stripeSessionId: string, at: Date, now: Date): Fragment {
  return sql`update checkout_sessions set status = 'expired', expired_at = ${at}, updated_at = ${now}
    where stripe_session_id = ${stripeSessionId} and status = 'open'`;
}

export async function findCheckoutByStripeId(db: Kysely<Database>, stripeSessionId: string) {
  return db
    .selectFrom('checkout_sessions')
    .selectAll()
    .where('stripe_session_id', '=', stripeSessionId)
    .executeTakeFirst();
}

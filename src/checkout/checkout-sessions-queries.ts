import type { Kysely } from 'kysely';
import type { Database, NewCheckoutSession } from '../../db/schema.js';
import { insertInto, PREPARED, run, sql } from '../../db/sql-fragment.js';

export async function insertCheckoutSession(db: Kysely<Database>, row: NewCheckoutSession): Promise<void> {
  // A replayed Stripe create (same idempotency key) brings back a session we may already hold.
  await run(db, sql`${PREPARED} ${insertInto('checkout_sessions', row)} on conflict do nothing`);
}

export async function findCheckoutByStripeId(db: Kysely<Database>, stripeSessionId: string) {
  return db
    .selectFrom('checkout_sessions')
    .selectAll()
    .where('stripe_session_id', '=', stripeSessionId)
    .executeTakeFirst();
}

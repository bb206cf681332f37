import type { Kysely } from 'kysely';
import type { Database, NewCheckoutSession } from '../../db/schema.js';

export async function insertCheckoutSession(db: Kysely<Database>, row: NewCheckoutSession): Promise<void> {
  // A replayed Stripe create (same idempotency key) brings back a session we may already hold.
  await db
    .insertInto('checkout_sessions')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .execute();
}

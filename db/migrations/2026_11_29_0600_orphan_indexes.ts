import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Orphans (gifts and donations that arrived before any e-mail named their supporter) are found
 * through partial indexes that hold only them. Linking runs with most events and almost always
 * finds none: one probe into a nearly empty index. With only a customer index and a supporter
 * index, a prepared plan could AND two bitmap scans, one over every gift without a supporter. The
 * customer indexes served only that lookup, so they go: a gift or donation written no longer
 * updates them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index gifts_orphans on gifts (stripe_customer_id) where supporter_id is null`.execute(db);
  await sql`create index recurring_donations_orphans on recurring_donations (stripe_customer_id)
    where supporter_id is null`.execute(db);
  await sql`drop index gifts_customer`.execute(db);
  await sql`drop index recurring_donations_customer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index recurring_donations_customer on recurring_donations (stripe_customer_id)`.execute(db);
  await sql`create index gifts_customer on gifts (stripe_customer_id)`.execute(db);
  await sql`drop index recurring_donations_orphans`.execute(db);
  await sql`drop index gifts_orphans`.execute(db);
}

import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Which supporter a Stripe customer belongs to, as rows with a primary key. Events that carry no
 * e-mail (subscription updates) find their supporter by customer; through the GIN index on
 * supporters.stripe_customer_ids the planner chose to scan every supporter instead, a cost that
 * grew with the list. The array stays: it is what the supporters export shows.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('supporter_customers')
    .addColumn('stripe_customer_id', 'text', (c) => c.notNull())
    .addColumn('supporter_id', 'uuid', (c) => c.notNull().references('supporters.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('supporter_customers_pkey', ['stripe_customer_id', 'supporter_id'])
    .execute();
  await sql`insert into supporter_customers (stripe_customer_id, supporter_id)
    select distinct unnest(stripe_customer_ids), id from supporters`.execute(db);
  await sql`drop index supporters_stripe_customer_ids`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index supporters_stripe_customer_ids on supporters using gin (stripe_customer_ids)`.execute(db);
  await db.schema.dropTable('supporter_customers').execute();
}

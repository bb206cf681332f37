import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  // Every verified Stripe event, stored before we answer 2xx.
  await db.schema
    .createTable('stripe_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('api_version', 'text')
    .addColumn('created', 'timestamptz', (c) => c.notNull())
    .addColumn('livemode', 'boolean', (c) => c.notNull())
    // The body exactly as Stripe sent it (text, not jsonb: jsonb refuses \u0000, and we never query into it).
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('processed_at', 'timestamptz')
    .addColumn('outcome', 'text', (c) =>
      c.notNull().check(sql`outcome in ('pending', 'processed', 'ignored', 'failed')`),
    )
    .addColumn('error', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('stripe_events_failed').on('stripe_events').columns(['outcome', 'received_at']).execute();

  await db.schema
    .createTable('supporters')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // Always stored lower-cased, so unique means unique case-insensitively.
    .addColumn('email', 'text', (c) => c.notNull().unique().check(sql`email = lower(email)`))
    .addColumn('name', 'text')
    .addColumn('name_version', 'text')
    .addColumn('stripe_customer_ids', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('first_gift_at', 'timestamptz')
    .addColumn('last_gift_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index supporters_stripe_customer_ids on supporters using gin (stripe_customer_ids)`.execute(db);

  await db.schema
    .createTable('recurring_donations')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('supporter_id', 'uuid', (c) => c.references('supporters.id'))
    // Version of the event whose e-mail named the supporter: a donor who changes e-mail moves with the newest.
    .addColumn('supporter_version', 'text')
    .addColumn('stripe_customer_id', 'text')
    .addColumn('stripe_subscription_id', 'text', (c) => c.notNull().unique())
    .addColumn('checkout_session_id', 'uuid')
    .addColumn('amount', 'integer', (c) => c.check(sql`amount > 0`))
    .addColumn('currency', 'text')
    .addColumn('interval', 'text', (c) => c.check(sql`interval in ('month', 'year')`))
    .addColumn('status', 'text', (c) => c.notNull())
    // "<event.created, zero-padded>:<rank>:<event id>": compared as text, the newest event wins and
    // ties break the same way whatever order the events arrived in.
    .addColumn('status_version', 'text')
    .addColumn('snapshot_version', 'text')
    .addColumn('invoice_version', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('canceled_at', 'timestamptz')
    .addColumn('cancel_at_period_end', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('current_period_end', 'timestamptz')
    .addColumn('last_payment_at', 'timestamptz')
    .addColumn('failed_payment_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('campaign', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('recurring_donations_supporter')
    .on('recurring_donations')
    .column('supporter_id')
    .execute();
  await db.schema
    .createIndex('recurring_donations_customer')
    .on('recurring_donations')
    .column('stripe_customer_id')
    .execute();

  // The ledger: one row per payment. Its status and the money it counts are derived, in the row,
  // from monotone facts (payment state, cumulative refund, dispute state), so events applied in any
  // order reach the same row.
  await db.schema
    .createTable('gifts')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('supporter_id', 'uuid', (c) => c.references('supporters.id'))
    .addColumn('stripe_customer_id', 'text')
    .addColumn('frequency', 'text', (c) => c.notNull().check(sql`frequency in ('once', 'monthly', 'annual')`))
    .addColumn('amount', 'integer', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[a-z]{3}$'`))
    .addColumn('payment_state', 'text', (c) =>
      c.notNull().check(sql`payment_state in ('pending', 'succeeded', 'failed')`),
    )
    .addColumn('refunded_amount', 'integer', (c) => c.notNull().defaultTo(0).check(sql`refunded_amount >= 0`))
    .addColumn('dispute_state', 'text', (c) =>
      c.notNull().defaultTo('none').check(sql`dispute_state in ('none', 'open', 'won', 'lost')`),
    )
    .addColumn('status', 'text', (c) =>
      c
        .generatedAlwaysAs(sql`case
        when payment_state = 'pending' then 'pending'
        when payment_state = 'failed' then 'failed'
        when dispute_state = 'lost' then 'dispute_lost'
        when dispute_state = 'open' then 'disputed'
        when refunded_amount >= amount then 'refunded'
        when refunded_amount > 0 then 'partially_refunded'
        else 'succeeded' end`)
        .stored(),
    )
    .addColumn('net_amount', 'integer', (c) =>
      c
        .generatedAlwaysAs(sql`case
        when payment_state <> 'succeeded' or dispute_state = 'lost' then 0
        else amount - least(refunded_amount, amount) end`)
        .stored(),
    )
    .addColumn('stripe_checkout_session_id', 'text', (c) => c.unique())
    .addColumn('stripe_payment_intent_id', 'text', (c) => c.unique())
    .addColumn('stripe_invoice_id', 'text', (c) => c.unique())
    .addColumn('stripe_charge_id', 'text', (c) => c.unique())
    .addColumn('stripe_subscription_id', 'text')
    .addColumn('campaign', 'text')
    .addColumn('paid_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gifts_supporter').on('gifts').column('supporter_id').execute();
  await db.schema.createIndex('gifts_customer').on('gifts').column('stripe_customer_id').execute();
  await db.schema.createIndex('gifts_paid_at').on('gifts').column('paid_at').execute();
  await db.schema.createIndex('gifts_subscription').on('gifts').column('stripe_subscription_id').execute();

  // Refunds and disputes as Stripe reports them per PaymentIntent; kept even when the gift they
  // belong to has not arrived yet, and merged into it whichever comes first.
  await db.schema
    .createTable('payment_adjustments')
    .addColumn('stripe_payment_intent_id', 'text', (c) => c.primaryKey())
    .addColumn('stripe_charge_id', 'text')
    .addColumn('stripe_invoice_id', 'text')
    .addColumn('amount_refunded', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('dispute_state', 'text', (c) =>
      c.notNull().defaultTo('none').check(sql`dispute_state in ('none', 'open', 'won', 'lost')`),
    )
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('payment_adjustments_invoice')
    .on('payment_adjustments')
    .column('stripe_invoice_id')
    .execute();

  await db.schema.alterTable('checkout_sessions').addColumn('completed_at', 'timestamptz').execute();
  await db.schema.alterTable('checkout_sessions').addColumn('expired_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('checkout_sessions').dropColumn('expired_at').execute();
  await db.schema.alterTable('checkout_sessions').dropColumn('completed_at').execute();
  await db.schema.dropTable('payment_adjustments').execute();
  await db.schema.dropTable('gifts').execute();
  await db.schema.dropTable('recurring_donations').execute();
  await db.schema.dropTable('supporters').execute();
  await db.schema.dropTable('stripe_events').execute();
}

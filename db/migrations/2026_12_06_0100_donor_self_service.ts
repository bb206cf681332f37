import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Donors manage their own gifts (docs/self-service.md):
 * - `manage_links` is the outbox of links e-mailed to donors: asked for at /manage, sent after a
 *   failed payment, or with a yearly statement. A row names its supporter, never an address: the
 *   e-mail is read from `supporters` when the mail goes out, so an erasure in between sends nothing.
 *   The token exists only in the e-mail; the row keeps its SHA-256 until it expires.
 * - A recurring donation carries Stripe's pause (`pause_collection`) and the reason a donor gave
 *   when cancelling, from snapshots like the other fields.
 * - `donor_actions` counts what donors did (cancel, resume, pause, new amount) for the finance
 *   summary: no person, no comment, only the donation and the numbers.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('manage_links')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('supporter_id', 'uuid', (c) => c.notNull().references('supporters.id'))
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose in ('request', 'payment_failed', 'statement')`))
    .addColumn('stripe_invoice_id', 'text', (c) => c.unique())
    .addColumn('statement_year', 'integer')
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'sending', 'sent', 'failed', 'skipped')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('token_hash', 'text', (c) => c.unique())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // One unsent request per supporter (asking twice sends one mail), one statement per year.
  await sql`create unique index manage_links_one_pending_request on manage_links (supporter_id)
    where purpose = 'request' and status in ('pending', 'sending')`.execute(db);
  await sql`create unique index manage_links_one_statement on manage_links (supporter_id, statement_year)
    where purpose = 'statement'`.execute(db);
  await sql`create index manage_links_due on manage_links (created_at) where status = 'pending'`.execute(db);
  await sql`create index manage_links_expiry on manage_links (expires_at) where token_hash is not null`.execute(db);
  await sql`create index manage_links_supporter on manage_links (supporter_id)`.execute(db);

  await sql`alter table recurring_donations
    add column paused boolean not null default false,
    add column paused_until timestamptz,
    add column cancel_reason text`.execute(db);

  await db.schema
    .createTable('donor_actions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('recurring_donation_id', 'uuid', (c) => c.notNull().references('recurring_donations.id'))
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('cancel', 'resume', 'pause', 'amount')`))
    .addColumn('reason', 'text')
    .addColumn('pause_months', 'integer')
    .addColumn('old_amount', 'integer')
    .addColumn('new_amount', 'integer')
    .addColumn('currency', 'text')
    // Paused or lowered from the cancel page's offer, instead of cancelling.
    .addColumn('instead_of_cancel', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index donor_actions_created on donor_actions (created_at)`.execute(db);
  await sql`create index donor_actions_donation on donor_actions (recurring_donation_id)`.execute(db);
}

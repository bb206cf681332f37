import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('reminders')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // 'email': one reminder e-mail at remind_at; 'deferral': the donation box hides the ask until then.
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('email', 'deferral')`))
    // Lower-cased; erased (set null) once the reminder is closed and the retention period has passed.
    .addColumn('email', 'text', (c) => c.check(sql`email = lower(email)`))
    .addColumn('reader_id', 'text')
    .addColumn('remind_at', 'timestamptz', (c) => c.notNull())
    .addColumn('frequency', 'text', (c) => c.check(sql`frequency in ('once', 'monthly', 'annual')`))
    .addColumn('amount', 'integer', (c) => c.check(sql`amount > 0`))
    .addColumn('currency', 'text', (c) => c.check(sql`currency ~ '^[a-z]{3}$'`))
    .addColumn('campaign', 'text')
    .addColumn('consent_version', 'text')
    .addColumn('consented_at', 'timestamptz')
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'sending', 'sent', 'failed', 'cancelled', 'converted')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('cancel_token_hash', 'text', (c) => c.unique())
    .addColumn('sent_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('converted_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('email_erased_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint(
      'reminders_email_kind',
      sql`kind = 'deferral' or email is not null or email_erased_at is not null`,
    )
    .execute();
  // One pending reminder per e-mail, and one pending deferral per reader id: signing up again moves the date.
  await sql`create unique index reminders_pending_email on reminders (email) where status = 'pending' and kind = 'email'`.execute(
    db,
  );
  await sql`create unique index reminders_pending_deferral on reminders (reader_id) where status = 'pending' and kind = 'deferral'`.execute(
    db,
  );
  await sql`create index reminders_reader on reminders (reader_id) where reader_id is not null`.execute(db);
  await sql`create index reminders_due on reminders (remind_at) where status = 'pending' and kind = 'email'`.execute(
    db,
  );
  await sql`create index reminders_closed on reminders (closed_at) where email is not null and closed_at is not null`.execute(
    db,
  );

  // Fixed-window counters shared by every instance (rate limits must not live in process memory).
  await db.schema
    .createTable('rate_limit_counters')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_counters_pkey', ['bucket', 'window_start'])
    .execute();
  await db.schema.createIndex('rate_limit_counters_window').on('rate_limit_counters').column('window_start').execute();

  await db.schema.alterTable('checkout_sessions').addColumn('reader_id', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('checkout_sessions').dropColumn('reader_id').execute();
  await db.schema.dropTable('rate_limit_counters').execute();
  await db.schema.dropTable('reminders').execute();
}

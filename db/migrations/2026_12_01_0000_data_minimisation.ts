import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Keep only what is needed (README, Privacy):
 * - A stored event keeps its body only until it is processed: a failed one needs it for replay,
 *   a processed or ignored one keeps the ids of the Stripe objects it touched instead. Events
 *   processed before this version lose their bodies to the sweep, a batch at a time.
 * - A supporter can be erased: the row stays for the ledger, without e-mail or name.
 * - Rate-limit counters are keyed by a keyed hash (the key lives in server_secrets unless
 *   RATE_LIMIT_SECRET is set) and carry the end of their window, so they can go as soon as it ends.
 *   The old counters, keyed by plain IP address, are dropped: they were for windows of minutes.
 * - Idempotency records are fingerprinted with the same keyed hash; the old ones, fingerprinted
 *   without a key, go (a retry across the upgrade at worst opens a second checkout page).
 * - A reminder keeps its address only while pending: closed ones lose it now.
 * - An audit row keeps the staff client's address for AUDIT_IP_RETENTION_DAYS, and a checkout or
 *   reminder the browser's reader id for READER_ID_RETENTION_DAYS after it is done with.
 *
 * Timed by test/bench/migration-timing.ts (README, Upgrades and migrations).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table stripe_events alter column payload drop not null`.execute(db);
  await sql`alter table stripe_events add column object_ids text[] not null default '{}'`.execute(db);
  // Bodies, and for the sweep the bodies of events processed before this version, are found here.
  // Reading them for their object ids costs about 0.2 ms each: the sweep does it in short batches
  // (src/privacy/retention.ts) rather than this migration holding stripe_events locked meanwhile.
  await sql`create index stripe_events_with_body on stripe_events (received_at) where payload is not null`.execute(db);

  await sql`alter table supporters alter column email drop not null`.execute(db);
  await sql`alter table supporters add column erased_at timestamptz`.execute(db);
  // Kept for ERASURE_GUARD_DAYS: a keyed hash of the erased e-mail, so that an event Stripe created
  // before the erasure (a retry, a late delivery) joins the erased row instead of recreating it.
  await sql`alter table supporters add column erased_email_hash text`.execute(db);
  await sql`create index supporters_erased_email on supporters (erased_email_hash) where erased_email_hash is not null`.execute(
    db,
  );
  await sql`alter table supporters add constraint supporters_erased
    check (erased_at is null or (email is null and name is null))`.execute(db);

  await sql`truncate rate_limit_counters`.execute(db);
  // The default only serves an instance of the version before, still running during the upgrade.
  await sql`alter table rate_limit_counters add column expires_at timestamptz not null
    default (now() + interval '1 day')`.execute(db);
  await sql`drop index rate_limit_counters_window`.execute(db);
  await sql`create index rate_limit_counters_expiry on rate_limit_counters (expires_at)`.execute(db);

  await sql`delete from idempotency_keys`.execute(db);

  await db.schema
    .createTable('server_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // A reminder keeps its address only while pending.
  const now = new Date();
  await sql`update reminders set email = null, email_erased_at = ${now}, updated_at = ${now}
    where email is not null and status in ('sent', 'failed', 'cancelled', 'converted')`.execute(db);

  // Staff addresses in the audit log are cleared after AUDIT_IP_RETENTION_DAYS; this finds those left.
  await sql`alter table audit_log alter column client_ip drop not null`.execute(db);
  await sql`create index audit_log_with_address on audit_log (created_at) where client_ip is not null`.execute(db);

  // A browser's reader id goes READER_ID_RETENTION_DAYS after its checkout or reminder is done with.
  await sql`create index checkout_sessions_with_reader on checkout_sessions (updated_at) where reader_id is not null`.execute(
    db,
  );
  await sql`create index reminders_closed_with_reader on reminders (closed_at) where reader_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index stripe_events_with_body`.execute(db);
  await sql`drop index reminders_closed_with_reader`.execute(db);
  await sql`drop index checkout_sessions_with_reader`.execute(db);
  await sql`drop index audit_log_with_address`.execute(db);
  await sql`update audit_log set client_ip = '' where client_ip is null`.execute(db);
  await sql`alter table audit_log alter column client_ip set not null`.execute(db);
  await db.schema.dropTable('server_secrets').execute();
  await sql`drop index rate_limit_counters_expiry`.execute(db);
  await sql`alter table rate_limit_counters drop column expires_at`.execute(db);
  await sql`create index rate_limit_counters_window on rate_limit_counters (window_start)`.execute(db);
  await sql`alter table supporters drop constraint supporters_erased`.execute(db);
  await sql`drop index supporters_erased_email`.execute(db);
  await sql`alter table supporters drop column erased_email_hash`.execute(db);
  await sql`alter table supporters drop column erased_at`.execute(db);
  // Erased supporters cannot get their e-mail back; a placeholder keeps the column's constraint.
  await sql`update supporters set email = 'erased-' || id || '@invalid' where email is null`.execute(db);
  await sql`alter table supporters alter column email set not null`.execute(db);
  await sql`alter table stripe_events drop column object_ids`.execute(db);
  await sql`update stripe_events set payload = '' where payload is null`.execute(db);
  await sql`alter table stripe_events alter column payload set not null`.execute(db);
}

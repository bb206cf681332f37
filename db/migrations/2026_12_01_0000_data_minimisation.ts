import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Keep only what is needed (README, Privacy):
 * - A stored event keeps its body only until it is processed: a failed one needs it for replay,
 *   a processed or ignored one keeps the ids of the Stripe objects it touched instead.
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
 * Measured on PostgreSQL 15 (2 cores): 1,000,000 processed events of about 2.6 KB each take about
 * 80 s, most of it reading the bodies for their object ids; every other table is untouched or
 * emptied. The dropped bodies stay in dead rows until VACUUM runs (see README, Upgrades).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table stripe_events alter column payload drop not null`.execute(db);
  await sql`alter table stripe_events add column object_ids text[] not null default '{}'`.execute(db);
  // The ids of data.object and of what it references (a reference is an id, or an expanded object
  // with one). Bodies without any \u escape are read as jsonb, each parsed once (materialized); the
  // others (jsonb refuses an escaped NUL or a lone surrogate) are read in JavaScript, a batch at a time.
  const ref = (path: string) => `coalesce(o #>> '{${path},id}', o #>> '{${path}}')`;
  const candidates = [`o ->> 'id'`, ...REFERENCES.map(ref), ref('parent,subscription_details,subscription')];
  await sql`with x as materialized (
      select id, payload::jsonb #> '{data,object}' as o from stripe_events
      where processed_at is not null and payload is not null and strpos(payload, '\\u') = 0)
    update stripe_events e set payload = null, object_ids = array(
      select distinct v from unnest(array[${sql.raw(candidates.join(', '))}]) as v
      where v ~ '^[a-z]+_[A-Za-z0-9_]+$' order by v)
    from x where e.id = x.id`.execute(db);
  for (;;) {
    const { rows } = await sql<{ id: string; payload: string }>`select id, payload from stripe_events
      where processed_at is not null and payload is not null limit 1000`.execute(db);
    if (rows.length === 0) break;
    const batch = JSON.stringify(rows.map((r) => ({ id: r.id, ids: objectIdsOf(r.payload) })));
    await sql`update stripe_events e set payload = null, object_ids = array(select jsonb_array_elements_text(v.ids))
      from jsonb_to_recordset(${batch}::jsonb) as v(id text, ids jsonb) where e.id = v.id`.execute(db);
  }

  await sql`alter table supporters alter column email drop not null`.execute(db);
  await sql`alter table supporters add column erased_at timestamptz`.execute(db);
  await sql`alter table supporters add constraint supporters_erased
    check (erased_at is null or (email is null and name is null))`.execute(db);

  await sql`truncate rate_limit_counters`.execute(db);
  await sql`alter table rate_limit_counters add column expires_at timestamptz not null`.execute(db);
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
  await sql`alter table supporters drop column erased_at`.execute(db);
  // Erased supporters cannot get their e-mail back; a placeholder keeps the column's constraint.
  await sql`update supporters set email = 'erased-' || id || '@invalid' where email is null`.execute(db);
  await sql`alter table supporters alter column email set not null`.execute(db);
  await sql`alter table stripe_events drop column object_ids`.execute(db);
  await sql`update stripe_events set payload = '' where payload is null`.execute(db);
  await sql`alter table stripe_events alter column payload set not null`.execute(db);
}

const REFERENCES = ['customer', 'subscription', 'payment_intent', 'invoice', 'charge'];

function objectIdsOf(payload: string): string[] {
  let object: any;
  try {
    object = JSON.parse(payload)?.data?.object;
  } catch {
    return [];
  }
  if (typeof object !== 'object' || object === null) return [];
  const ref = (v: any) => (typeof v === 'string' ? v : typeof v?.id === 'string' ? v.id : null);
  const ids = [
    ref(object),
    ...REFERENCES.map((k) => ref(object[k])),
    ref(object.parent?.subscription_details?.subscription),
  ];
  return [...new Set(ids.filter((v): v is string => typeof v === 'string' && /^[a-z]+_[A-Za-z0-9_]+$/.test(v)))].sort();
}

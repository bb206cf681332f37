import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Storing an event cost more than it needed to, on every delivery:
 * - the failed-events index held every event, though only failed ones are ever looked up by it;
 * - payloads are compressed with pglz, several times slower than lz4. Where the server was built
 *   without lz4 (the embedded database), the column keeps the default.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index stripe_events_failed`.execute(db);
  await sql`create index stripe_events_failed on stripe_events (received_at) where outcome = 'failed'`.execute(db);
  await sql`do $$ begin
      alter table stripe_events alter column payload set compression lz4;
    exception when feature_not_supported then null;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table stripe_events alter column payload set compression default`.execute(db);
  await sql`drop index stripe_events_failed`.execute(db);
  await sql`create index stripe_events_failed on stripe_events (outcome, received_at)`.execute(db);
}

import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * A repeat delivery no longer stops its statement with an error: every write of an event's
 * statement is conditioned on its claim (webhooks/event-statement.ts), so a repeat writes nothing
 * and raises nothing. The function 2026_11_29_0500 added for it goes; no server-side function is left.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists rd_stop_event_statement(text, text)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create function rd_stop_event_statement(code text, reason text) returns boolean
    language plpgsql as $$
    begin
      raise exception '%', reason using errcode = code;
    end
    $$`.execute(db);
}

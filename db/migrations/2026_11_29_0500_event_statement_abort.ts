import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Lets an event's statement stop itself. On PostgreSQL an event's BEGIN, locks, statement and
 * COMMIT go to the database together (webhooks/event-transaction.ts), so the code cannot look at
 * the statement's result before the COMMIT: when the statement finds the event processed already
 * (a repeat), it raises this error with its own SQLSTATE, and its effect rolls back with it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create function rd_stop_event_statement(code text, reason text) returns boolean
    language plpgsql as $$
    begin
      raise exception '%', reason using errcode = code;
    end
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function rd_stop_event_statement(text, text)`.execute(db);
}

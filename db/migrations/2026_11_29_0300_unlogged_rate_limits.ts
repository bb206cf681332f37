import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Rate-limit counters skip the write-ahead log. A checkout's counter write then commits without
 * waiting for a disk flush: the session's own row is the one write of a checkout that needs one. What is given up:
 * after a database crash the counters start from zero, and a standby does not have them, so a
 * failover also resets them. Both only let a few more attempts through in the current window.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table rate_limit_counters set unlogged`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table rate_limit_counters set logged`.execute(db);
}

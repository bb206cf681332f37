import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * A supporter's first and last gift dates are read from the gifts themselves (the supporters export
 * always did): keeping a copy on the supporter cost a write per payment, and a lock on the supporter
 * row that serialised concurrent gifts of one donor.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('supporters').dropColumn('first_gift_at').dropColumn('last_gift_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('supporters')
    .addColumn('first_gift_at', 'timestamptz')
    .addColumn('last_gift_at', 'timestamptz')
    .execute();
}

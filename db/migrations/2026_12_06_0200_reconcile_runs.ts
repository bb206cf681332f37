import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * One row per reconciliation against Stripe's event list (src/stripe/reconcile.ts): the window it
 * covered and what it found. The scheduled run starts from the last complete one's window, and
 * /admin/summary shows the latest. No personal data: counts and times.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('reconcile_runs')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('dry_run', 'boolean', (c) => c.notNull())
    .addColumn('window_from', 'timestamptz', (c) => c.notNull())
    .addColumn('window_to', 'timestamptz', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('complete', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('seen', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('already_recorded', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('applied', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('reconcile_runs_started').on('reconcile_runs').column('started_at').execute();
}

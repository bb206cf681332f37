import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('staff_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('finance', 'admin')`))
    // SHA-256 of the whole token: the token itself is shown once and never stored.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    // The first characters, to tell tokens apart in lists and the audit log.
    .addColumn('token_hint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await sql`create unique index staff_tokens_active_name on staff_tokens (name) where revoked_at is null`.execute(db);

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('token_id', 'uuid', (c) => c.references('staff_tokens.id'))
    .addColumn('token_name', 'text', (c) => c.notNull())
    .addColumn('endpoint', 'text', (c) => c.notNull())
    .addColumn('filters', 'jsonb', (c) => c.notNull())
    .addColumn('row_count', 'integer')
    // false until a streamed export has sent its last row (a client that hung up leaves it false).
    .addColumn('completed', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('client_ip', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_created_at').on('audit_log').column('created_at').execute();

  // The ledger's own order: when paid, or when recorded for payments not (yet) paid. Exports page
  // through it by (ledger_at, id), so a million rows never sit in memory.
  await db.schema
    .alterTable('gifts')
    .addColumn('ledger_at', 'timestamptz', (c) => c.generatedAlwaysAs(sql`coalesce(paid_at, created_at)`).stored())
    .execute();
  await db.schema.createIndex('gifts_ledger_order').on('gifts').columns(['ledger_at', 'id']).execute();
  await db.schema.createIndex('supporters_created_order').on('supporters').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('reminders_created_order').on('reminders').columns(['created_at', 'id']).execute();
  await db.schema
    .createIndex('checkout_sessions_currency_created')
    .on('checkout_sessions')
    .columns(['currency', 'created_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('checkout_sessions_currency_created').execute();
  await db.schema.dropIndex('reminders_created_order').execute();
  await db.schema.dropIndex('supporters_created_order').execute();
  await db.schema.alterTable('gifts').dropColumn('ledger_at').execute();
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('staff_tokens').execute();
}

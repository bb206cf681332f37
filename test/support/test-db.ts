import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { type DatabaseHandle, openDatabase } from '../../db/connect.js';
import { migrateToLatest } from '../../db/migrate.js';

export interface TestDatabase extends DatabaseHandle {
  /** The PostgreSQL URL of this test's own database. */
  url: string;
  /** Empties every table but the migration bookkeeping. */
  truncate(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, migrated database for one test file on the suite's server (the embedded PostgreSQL, or
 * TEST_DATABASE_URL's), dropped again by close(). `upTo`: migrated only that far.
 */
export async function createTestDatabase(o: { upTo?: string } = {}): Promise<TestDatabase> {
  const name = `rd_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = withDatabase(process.env.TEST_DATABASE_URL!, name);
  const handle: DatabaseHandle = openDatabase({ url, poolSize: 10, connectTimeoutMs: 5000 });
  const drop = () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {});
  await migrateToLatest(handle.db, o.upTo);
  const tables = (await handle.db.introspection.getTables()).map((t) => t.name);
  return {
    ...handle,
    url,
    async truncate() {
      if (tables.length) await sql.raw(`truncate ${tables.map((t) => `"${t}"`).join(', ')}`).execute(handle.db);
    },
    async close() {
      await handle.close();
      await drop();
    },
  };
}

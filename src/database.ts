import { type DatabaseHandle, openDatabase, pingDatabase } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Config } from './config.js';
import { isDatabaseUnavailable } from './http/database-unavailable.js';

type DatabaseConfig = Pick<
  Config,
  | 'DATABASE_URL'
  | 'DATABASE_POOL_SIZE'
  | 'DATABASE_CONNECT_TIMEOUT_MS'
  | 'DATABASE_STARTUP_TIMEOUT_MS'
  | 'DATABASE_QUERY_TIMEOUT_MS'
  | 'DATABASE_STATEMENT_TIMEOUT_MS'
  | 'DATABASE_LOCK_TIMEOUT_MS'
  | 'EXPORT_CONCURRENCY'
  | 'DATA_DIR'
>;

/** host:port/database of a URL, never its password. */
export function describeDatabaseUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

/**
 * PostgreSQL may still be starting (a deploy, a failover): keep trying with backoff for
 * DATABASE_STARTUP_TIMEOUT_MS before giving up with one clear line.
 */
async function waitForPostgres(handle: DatabaseHandle, config: DatabaseConfig): Promise<void> {
  const deadline = Date.now() + config.DATABASE_STARTUP_TIMEOUT_MS;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      await pingDatabase(handle.db);
      return;
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + delay > deadline) {
        const seconds = (config.DATABASE_STARTUP_TIMEOUT_MS / 1000).toFixed(1);
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(
          `could not reach PostgreSQL at ${describeDatabaseUrl(config.DATABASE_URL!)} within ${seconds} s (${reason})`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Opens the configured database (PostgreSQL with DATABASE_URL, else PGlite under DATA_DIR) and migrates it. */
export async function openConfiguredDatabase(config: DatabaseConfig, holder: string): Promise<DatabaseHandle> {
  const handle = await openDatabase(
    config.DATABASE_URL
      ? {
          kind: 'postgres',
          url: config.DATABASE_URL,
          poolSize: config.DATABASE_POOL_SIZE,
          connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
          queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
          statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
          lockTimeoutMs: config.DATABASE_LOCK_TIMEOUT_MS,
          exportConnections: config.EXPORT_CONCURRENCY,
        }
      : { kind: 'pglite', dataDir: config.DATA_DIR, holder },
  );
  try {
    if (handle.kind === 'postgres') await waitForPostgres(handle, config);
    // Migrations may rewrite large tables: on a connection without the service's timeouts.
    await handle.withoutTimeouts((db) => migrateToLatest(db));
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
  return handle;
}

import { type DatabaseHandle, openDatabase, pingDatabase } from '../db/connect.js';
import { applicationName, openEmbeddedPostgres } from '../db/embedded-postgres.js';
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
  | 'WEBHOOK_POOL_SIZE'
  | 'DATA_DIR'
  | 'EMBEDDED_PG_USER'
  | 'EMBEDDED_PG_CREATE_USER'
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
async function waitForPostgres(handle: DatabaseHandle, config: DatabaseConfig, where: string): Promise<void> {
  const deadline = Date.now() + config.DATABASE_STARTUP_TIMEOUT_MS;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      await pingDatabase(handle.db);
      return;
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + delay > deadline) {
        const seconds = (config.DATABASE_STARTUP_TIMEOUT_MS / 1000).toFixed(1);
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`could not reach PostgreSQL at ${where} within ${seconds} s (${reason})`);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Opens the configured database and migrates it: PostgreSQL at DATABASE_URL, or without it the
 * embedded PostgreSQL under DATA_DIR, started (or joined, when another process of ours runs it) here.
 * `role` names this process (`server`, `cli`) in the database's application_name.
 */
export async function openConfiguredDatabase(
  config: DatabaseConfig,
  role: string,
  log: (level: 'info' | 'warn', message: string) => void,
): Promise<DatabaseHandle> {
  const embedded = config.DATABASE_URL
    ? undefined
    : await openEmbeddedPostgres({
        dataDir: config.DATA_DIR,
        role,
        osUser: config.EMBEDDED_PG_USER,
        createUser: config.EMBEDDED_PG_CREATE_USER,
        startTimeoutMs: config.DATABASE_STARTUP_TIMEOUT_MS,
        log,
      });
  const url = config.DATABASE_URL ?? embedded!.url;
  const opened = openDatabase({
    url,
    applicationName: applicationName(role),
    poolSize: config.DATABASE_POOL_SIZE,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: config.DATABASE_LOCK_TIMEOUT_MS,
    exportConnections: config.EXPORT_CONCURRENCY,
    webhookConnections: config.WEBHOOK_POOL_SIZE,
  });
  const handle: DatabaseHandle = {
    ...opened,
    async close() {
      await opened.close();
      await embedded?.release();
    },
  };
  try {
    await waitForPostgres(
      handle,
      config,
      config.DATABASE_URL ? describeDatabaseUrl(url) : `${config.DATA_DIR} (embedded)`,
    );
    // Migrations may rewrite large tables: on a connection without the service's timeouts.
    await handle.withoutTimeouts((db) => migrateToLatest(db));
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
  return handle;
}

import { type DatabaseHandle, openDatabase } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Config } from './config.js';

/** Opens the configured database (PostgreSQL with DATABASE_URL, else PGlite under DATA_DIR) and migrates it. */
export async function openConfiguredDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATABASE_CONNECT_TIMEOUT_MS' | 'DATA_DIR'>,
  holder: string,
): Promise<DatabaseHandle> {
  const handle = await openDatabase(
    config.DATABASE_URL
      ? {
          kind: 'postgres',
          url: config.DATABASE_URL,
          poolSize: config.DATABASE_POOL_SIZE,
          connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
        }
      : { kind: 'pglite', dataDir: config.DATA_DIR, holder },
  );
  try {
    await migrateToLatest(handle.db);
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
  return handle;
}

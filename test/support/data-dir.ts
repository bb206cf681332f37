import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatabaseHandle, openDatabase } from '../../db/connect.js';
import { applicationName, openEmbeddedPostgres } from '../../db/embedded-postgres.js';
import { migrateToLatest } from '../../db/migrate.js';

/**
 * The embedded database of a DATA_DIR folder, as `npm start` runs it (started here, or joined when a
 * server of the test runs it), migrated. close() stops it again if this process started it.
 */
export async function openDataDir(dataDir: string): Promise<DatabaseHandle> {
  const embedded = await openEmbeddedPostgres({
    dataDir,
    role: 'test',
    osUser: process.env.EMBEDDED_PG_USER,
    createUser: false,
    startTimeoutMs: 60_000,
    log: () => {},
  });
  const handle = openDatabase({
    url: embedded.url,
    applicationName: applicationName('test'),
    poolSize: 2,
    connectTimeoutMs: 5000,
  });
  await migrateToLatest(handle.db);
  return {
    ...handle,
    async close() {
      await handle.close();
      await embedded.release();
    },
  };
}

/**
 * A DATA_DIR path that does not exist yet, in a temporary folder inside the run's own (removed after
 * the run by test/support/global-database.ts). The folder is 0711: as root, the embedded PostgreSQL
 * runs as another user that must pass through it.
 */
export function freshDataDir(prefix = 'rd-'): string {
  const parent = mkdtempSync(join(process.env.RD_TEST_TMP ?? tmpdir(), prefix));
  chmodSync(parent, 0o711);
  return join(parent, 'data');
}

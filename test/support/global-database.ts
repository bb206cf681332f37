// Vitest's global setup: without TEST_DATABASE_URL, the suite runs on the embedded PostgreSQL, as
// `npm start` does, started once in a folder of its own; each test file makes its own database on it.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedServer, openEmbeddedPostgres } from '../../db/embedded-postgres.js';

let server: EmbeddedServer | undefined;
let folder: string | undefined;

export async function setup() {
  // Every folder the tests make (test/support/data-dir.ts) goes in here, removed after the run.
  folder = mkdtempSync(join(tmpdir(), 'rd-test-run-'));
  chmodSync(folder, 0o711);
  process.env.RD_TEST_TMP = folder;
  if (process.env.TEST_DATABASE_URL) return;
  server = await openEmbeddedPostgres({
    dataDir: join(folder, 'postgres'),
    role: 'tests',
    osUser: process.env.EMBEDDED_PG_USER,
    createUser: false,
    startTimeoutMs: 60_000,
    log: () => {},
  });
  process.env.TEST_DATABASE_URL = server.url;
}

export async function teardown() {
  await server?.release();
  if (folder) rmSync(folder, { recursive: true, force: true });
}

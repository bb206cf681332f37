import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type CopyOut, copyOut } from './copy-out.js';
import { type DataDirLock, lockDataDir, restrictDataDir } from './data-dir-lock.js';
import { PGliteDialect } from './pglite-dialect.js';
import { prepareMarkedStatements } from './prepared-statements.js';
import type { Database } from './schema.js';
import { kyselySessions, pgSessions, type WithSession } from './statement-session.js';

export type DatabaseKind = 'postgres' | 'pglite';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** A connection for several statements, sent together where the driver can (the webhook path). */
  withSession: WithSession;
  /** COPY ... TO STDOUT as a byte stream: PostgreSQL only. */
  copyOut?: (query: string) => Promise<CopyOut>;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize: number; connectTimeoutMs: number }
  /** dataDir undefined = in memory (tests). */
  | { kind: 'pglite'; dataDir: string | undefined; holder: string };

const INT8_OID = 20;

// Both backends return int8 (counts, sums of integer amounts) as a JS number, as PGlite does by
// default; our money values are far below 2^53, and a mismatch between backends would be a bug farm.
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${value} exceeds the safe integer range`);
  return n;
}

export async function openDatabase(target: DatabaseTarget): Promise<DatabaseHandle> {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: target.url,
      max: target.poolSize,
      connectionTimeoutMillis: target.connectTimeoutMs,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // A client losing its connection (database restart, failover) must not crash the process: idle
    // ones report through the pool, checked-out ones through themselves (their query rejects anyway).
    pool.on('error', () => {});
    pool.on('connect', (client) => {
      client.on('error', () => {});
      prepareMarkedStatements(client);
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      kind: 'postgres',
      withSession: pgSessions(pool),
      copyOut: (query) => copyOut(pool, query),
      close: () => db.destroy(),
    };
  }

  let lock: DataDirLock | undefined;
  if (target.dataDir !== undefined) lock = lockDataDir(target.dataDir, target.holder);
  try {
    const pglite = await PGlite.create(target.dataDir === undefined ? {} : { dataDir: target.dataDir });
    if (target.dataDir !== undefined) restrictDataDir(target.dataDir);
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    return {
      db,
      kind: 'pglite',
      withSession: kyselySessions(db),
      async close() {
        await db.destroy();
        await pglite.close();
        lock?.release();
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

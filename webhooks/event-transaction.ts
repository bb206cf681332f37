import { type Kysely, sql } from 'kysely';
import type { DatabaseKind } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import { lockStatement } from '../src/ledger/lock-keys.js';

/**
 * One event's transaction on one connection: BEGIN, its advisory locks, the work, COMMIT. On
 * PostgreSQL, BEGIN and the locks go in one round trip: the lock statement holds only integer
 * literals, so it runs over the simple protocol, which takes several statements at once. The
 * locks come before the work's first statement, so its snapshot sees whatever a transaction it
 * waited for committed.
 */
export async function inLockedTransaction<T>(
  db: Kysely<Database>,
  kind: DatabaseKind,
  lockIds: readonly bigint[],
  work: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    const lock = lockStatement(lockIds);
    if (kind === 'postgres') {
      await sql.raw(lock ? `begin; ${lock}` : 'begin').execute(conn);
    } else {
      await sql.raw('begin').execute(conn);
      if (lock) await sql.raw(lock).execute(conn);
    }
    let result: T;
    try {
      result = await work(conn);
    } catch (err) {
      // A dead connection fails the rollback too; the pool drops it, and the error that matters is err.
      await sql
        .raw('rollback')
        .execute(conn)
        .catch(() => undefined);
      throw err;
    }
    await sql.raw('commit').execute(conn);
    return result;
  });
}

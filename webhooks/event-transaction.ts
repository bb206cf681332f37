import { CompiledQuery, type Kysely } from 'kysely';
import type { DatabaseKind } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import { lockStatement } from '../src/ledger/lock-keys.js';

const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

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
      await conn.executeQuery(lock ? CompiledQuery.raw(`begin; ${lock}`) : BEGIN);
    } else {
      await conn.executeQuery(BEGIN);
      if (lock) await conn.executeQuery(CompiledQuery.raw(lock));
    }
    let result: T;
    try {
      result = await work(conn);
    } catch (err) {
      // A dead connection fails the rollback too; the pool drops it, and the error that matters is err.
      await conn.executeQuery(ROLLBACK).catch(() => undefined);
      throw err;
    }
    await conn.executeQuery(COMMIT);
    return result;
  });
}

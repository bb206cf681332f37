import { CompiledQuery, type Kysely } from 'kysely';
import pg from 'pg';
import { pgStatementBatch } from './pg-statement-batch.js';
import type { Database } from './schema.js';

export type Rows = Array<Record<string, unknown>>;

const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

/** One connection, held for a piece of work that runs several statements on it. */
export interface StatementSession {
  /**
   * Runs the statements as one transaction of their own and gives each one's rows, or rejects with
   * the first error, keeping none of them. On PostgreSQL they leave in one write, with no BEGIN or
   * COMMIT: one round trip however many there are.
   */
  transaction(statements: readonly CompiledQuery[]): Promise<Rows[]>;
  /** The same, inside a transaction the caller opened with BEGIN and ends with COMMIT or ROLLBACK. */
  send(statements: readonly CompiledQuery[]): Promise<Rows[]>;
}

export type WithSession = <T>(work: (session: StatementSession) => Promise<T>) => Promise<T>;

/** Sessions on pooled pg clients: each batch goes out as one extended-protocol exchange. */
export function pgSessions(pool: pg.Pool): WithSession {
  return async (work) => {
    const client = await pool.connect();
    // An error that is not PostgreSQL's answer (no SQLSTATE: a timeout, a lost connection) leaves
    // the connection in a state we cannot know, so the pool gets rid of it.
    let unknownState: Error | undefined;
    const send = (statements: readonly CompiledQuery[]) =>
      pgStatementBatch(client, statements).catch((err: Error) => {
        if (!(err instanceof pg.DatabaseError)) unknownState = err;
        throw err;
      });
    try {
      return await work({ transaction: send, send });
    } finally {
      client.release(unknownState);
    }
  };
}

/** Sessions on a Kysely connection (the embedded database), one statement after another. */
export function kyselySessions(db: Kysely<Database>): WithSession {
  return (work) =>
    db.connection().execute((conn) => {
      const send = async (statements: readonly CompiledQuery[]) => {
        const rows: Rows[] = [];
        for (const s of statements) rows.push((await conn.executeQuery<Record<string, unknown>>(s)).rows);
        return rows;
      };
      return work({
        send,
        async transaction(statements) {
          await conn.executeQuery(BEGIN);
          try {
            const rows = await send(statements);
            await conn.executeQuery(COMMIT);
            return rows;
          } catch (err) {
            await conn.executeQuery(ROLLBACK).catch(() => undefined);
            throw err;
          }
        },
      });
    });
}

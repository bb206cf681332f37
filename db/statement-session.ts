import type { CompiledQuery } from 'kysely';
import pg from 'pg';
import { pgStatementBatch } from './pg-statement-batch.js';

export type Rows = Array<Record<string, unknown>>;

/** One connection, held for a piece of work that runs several statements on it. */
export interface StatementSession {
  /**
   * Runs the statements as one transaction of their own and gives each one's rows, or rejects with
   * the first error, keeping none of them. They leave in one write, with no BEGIN or
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

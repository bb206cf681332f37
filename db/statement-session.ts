import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from './schema.js';

export type Rows = Array<Record<string, unknown>>;

const ROLLBACK = CompiledQuery.raw('rollback');

/** One connection, held for a piece of work that runs several statements on it. */
export interface StatementSession {
  /**
   * Runs the statements in order and gives each one's rows, or rejects with the first error. On
   * PostgreSQL they leave in one write and their answers come back together: one round trip however
   * many there are. A statement after a failed one still runs there, so a batch that can fail midway
   * belongs in a transaction, whose COMMIT then rolls back.
   */
  send(statements: readonly CompiledQuery[]): Promise<Rows[]>;
  /** Whether one statement without parameters may hold several, `begin; select ...` (pg's simple protocol). */
  readonly multiStatement: boolean;
  /** Ends a transaction left open or failed by an error, if one is; never throws. */
  rollback(): Promise<void>;
}

export type WithSession = <T>(work: (session: StatementSession) => Promise<T>) => Promise<T>;

// pg's pipeline mode is a client option; a pooled client switches it on only while it sends a batch.
interface PipelineClient {
  pipeline: boolean;
  /** From the last ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' in a failed one. */
  getTransactionStatus(): string | null;
  connection: { stream: { cork(): void; uncork(): void } };
}

/** Sessions on pooled pg clients, sending each batch pipelined. */
export function pgSessions(pool: pg.Pool): WithSession {
  return async (work) => {
    const client = await pool.connect();
    try {
      return await work({
        send: (statements) => pipelined(client, statements),
        multiStatement: true,
        // A batch's own COMMIT may have ended it already; a ROLLBACK then would only log a warning.
        async rollback() {
          if ((client as unknown as PipelineClient).getTransactionStatus() === 'I') return;
          await client.query('rollback').catch(() => undefined);
        },
      });
    } finally {
      // A client whose connection broke is not queryable, and the pool discards it.
      client.release();
    }
  };
}

async function pipelined(client: pg.PoolClient, statements: readonly CompiledQuery[]): Promise<Rows[]> {
  const c = client as unknown as PipelineClient;
  const stream = c.connection.stream;
  c.pipeline = true;
  // Each query corks and uncorks the socket itself; the outer cork makes the batch one write.
  stream.cork();
  let answers: Array<Promise<pg.QueryResult>>;
  try {
    answers = statements.map((s) => client.query(s.sql, s.parameters.length > 0 ? [...s.parameters] : undefined));
  } finally {
    stream.uncork();
  }
  const settled = await Promise.allSettled(answers);
  c.pipeline = false;
  const rows: Rows[] = [];
  for (const s of settled) {
    if (s.status === 'rejected') throw s.reason;
    // A statement text holding several gives one result each; the last is the one that answers.
    const result = Array.isArray(s.value) ? (s.value as pg.QueryResult[]).at(-1)! : s.value;
    rows.push(result.rows);
  }
  return rows;
}

/** Sessions on a Kysely connection (the embedded database), one statement after another. */
export function kyselySessions(db: Kysely<Database>): WithSession {
  return (work) =>
    db.connection().execute((conn) =>
      work({
        multiStatement: false,
        async rollback() {
          await conn.executeQuery(ROLLBACK).catch(() => undefined);
        },
        async send(statements) {
          const rows: Rows[] = [];
          for (const s of statements) rows.push((await conn.executeQuery<Record<string, unknown>>(s)).rows);
          return rows;
        },
      }),
    );
}

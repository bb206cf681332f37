import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import type { CompiledQuery } from 'kysely';
import pg from 'pg';

export type Rows = Array<Record<string, unknown>>;

/** One connection in pg's pipeline mode, held for one piece of work. */
export interface Pipeline {
  /**
   * Sends a statement at once, without waiting for the answers to those sent before it; its rows
   * arrive in order. Statements sent back to back leave together: BEGIN, the locks, the event's
   * statement and COMMIT cost one round trip.
   */
  send(statement: CompiledQuery): Promise<Rows>;
}

export type WithPipeline = <T>(work: (pipeline: Pipeline) => Promise<T>) => Promise<T>;

type Chunk = { chunk: Buffer | string; encoding: BufferEncoding };

/**
 * A socket that sends what is written to it in one turn of the event loop as one write. pg writes
 * each pipelined query on its own, and an event's BEGIN, locks, statement and COMMIT are queued in
 * the same turn: they leave together and wake the database once, not four times. It implements
 * the stream's documented `_write`/`_writev` (taking each chunk at once, so the stream hands over
 * the next) and sends them all with the socket's own `_writev` when the turn ends; a failed send
 * destroys the socket, as a failed write does, and pg sees the error. Given to pg through its
 * `stream` option.
 */
export class CoalescingSocket extends Socket {
  #pending: Chunk[] = [];

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk, encoding }], callback);
  }

  override _writev(chunks: Chunk[], callback: (error?: Error | null) => void): void {
    if (this.#pending.length === 0) process.nextTick(() => this.#flush());
    this.#pending.push(...chunks);
    callback();
  }

  // Ending the socket sends what is pending first: the stream itself holds nothing back.
  override _final(callback: (error?: Error | null) => void): void {
    if (this.#pending.length > 0) this.#flush();
    super._final(callback);
  }

  #flush() {
    const chunks = this.#pending;
    this.#pending = [];
    super._writev!(chunks, (err) => {
      if (err) this.destroy(err);
    });
  }
}

// Statement shapes are fixed by the code, so this only guards against a bug flooding the server.
const MAX_NAMES = 1_000;
const names = new Map<string, string>();

/**
 * The name a statement is prepared under: the same text always gets the same name, so each
 * connection parses and plans an event statement once (they are large: several CTEs, long conflict
 * clauses) and then only binds it. pg keeps track of which names a connection has prepared.
 */
export function nameOf(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMES) {
    name = `rd_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * Runs work on a pooled client of a pool made with `pipeline: true` (pg's documented pipeline
 * mode). Every statement is sent as a named (prepared) one through pg's query config. A failure
 * that is not PostgreSQL's answer (a query timeout, a lost connection) leaves the connection in a
 * state nobody knows, so it is handed back with the error and the pool closes it.
 */
export function pipelines(pool: pg.Pool): WithPipeline {
  return async (work) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    const pipeline: Pipeline = {
      async send(statement) {
        if (broken) throw broken;
        try {
          const name = nameOf(statement.sql);
          const config = { text: statement.sql, values: statement.parameters as unknown[] };
          const result = await client.query(name ? { ...config, name } : config);
          return result.rows;
        } catch (err) {
          if (!(err instanceof pg.DatabaseError)) broken ??= err as Error;
          throw err;
        }
      },
    };
    try {
      return await work(pipeline);
    } finally {
      // Never lend out a connection left inside a transaction (a bug between BEGIN and COMMIT).
      client.release(
        broken ?? (client.getTransactionStatus() === 'I' ? undefined : new Error('left in a transaction')),
      );
    }
  };
}

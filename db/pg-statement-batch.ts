import { createRequire } from 'node:module';
import type { CompiledQuery } from 'kysely';
import pg from 'pg';
import { mayPrepare, nameOf, PREPARE_MARK } from './prepared-statements.js';

type Rows = Array<Record<string, unknown>>;

// pg's own conversion of a parameter to its text form (arrays, JSON, buffers), as its queries use.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue(value: unknown): string | Buffer | null;
};

interface Connection {
  parsedStatements: Record<string, string>;
  stream: { cork?(): void; uncork?(): void };
  parse(m: { text: string; name: string; types: never[] }): void;
  bind(m: { statement: string; values: unknown[] }): void;
  describe(m: { type: 'P'; name: string }): void;
  execute(m: { portal: string; rows: number }): void;
  close(m: { type: 'S'; name: string }): void;
  sync(): void;
  sendCopyFail(message: string): void;
  on(event: 'parseComplete', listener: () => void): void;
  off(event: 'parseComplete', listener: () => void): void;
}

interface Message {
  fields: unknown[];
}

/** pg's Result, as its own queries use it to turn rows into objects with the pool's type parsers. */
interface Result {
  rows: Rows;
  _types: unknown;
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Record<string, unknown>;
  addRow(row: Record<string, unknown>): void;
}
const ResultClass = pg.Result as unknown as new (rowMode?: string, types?: unknown) => Result;

/**
 * Several statements in one extended-protocol exchange: Parse (for a statement this connection
 * has not prepared), Bind, Describe and Execute for each, then a single Sync. PostgreSQL runs
 * them as one implicit transaction (or inside the caller's BEGIN), answers them in order, and on
 * an error skips the rest up to the Sync, so nothing of a failed batch is kept. pg runs its own
 * queries one exchange each; this is a pg "submittable" (as pg-cursor is) that writes the whole
 * batch at once, so it costs one round trip and one write.
 */
class StatementBatch {
  readonly _result: Result;
  /** Called once with the outcome; pg wraps it (its query_timeout clears a timer through it). */
  callback: ((err: Error | undefined, rows?: Rows[]) => void) | undefined;
  private current: Result | undefined;
  private readonly rows: Rows[] = [];
  private failure: Error | undefined;
  /** Named statements this batch parses, in order, until each one's ParseComplete arrives. */
  private readonly parsing: Array<[string, string]> = [];
  private connection: Connection | undefined;
  private readonly parsed = () => {
    const next = this.parsing.shift();
    // Recorded when the server confirms it, so pg's own queries (db/prepared-statements.ts) and
    // later batches know it exists even if a statement after it fails.
    if (next && next[0] !== '' && this.connection) this.connection.parsedStatements[next[0]] = next[1];
  };

  constructor(private readonly statements: readonly CompiledQuery[]) {
    // pg gives this result its type parsers (the pool's, int8 as number) before submitting.
    this._result = new ResultClass();
  }

  private finish(err: Error | undefined, rows?: Rows[]) {
    this.connection?.off('parseComplete', this.parsed);
    const callback = this.callback;
    this.callback = undefined;
    callback?.(err, rows);
  }

  private result(): Result {
    this.current ??= new ResultClass(undefined, this._result._types);
    return this.current;
  }

  submit(connection: Connection): Error | null {
    let values: unknown[][];
    try {
      values = this.statements.map((s) => s.parameters.map((v) => prepareValue(v)));
    } catch (err) {
      return err as Error;
    }
    const parsed = connection.parsedStatements;
    const parse = (name: string, text: string) => {
      connection.parse({ text, name, types: [] });
      this.parsing.push([name, text]);
    };
    connection.stream.cork?.();
    try {
      this.statements.forEach((s, i) => {
        let name = '';
        if (s.sql.startsWith(PREPARE_MARK)) {
          name = nameOf(s.sql);
          if (parsed[name] !== s.sql && !this.parsing.some(([n]) => n === name)) {
            if (mayPrepare(parsed, name)) {
              // Defensive: a statement of this name the records missed would make Parse fail.
              connection.close({ type: 'S', name });
              parse(name, s.sql);
            } else name = '';
          }
        }
        if (name === '') parse('', s.sql);
        connection.bind({ statement: name, values: values[i]! });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    if (this.parsing.some(([n]) => n !== '')) {
      this.connection = connection;
      connection.on('parseComplete', this.parsed);
    }
    return null;
  }

  handleRowDescription(msg: Message) {
    this.result().addFields(msg.fields);
  }

  handleDataRow(msg: Message) {
    if (this.failure) return;
    try {
      const result = this.result();
      result.addRow(result.parseRow(msg.fields));
    } catch (err) {
      this.failure = err as Error;
    }
  }

  handleCommandComplete() {
    this.rows.push(this.current?.rows ?? []);
    this.current = undefined;
  }

  handleEmptyQuery() {
    this.handleCommandComplete();
  }

  handlePortalSuspended() {}

  // A COPY ... FROM STDIN in a batch would wait for data forever; refuse it as pg's queries do.
  handleCopyInResponse(connection: Connection) {
    connection.sendCopyFail('No source stream defined');
  }

  handleCopyData() {}

  // pg stops routing messages to a query once it reports an error; the Sync's ReadyForQuery that
  // follows lets the connection's next query run.
  handleError(err: Error) {
    this.finish(err);
  }

  handleReadyForQuery() {
    if (this.failure) return this.finish(this.failure);
    this.finish(undefined, this.rows);
  }
}

/** Runs the statements as one batch on this client (see StatementBatch); the rows of each. */
export function pgStatementBatch(client: pg.PoolClient, statements: readonly CompiledQuery[]): Promise<Rows[]> {
  return new Promise((resolve, reject) => {
    const batch = new StatementBatch(statements);
    batch.callback = (err, rows) => (err ? reject(err) : resolve(rows!));
    client.query(batch as never);
  });
}

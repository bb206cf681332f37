import { createRequire } from 'node:module';
import type { CompiledQuery } from 'kysely';
import pg from 'pg';
import { MAX_PER_CONNECTION, nameOf, PREPARE_MARK } from './prepared-statements.js';

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
  private current: Result | undefined;
  private readonly rows: Rows[] = [];
  private readonly newlyParsed = new Map<string, string>();
  private failure: Error | undefined;

  constructor(
    private readonly statements: readonly CompiledQuery[],
    private readonly done: (err: Error | undefined, rows?: Rows[]) => void,
  ) {
    // pg gives this result its type parsers (the pool's, int8 as number) before submitting.
    this._result = new ResultClass();
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
    let prepared: number | undefined;
    connection.stream.cork?.();
    try {
      this.statements.forEach((s, i) => {
        let name = '';
        if (s.sql.startsWith(PREPARE_MARK)) {
          name = nameOf(s.sql);
          if (parsed[name] !== s.sql && !this.newlyParsed.has(name)) {
            prepared ??= Object.keys(parsed).length;
            if (prepared < MAX_PER_CONNECTION) {
              // It may exist already, from a batch that failed after parsing it.
              connection.close({ type: 'S', name });
              connection.parse({ text: s.sql, name, types: [] });
              this.newlyParsed.set(name, s.sql);
              prepared++;
            } else name = '';
          }
        }
        if (name === '') connection.parse({ text: s.sql, name, types: [] });
        connection.bind({ statement: name, values: values[i]! });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
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

  handleCopyInResponse() {}

  handleCopyData() {}

  // pg stops routing messages to a query once it reports an error; the Sync's ReadyForQuery that
  // follows lets the connection's next query run. Statements parsed before the error are not
  // recorded: the next batch closes and parses them again.
  handleError(err: Error) {
    this.done(err);
  }

  handleReadyForQuery(connection: Connection) {
    if (this.failure) return this.done(this.failure);
    for (const [name, text] of this.newlyParsed) connection.parsedStatements[name] = text;
    this.done(undefined, this.rows);
  }
}

/** Runs the statements as one batch on this client (see StatementBatch); the rows of each. */
export function pgStatementBatch(client: pg.PoolClient, statements: readonly CompiledQuery[]): Promise<Rows[]> {
  return new Promise((resolve, reject) => {
    const batch = new StatementBatch(statements, (err, rows) => (err ? reject(err) : resolve(rows!)));
    client.query(batch as never);
  });
}

import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Marks a statement worth preparing once per connection: the webhook effect statements are large
 * (several CTEs, long conflict clauses), and they and checkout's two statements run for every
 * request, so parsing and planning them each time costs the database more than running them. Only
 * statements that name their result columns (or return none) are marked: a prepared `select *`
 * whose columns a migration changed would fail until reconnect.
 */
export const PREPARE_MARK = '/* rd:prepare */';

// Statement shapes are fixed by the code, so this only guards against a bug flooding the server.
const MAX_PER_CONNECTION = 100;

/**
 * Whether a marked statement may be named on a connection: it is prepared there already, or the
 * connection holds fewer than MAX_PER_CONNECTION. `parsed` is pg's own record of the connection's
 * prepared statements, which pg's queries and statement batches (db/pg-statement-batch.ts) both keep.
 */
export function mayPrepare(parsed: Record<string, string>, name: string): boolean {
  return parsed[name] !== undefined || Object.keys(parsed).length < MAX_PER_CONNECTION;
}

// Statement texts come back as the same string (db/sql-fragment.ts compile), so this lookup is cheap.
const names = new Map<string, string>();
export function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `rd_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (names.size < 1_000) names.set(text, name);
  }
  return name;
}

/** Sends marked statements as named (prepared) ones on this pg client. */
export function prepareMarkedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const { parsedStatements } = (client as unknown as { connection: { parsedStatements: Record<string, string> } })
    .connection;
  (client as { query: unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text === 'string' && text.startsWith(PREPARE_MARK) && Array.isArray(values)) {
      const name = nameOf(text);
      if (mayPrepare(parsedStatements, name)) return query({ name, text, values }, callback);
    }
    return query(text, values, callback);
  };
}

import { CompiledQuery, type Insertable, type Kysely, type Updateable } from 'kysely';
import type { Database } from './schema.js';

/**
 * SQL text and its parameters, composed by joining strings. The webhook path runs a few fixed
 * statement shapes for every event, and building them with Kysely's query builder cost the server
 * more CPU than the database spent running them (see docs/performance.md). Those statements are
 * composed from fragments instead. Values always become $n parameters, never text, and one shape
 * always gives the same text, so the database reuses its prepared statement.
 */
export class Fragment {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

/** A fragment: each `${value}` is a parameter, unless it is itself a fragment, which is inlined. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Fragment {
  return new Fragment(strings, values);
}

/**
 * One strings array per distinct piece of text, so a fragment's shape is the identity of its
 * arrays (a tagged template's is already fixed per call site) and compile can reuse its text.
 * The texts come from our own code, so there are few; the bound only guards against a bug.
 */
const piecesCache = new Map<string, readonly string[]>();
function pieces(key: string, make: () => string[]): readonly string[] {
  let cached = piecesCache.get(key);
  if (cached === undefined) {
    cached = make();
    if (piecesCache.size < 10_000) piecesCache.set(key, cached);
  }
  return cached;
}

/** Text written by our own code (keywords, identifiers), never input. */
export const raw = (text: string) =>
  new Fragment(
    pieces(`raw\0${text}`, () => [text]),
    [],
  );

/**
 * Starts a statement that runs for many requests (checkout's insert, the rate limit): it is sent as
 * a named statement (db/connect.ts), so each connection parses and plans it once. Only statements
 * that name their result columns (or return none): a prepared `select *` whose columns a migration
 * changed would fail until reconnect.
 */
export const PREPARE_MARK = '/* rd:prepare */';
export const PREPARED = raw(PREPARE_MARK);

export function join(items: readonly Fragment[], separator = ', '): Fragment {
  if (items.length === 0) return raw('');
  const strings = pieces(`join\0${items.length}\0${separator}`, () => ['', ...items.slice(1).map(() => separator), '']);
  return new Fragment(strings, items);
}

/** Columns a row may set: generated ones are left out by the types (Kysely's Insertable / Updateable). */
type InsertRow<T extends keyof Database> = Partial<Record<keyof Insertable<Database[T]> & string, unknown>>;
type UpdateRow<T extends keyof Database> = Partial<Record<keyof Updateable<Database[T]> & string, unknown>>;

/** An identifier in double quotes, any `"` in it doubled (names come from our own code, typed). */
export const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

function present(row: Record<string, unknown>): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const column in row) {
    const v = row[column];
    if (v === undefined) continue;
    columns.push(column);
    values.push(v);
  }
  return { columns, values };
}

/**
 * `insert into table (columns) values (...)`; undefined values leave their column out. With `when`,
 * `insert into table (columns) select ... where <when>`: the row is written only if the condition
 * holds (PostgreSQL still types each value by its target column).
 */
export function insertInto<T extends keyof Database>(table: T, row: InsertRow<T>, when?: Fragment): Fragment {
  const { columns, values } = present(row);
  if (columns.length === 0) throw new Error(`an insert into ${table} needs a column`);
  const strings = pieces(`insert\0${table}\0${columns.join(',')}\0${when ? 'when' : ''}`, () => [
    `insert into ${quoted(table)} (${columns.map(quoted).join(', ')}) ${when ? 'select ' : 'values ('}`,
    ...columns.slice(1).map(() => ', '),
    when ? ' where ' : ')',
    ...(when ? [''] : []),
  ]);
  return new Fragment(strings, when ? [...values, when] : values);
}

/** `column = value, ...` for an update or a conflict's `do update set`. */
export function assignments<T extends keyof Database>(_table: T, set: UpdateRow<T>): Fragment {
  const { columns, values } = present(set);
  const strings = pieces(`set\0${columns.join(',')}`, () =>
    columns.length === 0
      ? ['']
      : [`${quoted(columns[0]!)} = `, ...columns.slice(1).map((c) => `, ${quoted(c)} = `), ''],
  );
  return new Fragment(strings, values);
}

const shapeIds = new WeakMap<readonly string[], number>();
let lastShapeId = 0;
const textByShape = new Map<string, string>();

/**
 * The statement's text and parameters. The text is built once per shape (which strings arrays, in
 * which nesting) and then reused, the same string each time, so preparing it costs no rehash.
 */
export function compile(fragment: Fragment): CompiledQuery {
  const parameters: unknown[] = [];
  let shape = '';
  const collect = (f: Fragment) => {
    let id = shapeIds.get(f.strings);
    if (id === undefined) {
      id = ++lastShapeId;
      shapeIds.set(f.strings, id);
    }
    shape += `${id}:`;
    for (const v of f.values) {
      if (v instanceof Fragment) collect(v);
      else {
        // Dates as ISO 8601: PostgreSQL reads them exactly, and pg's own formatting costs more.
        parameters.push(v === undefined ? null : v instanceof Date ? v.toISOString() : v);
        shape += '.';
      }
    }
  };
  collect(fragment);
  let text = textByShape.get(shape);
  if (text === undefined) {
    text = textOf(fragment);
    if (textByShape.size < 10_000) textByShape.set(shape, text);
  }
  return CompiledQuery.raw(text, parameters);
}

function textOf(fragment: Fragment): string {
  let n = 0;
  let text = '';
  const walk = (f: Fragment) => {
    for (let i = 0; i < f.values.length; i++) {
      text += f.strings[i];
      const v = f.values[i];
      if (v instanceof Fragment) walk(v);
      else text += `$${++n}`;
    }
    text += f.strings[f.values.length];
  };
  walk(fragment);
  return text;
}

/** Runs a fragment on this connection or transaction and returns its rows. */
export async function run<R = Record<string, unknown>>(db: Kysely<Database>, fragment: Fragment): Promise<R[]> {
  const result = await db.executeQuery<R>(compile(fragment));
  return result.rows;
}

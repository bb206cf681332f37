import { CompiledQuery, type Kysely } from 'kysely';
import { PREPARE_MARK } from './prepared-statements.js';
import type { Database } from './schema.js';

/**
 * SQL text and its parameters, composed by joining strings. The webhook path runs a few fixed
 * statement shapes for every event, and building them with Kysely's query builder cost the server
 * more CPU than the database spent running them (see README, Performance). Those statements are
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

/** Text written by our own code (keywords, identifiers), never input. */
export const raw = (text: string) => new Fragment([text], []);

/** Marks a statement run for every request to be prepared once per connection (db/prepared-statements.ts). */
export const PREPARED = raw(PREPARE_MARK);

export function join(items: readonly Fragment[], separator = ', '): Fragment {
  if (items.length === 0) return raw('');
  return new Fragment(['', ...items.slice(1).map(() => separator), ''], items);
}

type Column<T extends keyof Database> = keyof Database[T] & string;
type Row<T extends keyof Database> = Partial<Record<Column<T>, unknown>>;

const quoted = (name: string) => `"${name}"`;

/** `insert into table (columns) values (...)`; undefined values leave their column out. */
export function insertInto<T extends keyof Database>(table: T, row: Row<T>): Fragment {
  const entries = Object.entries(row).filter(([, v]) => v !== undefined);
  const columns = entries.map(([c]) => quoted(c)).join(', ');
  return new Fragment(
    [`insert into ${table} (${columns}) values (`, ...entries.slice(1).map(() => ', '), ')'],
    entries.map(([, v]) => v),
  );
}

/** `column = value, ...` for an update or a conflict's `do update set`. */
export function assignments<T extends keyof Database>(_table: T, set: Row<T>): Fragment {
  const entries = Object.entries(set).filter(([, v]) => v !== undefined);
  return new Fragment(
    entries.length === 0
      ? ['']
      : [`${quoted(entries[0]![0])} = `, ...entries.slice(1).map(([c]) => `, ${quoted(c)} = `), ''],
    entries.map(([, v]) => v),
  );
}

export function compile(fragment: Fragment): CompiledQuery {
  const parameters: unknown[] = [];
  let text = '';
  const walk = (f: Fragment) => {
    const n = f.values.length;
    for (let i = 0; i < n; i++) {
      text += f.strings[i];
      const v = f.values[i];
      if (v instanceof Fragment) walk(v);
      else {
        parameters.push(v === undefined ? null : v);
        text += `$${parameters.length}`;
      }
    }
    text += f.strings[n];
  };
  walk(fragment);
  return CompiledQuery.raw(text, parameters);
}

/** Runs a fragment on this connection or transaction and returns its rows. */
export async function run<R = Record<string, unknown>>(db: Kysely<Database>, fragment: Fragment): Promise<R[]> {
  const result = await db.executeQuery<R>(compile(fragment));
  return result.rows;
}

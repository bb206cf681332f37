import { type RawBuilder, sql } from 'kysely';
import type { Cell } from './csv.js';

/**
 * Pages through a table by keyset: each page one short query after the last row of the one before,
 * so memory holds one page whatever the table's size and no transaction stays open between pages.
 */
export async function* keysetPages<Row, Cursor>(
  pageSize: number,
  fetchPage: (after: Cursor | undefined) => Promise<Row[]>,
  cursorOf: (row: Row) => Cursor,
  toCells: (rows: Row[]) => Cell[][] | Promise<Cell[][]>,
): AsyncGenerator<Cell[][]> {
  let after: Cursor | undefined;
  for (;;) {
    const rows = await fetchPage(after);
    const cells = rows.length > 0 ? await toCells(rows) : [];
    if (cells.length > 0) yield cells;
    if (rows.length < pageSize) return;
    after = cursorOf(rows[rows.length - 1]!);
  }
}

/**
 * Where the last page ended: its timestamp as PostgreSQL writes it as text (microseconds and
 * offset), never a JavaScript Date. A Date keeps milliseconds only, so on rows the database
 * timestamped itself (an import, a restore, a manual fix) a cursor from one pointed back before
 * the page's end, and the same page came back forever.
 */
export interface Cursor {
  at: string;
  id: string;
}

/** The cursor's timestamp column, selected as text `cursor_at`. */
export const cursorAt = (column: string) => sql<string>`${sql.ref(column)}::text`.as('cursor_at');

/** `(at, id) > cursor`, compared by the database at its own precision. */
export const afterCursor = (at: string, id: string, cursor: Cursor): RawBuilder<boolean> =>
  sql<boolean>`(${sql.ref(at)}, ${sql.ref(id)}) > (${cursor.at}::timestamptz, ${cursor.id}::uuid)`;

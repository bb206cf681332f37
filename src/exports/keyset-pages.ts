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

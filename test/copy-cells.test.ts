import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lit, typedText } from '../src/exports/copy-cells.js';
import { toCrlf } from '../src/exports/gifts-copy.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

describe('text people typed, as the exports write it (formulas neutralised in SQL)', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', 'a,b'],
    ['say "hi"', 'say "hi"'],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@x', "'@x"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['=a,b', "'=a,b"],
    ['\\.', '\\.'],
    // Empty text is NULL, so COPY writes an empty unquoted cell even in a force_quote column.
    ['', null],
    // A formula behind blanks is still a formula to a spreadsheet.
    ['  =1+1', "'  =1+1"],
    [' \n-2', "' \n-2"],
    ['a - b', 'a - b'],
    ['a;b', 'a;b'],
  ])('%j -> %j', async (value, cell) => {
    const { rows } = await sql
      .raw<{ cell: string | null }>(`select ${typedText(lit(value))} as cell`)
      .execute(database.db);
    expect(rows[0]!.cell).toBe(cell);
  });
});

describe('COPY output to RFC 4180 record ends', () => {
  const copyText = 'id,name\n1,"a\nb"\n2,"say ""x"""\n3,plain\n';
  const expected = 'id,name\r\n1,"a\nb"\r\n2,"say ""x"""\r\n3,plain\r\n';

  it('turns record-ending LFs into CRLF and leaves line breaks inside quoted cells alone', () => {
    expect(toCrlf(Buffer.from(copyText), { quoted: false }).toString()).toBe(expected);
  });

  it('gives the same bytes however the stream is cut into chunks', () => {
    const bytes = Buffer.from(copyText);
    for (let cut = 1; cut < bytes.length; cut++) {
      const state = { quoted: false };
      const out = Buffer.concat([toCrlf(bytes.subarray(0, cut), state), toCrlf(bytes.subarray(cut), state)]);
      expect(out.toString(), `cut at ${cut}`).toBe(expected);
    }
  });
});

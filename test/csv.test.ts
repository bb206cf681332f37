import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from '../src/exports/csv.js';
import { toCrlf } from '../src/exports/gifts-copy.js';

describe('CSV cells (the JavaScript path)', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@x', "'@x"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ['=a,b', `"'=a,b"`],
    ['\\.', '\\.'],
    ['', ''],
    // A formula behind blanks is still a formula to a spreadsheet.
    ['  =1+1', "'  =1+1"],
    [' \n-2', `"' \n-2"`],
    ['a - b', 'a - b'],
    // Excel splits on semicolons in many locales.
    ['a;b', '"a;b"'],
  ])('%j -> %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('text people typed is always quoted, unless empty', () => {
    expect(csvLine(['reader@example.org', 'cs_1', '', 'Ann'], [true, false, true, true])).toBe(
      '"reader@example.org",cs_1,,"Ann"\r\n',
    );
  });

  it('numbers and dates are not neutralised; null is empty; records end with CRLF', () => {
    // Times as PostgreSQL writes a timestamptz in UTC, fractions of a second only when there are some.
    expect(csvLine([new Date('2026-01-02T03:04:05.000Z'), new Date('2026-01-02T03:04:05.120Z')])).toBe(
      '2026-01-02 03:04:05+00,2026-01-02 03:04:05.12+00\r\n',
    );
    expect(csvLine([-5, null, new Date('2026-01-02T03:04:05.678Z'), undefined])).toBe(
      '-5,,2026-01-02 03:04:05.678+00,\r\n',
    );
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

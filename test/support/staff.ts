import type { StaffRole } from '../../db/schema.js';
import { createStaffToken } from '../../src/staff/tokens.js';
import type { TestContext } from './harness.js';

export async function staffToken(ctx: TestContext, role: StaffRole, name = `${role} token`): Promise<string> {
  return (await createStaffToken(ctx.database.db, name, role, ctx.clock.now())).token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Parses RFC 4180 text (quoted fields, doubled quotes, CRLF) into rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

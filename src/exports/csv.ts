import { formatMinorUnits } from '../currencies.js';

export type Cell = string | number | Date | null | undefined;

// OWASP CSV injection: a spreadsheet runs a cell as a formula when its first character that is
// not blank (space, tab, line break) is one of = + - @, or it starts with a tab or a carriage
// return. The COPY path (gifts-copy.ts) applies the same rule.
const FORMULA_START = /^[ \t\r\n]*[=+\-@]|^[\t\r]/;

/**
 * One RFC 4180 field: formulas neutralised with a leading quote; quoted when it has to be (a comma,
 * quote or line break), when it has a semicolon (Excel splits on it in many locales), and always
 * when `quote` (text people typed), unless empty.
 */
export function csvCell(value: Cell, quote = false): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? csvTime(value) : String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return (quote && text !== '') || /[",;\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A time in UTC as PostgreSQL writes a timestamptz under DateStyle ISO, so the COPY exports
 * (copy-cells.ts) write it for the price of no conversion: "2026-03-01 10:00:00.12+00", fractions of
 * a second only when there are some.
 */
export function csvTime(d: Date): string {
  const iso = d.toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00`;
}

/** One record, CRLF-terminated as RFC 4180 says; `quoted` marks the columns of text people typed. */
export const csvLine = (cells: readonly Cell[], quoted?: readonly boolean[]) =>
  `${cells.map((cell, i) => csvCell(cell, quoted?.[i])).join(',')}\r\n`;

/** An amount in major units by the currency's exponent ("5.00", "500", "5.000"); empty when unknown. */
export const money = (amount: number | null | undefined, currency: string | null | undefined) =>
  amount === null || amount === undefined || !currency ? null : formatMinorUnits(amount, currency);

export const upper = (currency: string | null | undefined) => currency?.toUpperCase() ?? null;

import { formatMinorUnits } from '../currencies.js';

export type Cell = string | number | Date | null | undefined;

// OWASP CSV injection: a spreadsheet runs a cell starting with one of these as a formula.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One RFC 4180 field: formulas neutralised with a leading quote, quoted when it has to be. */
export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated as RFC 4180 says. */
export const csvLine = (cells: readonly Cell[]) => `${cells.map(csvCell).join(',')}\r\n`;

/** An amount in major units by the currency's exponent ("5.00", "500", "5.000"); empty when unknown. */
export const money = (amount: number | null | undefined, currency: string | null | undefined) =>
  amount === null || amount === undefined || !currency ? null : formatMinorUnits(amount, currency);

export const upper = (currency: string | null | undefined) => currency?.toUpperCase() ?? null;

import { THREE_DECIMAL, ZERO_DECIMAL } from '../currencies.js';

// The exports as PostgreSQL's own COPY: every cell formatted in SQL (test/exports.test.ts holds the
// exact bytes, test/copy-cells.test.ts the formula rules). Each expression is the cheapest found for its output: the export's speed is PostgreSQL's work per
// row (test/bench). The COPY runs on the export pool, whose sessions use DateStyle ISO and
// TimeZone UTC (db/connect.ts).

/** A string literal. COPY takes no bind parameters; every value here is validated before it is quoted. */
export const lit = (value: string) => `'${value.replace(/'/g, "''")}'`;
export const list = (values: readonly string[]) => values.map(lit).join(', ');

/**
 * Text people typed: formulas neutralised (a first character that is not blank being = + - @, or a
 * tab or carriage return first; OWASP's CSV injection advice), and '' as NULL so COPY writes it
 * unquoted. The first character is compared with a list: a regular expression per cell cost PostgreSQL
 * a good part of the export's time.
 */
export const typedText = (expr: string) =>
  `nullif(case when left(${expr}, 1) not in ('=', '+', '-', '@', E'\\t', E'\\r', ' ', E'\\n') then ${expr}
    when left(ltrim(${expr}, E' \\t\\r\\n'), 1) in ('=', '+', '-', '@') or left(${expr}, 1) in (E'\\t', E'\\r')
    then '''' || ${expr} else ${expr} end, '')`;

/**
 * Currencies whose code and exponent the export looks up rather than computes: the zero- and
 * three-decimal ones, and those configured (`known`). One hash lookup per row costs PostgreSQL less
 * than upper() and two IN lists; any other currency falls back to those, with exponent 2.
 */
export function currencyJoin(alias: string, column: string, known: readonly string[]): string {
  const exponent = (c: string) => (ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2);
  const codes = [...new Set([...ZERO_DECIMAL, ...THREE_DECIMAL, ...known.map((c) => c.toLowerCase())])];
  const rows = codes.map((c) => `(${lit(c)}, ${lit(c.toUpperCase())}, ${exponent(c)})`).join(', ');
  return `left join (values ${rows}) ${alias}(code, upper, exponent) on ${alias}.code = ${column}`;
}

/** The currency's code in upper case (currencyJoin's alias). */
export const upperCurrency = (alias: string, column: string) => `coalesce(${alias}.upper, upper(${column}))`;

/**
 * Major units by the currency's exponent ("5.00", "500", "5.000"): numeric multiplication, whose
 * scale gives exactly the digits wanted, and no arithmetic at all for 0 (most refunded amounts).
 * Null stays null.
 */
export const money = (amount: string, alias: string) => `case when ${amount} = 0
  then case coalesce(${alias}.exponent, 2) when 2 then '0.00' when 0 then '0' else '0.000' end
  else (case coalesce(${alias}.exponent, 2) when 2 then ${amount}::numeric * 0.01 when 0 then ${amount}::numeric
    else ${amount}::numeric * 0.001 end)::text end`;

/** A time as PostgreSQL writes a timestamptz in UTC under DateStyle ISO ("2026-03-01 10:00:00.12+00"). */
export const time = (expr: string) => expr;

/** `copy (query) to stdout` as CSV with a header, the typed-text columns always quoted. */
export const copyCsv = (query: string, quoted: readonly string[]) =>
  `copy (${query}) to stdout with (format csv, header true${quoted.length ? `, force_quote (${quoted.join(', ')})` : ''})`;

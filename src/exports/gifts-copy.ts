import { THREE_DECIMAL, ZERO_DECIMAL } from '../currencies.js';
import type { ExportFilters } from './filters.js';
import { GIFT_COLUMNS, GIFT_TYPED_COLUMNS } from './gifts-export.js';

// The gifts export as PostgreSQL's own COPY, for large ledgers: every cell formatted in SQL exactly as
// src/exports/csv.ts formats it in JavaScript (the exact-bytes tests run both and compare).

/** A string literal. COPY takes no bind parameters; every value here is validated before it is quoted. */
const lit = (value: string) => `'${value.replace(/'/g, "''")}'`;
const list = (values: readonly string[]) => values.map(lit).join(', ');

/**
 * Neutralises formulas like csvCell (a first character that is not blank being = + - @, or a tab
 * or carriage return first), and makes '' NULL so COPY writes it unquoted, as csvCell does. The
 * first character is compared with a list: a regular expression per cell cost PostgreSQL a good
 * part of the export's time.
 */
const BLANKS = `E' \\t\\r\\n'`;
const text = (expr: string) =>
  `nullif(case when left(ltrim(${expr}, ${BLANKS}), 1) in ('=', '+', '-', '@') or left(${expr}, 1) in (E'\\t', E'\\r')
    then '''' || ${expr} else ${expr} end, '')`;

/**
 * Major units in integer arithmetic, which costs PostgreSQL half what numeric's round does. Exact
 * for the amounts the ledger's check constraints allow (never negative).
 */
const decimals = (amount: string, unit: number, digits: number) =>
  `(${amount} / ${unit})::text || '.' || lpad((${amount} % ${unit})::text, ${digits}, '0')`;
const money = (amount: string, currency: string) => `case
  when ${currency} in (${list([...ZERO_DECIMAL])}) then ${amount}::text
  when ${currency} in (${list([...THREE_DECIMAL])}) then ${decimals(amount, 1000, 3)}
  else ${decimals(amount, 100, 2)} end`;

const iso = (expr: string) => `to_char(${expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export function giftsCopyQuery(f: ExportFilters): string {
  const where: string[] = [];
  if (f.from) where.push(`g.paid_at >= ${lit(f.from.toISOString())}::timestamptz`);
  if (f.to) where.push(`g.paid_at < ${lit(f.to.toISOString())}::timestamptz`);
  if (f.frequency) where.push(`g.frequency in (${list(f.frequency)})`);
  if (f.status) where.push(`g.status in (${list(f.status)})`);
  if (f.currency) where.push(`g.currency in (${list(f.currency)})`);
  const cells = [
    'g.id',
    'g.supporter_id',
    text('s.email'),
    'g.frequency',
    money('g.amount', 'g.currency'),
    'upper(g.currency)',
    'g.status',
    money('g.refunded_amount', 'g.currency'),
    iso('g.paid_at'),
    text('g.campaign'),
    text('g.stripe_checkout_session_id'),
    text('g.stripe_payment_intent_id'),
    text('g.stripe_invoice_id'),
  ];
  const select = cells.map((c, i) => `${c} as ${GIFT_COLUMNS[i]}`).join(', ');
  return `copy (select ${select} from gifts g left join supporters s on s.id = g.supporter_id
    ${where.length ? `where ${where.join(' and ')}` : ''} order by g.ledger_at, g.id)
    to stdout with (format csv, header true, force_quote (${GIFT_TYPED_COLUMNS.join(', ')}))`;
}

const LF = 0x0a;
const QUOTE = 0x22;
const CR = 0x0d;

/**
 * COPY ends records with LF; RFC 4180 (and csvLine) with CRLF. Rewrites record ends, leaving line
 * breaks inside quoted cells alone; `state` carries the quoting across chunk boundaries. The bytes
 * are copied once, into a buffer of the final size. `state.records`, when kept, counts the records
 * ended so far.
 */
export function toCrlf(chunk: Buffer, state: { quoted: boolean; records?: number }): Buffer {
  const ends: number[] = [];
  let nextQuote = chunk.indexOf(QUOTE);
  let nextLf = chunk.indexOf(LF);
  while (nextLf !== -1) {
    if (nextQuote !== -1 && nextQuote < nextLf) {
      state.quoted = !state.quoted;
      nextQuote = chunk.indexOf(QUOTE, nextQuote + 1);
      continue;
    }
    if (!state.quoted) ends.push(nextLf);
    nextLf = chunk.indexOf(LF, nextLf + 1);
  }
  // Quotes after the last LF still change the state for the next chunk.
  while (nextQuote !== -1) {
    state.quoted = !state.quoted;
    nextQuote = chunk.indexOf(QUOTE, nextQuote + 1);
  }
  if (state.records !== undefined) state.records += ends.length;
  if (ends.length === 0) return chunk;
  const out = Buffer.allocUnsafe(chunk.length + ends.length);
  let at = 0;
  let start = 0;
  for (const end of ends) {
    at += chunk.copy(out, at, start, end);
    out[at++] = CR;
    out[at++] = LF;
    start = end + 1;
  }
  chunk.copy(out, at, start);
  return out;
}

import { copyCsv, currencyJoin, list, lit, money, time, typedText, upperCurrency } from './copy-cells.js';
import type { ExportFilters } from './filters.js';
import { GIFT_COLUMNS, GIFT_TYPED_COLUMNS } from './gifts-columns.js';

/**
 * The gifts export as PostgreSQL's own COPY (copy-cells.ts). Stripe's ids go out as they are: they
 * never start like a formula, and are never empty. `currencies`: those configured.
 */
export function giftsCopyQuery(f: ExportFilters, currencies: readonly string[]): string {
  const where: string[] = [];
  if (f.from) where.push(`g.paid_at >= ${lit(f.from.toISOString())}::timestamptz`);
  if (f.to) where.push(`g.paid_at < ${lit(f.to.toISOString())}::timestamptz`);
  if (f.frequency) where.push(`g.frequency in (${list(f.frequency)})`);
  if (f.status) where.push(`g.status in (${list(f.status)})`);
  if (f.currency) where.push(`g.currency in (${list(f.currency)})`);
  const cells = [
    'g.id',
    'g.supporter_id',
    typedText('s.email'),
    'g.frequency',
    money('g.amount', 'c'),
    upperCurrency('c', 'g.currency'),
    'g.status',
    money('g.refunded_amount', 'c'),
    time('g.paid_at'),
    typedText('g.campaign'),
    'g.stripe_checkout_session_id',
    'g.stripe_payment_intent_id',
    'g.stripe_invoice_id',
  ];
  const select = cells.map((c, i) => `${c} as ${GIFT_COLUMNS[i]}`).join(', ');
  return copyCsv(
    `select ${select} from gifts g left join supporters s on s.id = g.supporter_id
      ${currencyJoin('c', 'g.currency', currencies)}
      ${where.length ? `where ${where.join(' and ')}` : ''} order by g.ledger_at, g.id`,
    GIFT_TYPED_COLUMNS,
  );
}

const LF = 0x0a;
const QUOTE = 0x22;
const CR = 0x0d;

/**
 * COPY ends records with LF; RFC 4180 with CRLF. Rewrites record ends, leaving line
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

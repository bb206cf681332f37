import type { Kysely } from 'kysely';
import type { Database, GiftStatus } from '../../db/schema.js';
import { type Cell, money, upper } from './csv.js';
import type { ExportFilters } from './filters.js';
import { afterCursor, type Cursor, cursorAt, keysetPages } from './keyset-pages.js';

export const GIFT_STATUSES: readonly GiftStatus[] = [
  'pending',
  'succeeded',
  'failed',
  'refunded',
  'partially_refunded',
  'disputed',
  'dispute_lost',
];

export const GIFT_COLUMNS = [
  'gift_id',
  'supporter_id',
  'email',
  'frequency',
  'amount',
  'currency',
  'status',
  'refunded_amount',
  'paid_at',
  'campaign',
  'stripe_checkout_session_id',
  'stripe_payment_intent_id',
  'stripe_invoice_id',
] as const;

/** Text people typed: always quoted, in this path and in COPY's (force_quote). */
export const GIFT_TYPED_COLUMNS = ['email', 'campaign'] as const;

/**
 * The ledger in pages of `pageSize`, in (ledger_at, id) order, each page one short query after the
 * last row of the one before: memory stays flat however long the ledger, no transaction stays
 * open, and the embedded database is free between pages. Date filters apply to paid_at.
 */
export function giftPages(db: Kysely<Database>, f: ExportFilters, pageSize: number): AsyncGenerator<Cell[][]> {
  return keysetPages(
    pageSize,
    (after: Cursor | undefined) => {
      let q = db
        .selectFrom('gifts')
        .leftJoin('supporters', 'supporters.id', 'gifts.supporter_id')
        .select([
          'gifts.id',
          'gifts.ledger_at',
          'gifts.supporter_id',
          'supporters.email',
          'gifts.frequency',
          'gifts.amount',
          'gifts.currency',
          'gifts.status',
          'gifts.refunded_amount',
          'gifts.paid_at',
          'gifts.campaign',
          'gifts.stripe_checkout_session_id',
          'gifts.stripe_payment_intent_id',
          'gifts.stripe_invoice_id',
        ])
        .select(cursorAt('gifts.ledger_at'))
        .orderBy('gifts.ledger_at')
        .orderBy('gifts.id')
        .limit(pageSize);
      if (f.from) q = q.where('gifts.paid_at', '>=', f.from);
      if (f.to) q = q.where('gifts.paid_at', '<', f.to);
      if (f.frequency) q = q.where('gifts.frequency', 'in', f.frequency);
      if (f.status) q = q.where('gifts.status', 'in', f.status as GiftStatus[]);
      if (f.currency) q = q.where('gifts.currency', 'in', f.currency);
      if (after) q = q.where(afterCursor('gifts.ledger_at', 'gifts.id', after));
      return q.execute();
    },
    (g) => ({ at: g.cursor_at, id: g.id }),
    (rows) =>
      rows.map((g) => [
        g.id,
        g.supporter_id,
        g.email,
        g.frequency,
        money(g.amount, g.currency),
        upper(g.currency),
        g.status,
        money(g.refunded_amount, g.currency),
        g.paid_at,
        g.campaign,
        g.stripe_checkout_session_id,
        g.stripe_payment_intent_id,
        g.stripe_invoice_id,
      ]),
  );
}

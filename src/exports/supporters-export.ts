import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import { type Cell, money, upper } from './csv.js';
import type { ExportFilters } from './filters.js';
import { afterCursor, type Cursor, cursorAt, keysetPages } from './keyset-pages.js';

export const RECURRING_STATUSES = [
  'active',
  'trialing',
  'past_due',
  'unpaid',
  'paused',
  'incomplete',
  'incomplete_expired',
  'canceled',
  'none',
] as const;

export const SUPPORTER_COLUMNS = [
  'supporter_id',
  'email',
  'name',
  'currency',
  'gifts_count',
  'lifetime_amount',
  'first_gift_at',
  'last_gift_at',
  'recurring_status',
  'recurring_frequency',
  'recurring_amount',
  'stripe_customer_id',
  'created_at',
] as const;

/** Text people typed: always quoted, in this path and in COPY's (force_quote). */
export const SUPPORTER_TYPED_COLUMNS = ['email', 'name'] as const;

interface SupporterRow {
  id: string;
  email: string;
  name: string | null;
  stripe_customer_ids: string[];
  created_at: Date;
  currency: string;
  gifts_count: number;
  lifetime: number;
  first_at: Date | null;
  last_at: Date | null;
  frequencies: string[];
  recurring_status: string | null;
  recurring_interval: string | null;
  recurring_amount: number | null;
}

const FREQUENCY_OF_INTERVAL: Record<string, string> = { month: 'monthly', year: 'annual' };

/** The row's filters: from/to on the last gift, frequency given at, recurring status, currency. */
function keep(r: SupporterRow, f: ExportFilters): boolean {
  if (f.from && (!r.last_at || r.last_at < f.from)) return false;
  if (f.to && (!r.last_at || r.last_at >= f.to)) return false;
  if (f.currency && !f.currency.includes(r.currency)) return false;
  if (f.status && !f.status.includes(r.recurring_status ?? 'none')) return false;
  if (f.frequency && !r.frequencies.some((x) => (f.frequency as string[]).includes(x))) return false;
  return true;
}

/**
 * One row per supporter and currency, in pages of `pageSize` supporters (keyset on created_at, id).
 * Counts and amounts are all-time: gifts that succeeded, net of refunds and lost disputes.
 */
export function supporterPages(db: Kysely<Database>, f: ExportFilters, pageSize: number): AsyncGenerator<Cell[][]> {
  return keysetPages(
    pageSize,
    (after: Cursor | undefined) =>
      db
        .selectFrom('supporters')
        .select(['id', cursorAt('created_at')])
        .$if(after !== undefined, (q) => q.where(afterCursor('created_at', 'id', after!)))
        .orderBy('created_at')
        .orderBy('id')
        .limit(pageSize)
        .execute(),
    (p) => ({ at: p.cursor_at, id: p.id }),
    async (page) => {
      const ids = page.map((p) => p.id);
      const { rows } = await sql<SupporterRow>`
        select s.id, s.email, s.name, s.stripe_customer_ids, s.created_at, x.currency,
               coalesce(g.gifts_count, 0) as gifts_count, coalesce(g.lifetime, 0) as lifetime,
               g.first_at, g.last_at, coalesce(g.frequencies, r.frequencies, '{}') as frequencies,
               r.status as recurring_status, r.interval as recurring_interval, r.amount as recurring_amount
        from supporters s
        join (select supporter_id, currency from gifts where supporter_id = any(${ids}::uuid[])
              union
              select supporter_id, currency from recurring_donations
              where supporter_id = any(${ids}::uuid[]) and currency is not null) x on x.supporter_id = s.id
        left join lateral (
          select count(*) filter (where payment_state = 'succeeded') as gifts_count,
                 sum(net_amount) as lifetime,
                 min(paid_at) filter (where payment_state = 'succeeded') as first_at,
                 max(paid_at) filter (where payment_state = 'succeeded') as last_at,
                 array_agg(distinct frequency) as frequencies
          from gifts where supporter_id = s.id and currency = x.currency) g on true
        left join lateral (
          select status, interval, amount,
                 array[case interval when 'month' then 'monthly' when 'year' then 'annual' end] as frequencies
          from recurring_donations where supporter_id = s.id and currency = x.currency
          order by (status in ('canceled', 'incomplete_expired')), started_at desc nulls last, created_at desc, id
          limit 1) r on true
        order by s.created_at, s.id, x.currency`.execute(db);
      return rows
        .filter((r) => keep(r, f))
        .map((r) => [
          r.id,
          r.email,
          r.name,
          upper(r.currency),
          r.gifts_count,
          money(Number(r.lifetime), r.currency),
          r.first_at,
          r.last_at,
          r.recurring_status,
          r.recurring_interval ? FREQUENCY_OF_INTERVAL[r.recurring_interval] : null,
          money(r.recurring_amount, r.currency),
          r.stripe_customer_ids.join(' '),
          r.created_at,
        ]);
    },
  );
}

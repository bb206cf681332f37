import { copyCsv, currencyJoin, list, lit, money, time, typedText, upperCurrency } from './copy-cells.js';
import type { ExportFilters } from './filters.js';
import { SUPPORTER_COLUMNS, SUPPORTER_TYPED_COLUMNS } from './supporters-columns.js';

/**
 * The supporters export as PostgreSQL's own COPY (copy-cells.ts): the same rows and cells as
 * supporterPages, in one statement that aggregates the ledger once, where pages of supporters
 * probed it supporter by supporter. `currencies`: those configured.
 */
export function supportersCopyQuery(f: ExportFilters, currencies: readonly string[]): string {
  const where: string[] = [];
  if (f.from) where.push(`g.last_at >= ${lit(f.from.toISOString())}::timestamptz`);
  if (f.to) where.push(`g.last_at < ${lit(f.to.toISOString())}::timestamptz`);
  if (f.currency) where.push(`x.currency in (${list(f.currency)})`);
  if (f.status) where.push(`coalesce(r.status, 'none') in (${list(f.status)})`);
  if (f.frequency) {
    // The frequencies given at in this currency, else the recurring donation's.
    const wanted = (frequency: string) => (f.frequency!.includes(frequency as never) ? 'true' : 'false');
    where.push(`case when g.supporter_id is not null
      then (g.once and ${wanted('once')}) or (g.monthly and ${wanted('monthly')}) or (g.annual and ${wanted('annual')})
      else coalesce(${frequencyOf('r.interval')} in (${list(f.frequency)}), false) end`);
  }
  const cells = [
    's.id',
    typedText('s.email'),
    typedText('s.name'),
    upperCurrency('c', 'x.currency'),
    'coalesce(g.gifts_count, 0)',
    money('coalesce(g.lifetime, 0)', 'c'),
    time('g.first_at'),
    time('g.last_at'),
    'r.status',
    frequencyOf('r.interval'),
    money('r.amount', 'c'),
    'r.cancel_reason',
    time('case when r.paused then r.paused_until end'),
    `nullif(array_to_string(s.stripe_customer_ids, ' '), '')`,
    time('s.created_at'),
  ];
  const select = cells.map((c, i) => `${c} as ${SUPPORTER_COLUMNS[i]}`).join(', ');
  return copyCsv(
    `with g as (
        select supporter_id, currency,
               count(*) filter (where payment_state = 'succeeded') as gifts_count,
               sum(net_amount) as lifetime,
               min(paid_at) filter (where payment_state = 'succeeded') as first_at,
               max(paid_at) filter (where payment_state = 'succeeded') as last_at,
               bool_or(frequency = 'once') as once, bool_or(frequency = 'monthly') as monthly,
               bool_or(frequency = 'annual') as annual
        from gifts where supporter_id is not null group by supporter_id, currency),
      r as (
        select distinct on (supporter_id, currency) supporter_id, currency, status, interval, amount,
          cancel_reason, paused, paused_until
        from recurring_donations where supporter_id is not null and currency is not null
        order by supporter_id, currency, (status in ('canceled', 'incomplete_expired')), started_at desc nulls last,
                 created_at desc, id),
      x as (select supporter_id, currency from g union select supporter_id, currency from r)
    select ${select} from x join supporters s on s.id = x.supporter_id
      left join g on g.supporter_id = x.supporter_id and g.currency = x.currency
      left join r on r.supporter_id = x.supporter_id and r.currency = x.currency
      ${currencyJoin('c', 'x.currency', currencies)}
      ${where.length ? `where ${where.join(' and ')}` : ''}
      order by s.created_at, s.id, x.currency`,
    SUPPORTER_TYPED_COLUMNS,
  );
}

const frequencyOf = (interval: string) => `case ${interval} when 'month' then 'monthly' when 'year' then 'annual' end`;

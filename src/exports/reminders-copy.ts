import { copyCsv, currencyJoin, list, lit, money, time, typedText, upperCurrency } from './copy-cells.js';
import type { ExportFilters } from './filters.js';
import { REMINDER_COLUMNS, REMINDER_TYPED_COLUMNS } from './reminders-columns.js';

/**
 * The reminders export as PostgreSQL's own COPY (copy-cells.ts): the same rows and cells as
 * reminderPages. `currencies`: those configured.
 */
export function remindersCopyQuery(f: ExportFilters, currencies: readonly string[]): string {
  const where: string[] = [];
  if (f.from) where.push(`r.created_at >= ${lit(f.from.toISOString())}::timestamptz`);
  if (f.to) where.push(`r.created_at < ${lit(f.to.toISOString())}::timestamptz`);
  if (f.frequency) where.push(`r.frequency in (${list(f.frequency)})`);
  if (f.status) where.push(`r.status in (${list(f.status)})`);
  if (f.currency) where.push(`r.currency in (${list(f.currency)})`);
  const cells = [
    'r.id',
    'r.kind',
    'r.status',
    typedText('r.email'),
    time('r.remind_at'),
    'r.frequency',
    money('r.amount', 'c'),
    `case when r.currency is not null then ${upperCurrency('c', 'r.currency')} end`,
    typedText('r.campaign'),
    typedText('r.consent_version'),
    time('r.created_at'),
    time('r.sent_at'),
    time('r.converted_at'),
    time('r.cancelled_at'),
    time('r.email_erased_at'),
    'r.attempts',
  ];
  const select = cells.map((c, i) => `${c} as ${REMINDER_COLUMNS[i]}`).join(', ');
  return copyCsv(
    `select ${select} from reminders r ${currencyJoin('c', 'r.currency', currencies)}
      ${where.length ? `where ${where.join(' and ')}` : ''} order by r.created_at, r.id`,
    REMINDER_TYPED_COLUMNS,
  );
}

import type { Kysely } from 'kysely';
import type { Database, ReminderStatus } from '../../db/schema.js';
import { type Cell, money, upper } from './csv.js';
import type { ExportFilters } from './filters.js';
import { afterCursor, type Cursor, cursorAt, keysetPages } from './keyset-pages.js';

export const REMINDER_STATUSES: readonly ReminderStatus[] = [
  'pending',
  'sending',
  'sent',
  'failed',
  'cancelled',
  'converted',
];

export const REMINDER_COLUMNS = [
  'reminder_id',
  'kind',
  'status',
  'email',
  'remind_at',
  'frequency',
  'amount',
  'currency',
  'campaign',
  'consent_version',
  'created_at',
  'sent_at',
  'converted_at',
  'cancelled_at',
  'email_erased_at',
  'attempts',
] as const;

/** Text people typed: always quoted, in this path and in COPY's (force_quote). */
export const REMINDER_TYPED_COLUMNS = ['email', 'campaign'] as const;

/** Reminders in (created_at, id) pages; from/to apply to when the reminder was asked for. */
export function reminderPages(db: Kysely<Database>, f: ExportFilters, pageSize: number): AsyncGenerator<Cell[][]> {
  return keysetPages(
    pageSize,
    (after: Cursor | undefined) => {
      let q = db
        .selectFrom('reminders')
        .selectAll()
        .select(cursorAt('created_at'))
        .orderBy('created_at')
        .orderBy('id')
        .limit(pageSize);
      if (f.from) q = q.where('created_at', '>=', f.from);
      if (f.to) q = q.where('created_at', '<', f.to);
      if (f.frequency) q = q.where('frequency', 'in', f.frequency);
      if (f.status) q = q.where('status', 'in', f.status as ReminderStatus[]);
      if (f.currency) q = q.where('currency', 'in', f.currency);
      if (after) q = q.where(afterCursor('created_at', 'id', after));
      return q.execute();
    },
    (r) => ({ at: r.cursor_at, id: r.id }),
    (rows) =>
      rows.map((r) => [
        r.id,
        r.kind,
        r.status,
        r.email,
        r.remind_at,
        r.frequency,
        money(r.amount, r.currency),
        upper(r.currency),
        r.campaign,
        r.consent_version,
        r.created_at,
        r.sent_at,
        r.converted_at,
        r.cancelled_at,
        r.email_erased_at,
        r.attempts,
      ]),
  );
}

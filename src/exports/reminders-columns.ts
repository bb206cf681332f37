import type { ReminderStatus } from '../../db/schema.js';

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

import { type Fragment, join, sql as q } from '../../db/sql-fragment.js';

/**
 * The reader gave: their pending reminders close as converted and are never sent. Matched by the
 * e-mail a gift was made with, or by the reader id of the checkout that completed (an expression:
 * the event's statement reads it from the checkout it marks complete). Null when there is nothing to match.
 */
export function convertRemindersQuery(
  who: { email?: string | null; readerId?: Fragment },
  at: Date,
  now: Date,
): Fragment | null {
  const email = who.email?.trim().toLowerCase();
  // kind = 'email' lets the e-mail arm use its index (a deferral never has an e-mail), so the
  // statement never scans every reminder.
  const matches = [
    ...(email ? [q`kind = 'email' and email = ${email}`] : []),
    ...(who.readerId ? [q`reader_id = ${who.readerId}`] : []),
  ];
  if (matches.length === 0) return null;
  // A closed reminder has no use for the address: it goes in the same statement.
  return q`update reminders set status = 'converted', converted_at = ${at}, closed_at = ${now}, updated_at = ${now},
      email = null, email_erased_at = case when email is null then email_erased_at else ${now}::timestamptz end
    where status = 'pending' and (${join(matches, ' or ')})`;
}

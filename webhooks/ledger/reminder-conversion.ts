import { type Fragment, join, sql as q } from '../../db/sql-fragment.js';
import type { Ctes, EventStatement } from '../event-statement.js';

/**
 * Adds the `converted` CTE: the reader gave, so their pending reminders close as converted and are
 * never sent. Matched by the e-mail a gift was made with, or by the reader id of the checkout that
 * completed (an expression the statement reads from the checkout it marks complete). Nothing to
 * add when there is nothing to match.
 */
export function withRemindersConverted<R extends Ctes>(
  statement: EventStatement<R>,
  who: { email?: string | null; readerId?: (ctes: R) => Fragment },
  at: Date,
  now: Date,
): EventStatement<R> {
  const email = who.email?.trim().toLowerCase();
  const readerId = who.readerId;
  if (!email && !readerId) return statement;
  return statement.write('converted', (c, when) => {
    // kind = 'email' lets the e-mail arm use its index (a deferral never has an e-mail), so the
    // statement never scans every reminder.
    const matches = [
      ...(email ? [q`kind = 'email' and email = ${email}`] : []),
      ...(readerId ? [q`reader_id = ${readerId(c)}`] : []),
    ];
    // A closed reminder has no use for the address: it goes in the same statement.
    return q`update reminders set status = 'converted', converted_at = ${at}, closed_at = ${now}, updated_at = ${now},
      email = null, email_erased_at = case when email is null then email_erased_at else ${now}::timestamptz end
    where status = 'pending' and (${join(matches, ' or ')}) and ${when}`;
  });
}

import { sql } from '../../db/sql-fragment.js';
import type { Ctes, EventStatement } from '../event-statement.js';

/** Adds the `checkout` CTE: the session completed (first completion wins); gives its reader id. */
export function withCheckoutCompleted<R extends Ctes>(
  statement: EventStatement<R>,
  stripeSessionId: string,
  at: Date,
  now: Date,
) {
  return statement.write(
    'checkout',
    (_, when) => sql`update checkout_sessions
      set status = 'complete', completed_at = least(coalesce(completed_at, ${at}), ${at}), updated_at = ${now}
      where stripe_session_id = ${stripeSessionId} and ${when}`,
    ['reader_id'],
  );
}

/** Adds the `expired` CTE: an expiry never overrides a completion. */
export function withCheckoutExpired<R extends Ctes>(
  statement: EventStatement<R>,
  stripeSessionId: string,
  at: Date,
  now: Date,
) {
  return statement.write(
    'expired',
    (_, when) => sql`update checkout_sessions set status = 'expired', expired_at = ${at}, updated_at = ${now}
      where stripe_session_id = ${stripeSessionId} and status = 'open' and ${when}`,
  );
}

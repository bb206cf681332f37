import { sql } from '../../db/sql-fragment.js';
import type { Cte, Ctes, EventStatement } from '../event-statement.js';

/**
 * Adds the `notice` CTE: queues the e-mail that tells a donor their payment failed, with a link
 * to update the card (src/manage/send-links.ts sends it). One per invoice, however many retries
 * fail: the invoice id is unique in the outbox. Whether the supporter has an address (not erased)
 * is decided when it is sent, from their row then.
 */
export function withPaymentFailedNotice<R extends Ctes & { supporter: Cte<'id'> }>(
  statement: EventStatement<R>,
  invoiceId: string,
  now: Date,
) {
  return statement.write(
    'notice',
    (
      c,
      when,
    ) => sql`insert into manage_links (id, supporter_id, purpose, stripe_invoice_id, status, created_at, updated_at)
      select gen_random_uuid(), id, 'payment_failed', ${invoiceId}, 'pending', ${now}, ${now}
      from ${c.supporter.relation} where id is not null and ${when}
      on conflict do nothing`,
  );
}

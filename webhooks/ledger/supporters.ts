import { randomUUID } from 'node:crypto';
import { assignments, type Fragment, insertInto, raw, sql } from '../../db/sql-fragment.js';
import type { Cte, Ctes, EventStatement } from '../event-statement.js';
import { GIFT_CTE } from './gifts.js';
import { DONATION_CTE } from './recurring-donations.js';

export interface SupporterFacts {
  email: string;
  name: string | null;
  stripeCustomerId: string | null;
  /** eventVersion of the event that carries the name: the newest name wins. */
  version: string;
  now: Date;
}

const nameWins = sql`excluded.name is not null and (supporters.name_version is null or excluded.name_version > supporters.name_version)`;

/**
 * Finds or creates the supporter for an e-mail (matched lower-cased) and records the Stripe
 * customer id; returns its id. Written only when `when` holds.
 */
function upsertSupporterQuery(f: SupporterFacts, when: Fragment): Fragment {
  const values = {
    id: randomUUID(),
    email: f.email.trim().toLowerCase(),
    name: f.name,
    name_version: f.name ? f.version : null,
    stripe_customer_ids: f.stripeCustomerId ? [f.stripeCustomerId] : [],
    created_at: f.now,
    updated_at: f.now,
  };
  const merged = assignments('supporters', {
    name: sql`case when ${nameWins} then excluded.name else supporters.name end`,
    name_version: sql`case when ${nameWins} then excluded.name_version else supporters.name_version end`,
    // Kept sorted and distinct, so the list is the same whatever order customers were seen in;
    // rebuilt only when the event brings a customer not in it yet.
    stripe_customer_ids: sql`case when supporters.stripe_customer_ids @> excluded.stripe_customer_ids
      then supporters.stripe_customer_ids
      else array(select distinct unnest(supporters.stripe_customer_ids || excluded.stripe_customer_ids) order by 1) end`,
    updated_at: sql`excluded.updated_at`,
  });
  return sql`${insertInto('supporters', values, when)} on conflict (email) do update set ${merged}`;
}

/** What an event brings to recognise an erased supporter (src/privacy/erase-supporter.ts). */
export interface ErasureCheck {
  /** The keyed hash of the event's e-mail, as an erased supporter keeps it for a while. */
  emailKey: string;
  /** When Stripe created the event: only events from before an erasure belong to the erased row. */
  eventCreatedAt: Date;
}

/**
 * The erased supporter an event with an e-mail belongs to, if any: one that kept this e-mail's
 * keyed hash and was erased after the event was created (a checkout completed before the erasure,
 * delivered late or retried, with a customer the erasure never saw), or one this customer belongs
 * to, unless the e-mail is a live supporter's (a renewal, a refund). Either way the event reaches
 * the ledger through the row that stays, and never brings its e-mail or name back (a query).
 */
function erasedSupporterQuery(email: string, customerId: string | null, check: ErasureCheck): Fragment {
  const byCustomer = customerId
    ? sql` union all select c.supporter_id, 2 from supporter_customers c
      where c.stripe_customer_id = ${customerId}
        and exists (select 1 from supporters s where s.id = c.supporter_id and s.erased_at is not null)
        and not exists (select 1 from supporters s where s.email = ${email.trim().toLowerCase()})`
    : raw('');
  return sql`select id from (
      select s.id, 1 as rank from supporters s
      where s.erased_email_hash = ${check.emailKey} and s.erased_at > ${check.eventCreatedAt}${byCustomer}
    ) candidates order by rank, id limit 1`;
}

/** The supporter a Stripe customer belongs to, if an event has told us its e-mail yet (a query). */
function supporterForCustomerQuery(customerId: string): Fragment {
  // One customer can have two supporters (the donor changed e-mail): pick the same one every time.
  // The e-mail is read per candidate through the primary key, never by a join: a join's plan
  // depends on table statistics, and a prepared statement planned while the tables were small (a
  // fresh install, or a server without autovacuum) kept scanning every supporter for each event.
  return sql`select c.supporter_id as id from supporter_customers c
    where c.stripe_customer_id = ${customerId}
    order by (select s.email from supporters s where s.id = c.supporter_id) limit 1`;
}

type WithSupporter<R extends Ctes> = EventStatement<R & { supporter: Cte<'id'> }>;

/**
 * Adds the `supporter` CTE, which later ones read as `ctes.supporter.value('id')`: by the event's
 * e-mail when it has one (recording its Stripe customer as this supporter's), except that a
 * customer of an erased supporter stays with that row; else by its Stripe customer, else none.
 */
export function withSupporter<R extends Ctes>(
  statement: EventStatement<R>,
  f: Omit<SupporterFacts, 'email'> & { email: string | null; erasure: ErasureCheck | null },
): WithSupporter<R> {
  if (!f.email) {
    const customerId = f.stripeCustomerId;
    return statement.read(
      'supporter',
      () => (customerId ? supporterForCustomerQuery(customerId) : sql`select null::uuid as id`),
      ['id'],
    );
  }
  if (!f.erasure) throw new Error('an event that names an e-mail needs its erasure check');
  const email = f.email;
  const erasure = f.erasure;
  const found = statement
    .read('erased_supporter', () => erasedSupporterQuery(email, f.stripeCustomerId, erasure), ['id'])
    .write(
      'supporter_upserted',
      (c, when) => upsertSupporterQuery({ ...f, email }, sql`${when} and not ${c.erased_supporter.exists}`),
      ['id'],
    )
    .read('supporter', (c) => sql`${c.supporter_upserted.column('id')} union all ${c.erased_supporter.column('id')}`, [
      'id',
    ]);
  const customerId = f.stripeCustomerId;
  if (!customerId) return found;
  return found.write(
    'supporter_customer',
    (c, when) => sql`insert into supporter_customers (stripe_customer_id, supporter_id)
      select ${customerId}, id from ${c.supporter.relation} where ${when} on conflict do nothing`,
  );
}

/**
 * Gifts and donations of this customer that arrived before any e-mail now belong to the event's
 * supporter. The gift and donation the statement writes itself (withGift, withRecurringDonation,
 * which give them the supporter there) are left out, found by their CTEs: two CTEs must never
 * modify the same row. Add it last. Usually it finds nothing, in indexes that hold only orphans
 * (migration 2026_11_29_0600).
 */
export function withOrphansLinked<R extends Ctes & { supporter: Cte<'id'> }>(
  statement: EventStatement<R>,
  customerId: string,
): EventStatement<R> {
  const written: Ctes = statement.ctes;
  const untouched = (name: string) => {
    const cte = written[name] as Cte<'id'> | undefined;
    return cte ? sql` and id not in (${cte.column('id')})` : raw('');
  };
  return statement
    .write(
      'orphan_gifts',
      (c, when) => sql`update gifts set supporter_id = ${c.supporter.value('id')}
        where stripe_customer_id = ${customerId} and supporter_id is null${untouched(GIFT_CTE)} and ${when}`,
    )
    .write(
      'orphan_donations',
      (
        c,
        when,
      ) => sql`update recurring_donations set supporter_id = ${c.supporter.value('id')}, supporter_version = null
        where stripe_customer_id = ${customerId} and supporter_id is null${untouched(DONATION_CTE)} and ${when}`,
    );
}

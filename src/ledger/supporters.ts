import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

export interface SupporterFacts {
  email: string;
  name: string | null;
  stripeCustomerId: string | null;
  /** eventVersion of the event that carries the name: the newest name wins. */
  version: string;
  now: Date;
}

/**
 * Finds or creates the supporter for an e-mail (matched lower-cased), records the Stripe customer
 * id, and claims gifts and recurring donations of that customer that arrived before any e-mail.
 */
export async function upsertSupporter(trx: Kysely<Database>, f: SupporterFacts): Promise<string> {
  const customerIds = f.stripeCustomerId ? [f.stripeCustomerId] : [];
  const row = await trx
    .insertInto('supporters')
    .values({
      id: randomUUID(),
      email: f.email.trim().toLowerCase(),
      name: f.name,
      name_version: f.name ? f.version : null,
      stripe_customer_ids: customerIds,
      first_gift_at: null,
      last_gift_at: null,
      created_at: f.now,
      updated_at: f.now,
    })
    .onConflict((oc) =>
      oc.column('email').doUpdateSet({
        name: sql`case when excluded.name is not null and (supporters.name_version is null or excluded.name_version > supporters.name_version) then excluded.name else supporters.name end`,
        name_version: sql`case when excluded.name is not null and (supporters.name_version is null or excluded.name_version > supporters.name_version) then excluded.name_version else supporters.name_version end`,
        // Kept sorted and distinct, so the list is the same whatever order customers were seen in.
        stripe_customer_ids: sql`array(select distinct unnest(supporters.stripe_customer_ids || excluded.stripe_customer_ids) order by 1)`,
        updated_at: sql`excluded.updated_at`,
      }),
    )
    .returning('id')
    .executeTakeFirstOrThrow();

  if (f.stripeCustomerId) {
    // Gifts and donations of this customer that arrived before any e-mail now belong to this
    // supporter; their payments move the gift dates. One statement, one round trip.
    await sql`with linked as (
        update gifts set supporter_id = ${row.id}
        where stripe_customer_id = ${f.stripeCustomerId} and supporter_id is null
        returning paid_at, payment_state),
      donations as (
        update recurring_donations set supporter_id = ${row.id}, supporter_version = null
        where stripe_customer_id = ${f.stripeCustomerId} and supporter_id is null
        returning id),
      span as (
        select min(paid_at) as first_at, max(paid_at) as last_at from linked where payment_state = 'succeeded')
      update supporters s set
        first_gift_at = least(s.first_gift_at, span.first_at),
        last_gift_at = greatest(s.last_gift_at, span.last_at)
      from span, (select count(*) from donations) as d
      where s.id = ${row.id} and span.first_at is not null`.execute(trx);
  }
  return row.id;
}

/** The supporter a Stripe customer belongs to, if an event has told us its e-mail yet. */
export async function supporterForCustomer(trx: Kysely<Database>, customerId: string | null): Promise<string | null> {
  if (!customerId) return null;
  const row = await trx
    .selectFrom('supporters')
    .select('id')
    .where(sql<boolean>`stripe_customer_ids @> array[${customerId}]::text[]`)
    // One customer can have two supporters (the donor changed e-mail): pick the same one every time.
    .orderBy('email')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}

/**
 * A payment that went through moves its supporter's first and last gift dates. The UPDATE locks
 * the row and compares with its latest version, so concurrent gifts of one supporter all count.
 */
export async function bumpGiftDates(trx: Kysely<Database>, supporterId: string, paidAt: Date): Promise<void> {
  await trx
    .updateTable('supporters')
    .set({
      first_gift_at: sql`least(first_gift_at, ${paidAt}::timestamptz)`,
      last_gift_at: sql`greatest(last_gift_at, ${paidAt}::timestamptz)`,
    })
    .where('id', '=', supporterId)
    .execute();
}

/** The supporter for an event: by its e-mail when it has one, else by its Stripe customer. */
export async function resolveSupporter(
  trx: Kysely<Database>,
  f: Omit<SupporterFacts, 'email'> & { email: string | null },
): Promise<string | null> {
  if (f.email) return upsertSupporter(trx, { ...f, email: f.email });
  return supporterForCustomer(trx, f.stripeCustomerId);
}

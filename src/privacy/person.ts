import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

export interface PersonSupporter {
  id: string;
  email: string | null;
  name: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The person an access or erasure request is about, found by the e-mail they gave. */
export interface Person {
  /** The e-mail asked about, lower-cased. */
  email: string;
  /**
   * Their supporter rows: the one with this e-mail, and any that shares a Stripe customer with it
   * (a donor who changed e-mail in Stripe's portal has two, one per address).
   */
  supporters: PersonSupporter[];
  /** Every e-mail address they are known by: the one asked about and their rows'. */
  emails: string[];
  /** The Stripe customers their gifts came through. */
  customers: string[];
  /** The Stripe ids of their gifts and donations (sessions, payments, invoices, charges, subscriptions). */
  stripeIds: string[];
}

export const normalisedEmail = (email: string) => email.trim().toLowerCase();

const SUPPORTER_COLUMNS = ['id', 'email', 'name', 'created_at', 'updated_at'] as const;

/** Undefined when nothing is held for this e-mail: no supporter and no reminder. */
export async function findPerson(db: Kysely<Database>, rawEmail: string): Promise<Person | undefined> {
  const email = normalisedEmail(rawEmail);
  const first = await db
    .selectFrom('supporters')
    .select(SUPPORTER_COLUMNS)
    .where('email', '=', email)
    .executeTakeFirst();
  const supporters: PersonSupporter[] = first ? [first] : [];
  if (first) {
    const siblings = await db
      .selectFrom('supporters')
      .select(SUPPORTER_COLUMNS)
      .where('id', '!=', first.id)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('supporter_customers as mine')
          .innerJoin('supporter_customers as theirs', 'theirs.stripe_customer_id', 'mine.stripe_customer_id')
          .select('theirs.supporter_id')
          .where('mine.supporter_id', '=', first.id),
      )
      .orderBy('id')
      .execute();
    supporters.push(...siblings);
  }
  const ids = supporters.map((s) => s.id);
  const customers =
    ids.length === 0
      ? []
      : (
          await db
            .selectFrom('supporter_customers')
            .select('stripe_customer_id')
            .distinct()
            .where('supporter_id', 'in', ids)
            .orderBy('stripe_customer_id')
            .execute()
        ).map((r) => r.stripe_customer_id);
  const emails = [...new Set([email, ...supporters.flatMap((s) => (s.email ? [s.email] : []))])];
  const reminder = await db
    .selectFrom('reminders')
    .select('id')
    .where('kind', '=', 'email')
    .where('email', 'in', emails)
    .executeTakeFirst();
  if (supporters.length === 0 && !reminder) return undefined;
  const person = { email, supporters, emails, customers, stripeIds: [] as string[] };
  const { rows } = await sql<{ id: string }>`
    select distinct unnest(array[stripe_checkout_session_id, stripe_payment_intent_id, stripe_invoice_id,
      stripe_charge_id, stripe_subscription_id]) as id from gifts where ${ownedBy(person, 'gifts')}
    union
    select stripe_subscription_id from recurring_donations where ${ownedBy(person, 'recurring_donations')}`.execute(db);
  person.stripeIds = rows.flatMap((r) => (r.id ? [r.id] : [])).sort();
  return person;
}

/** Gifts and donations of their supporter rows, and of their customers before an e-mail named them. */
export function ownedBy(p: Pick<Person, 'supporters' | 'customers'>, table: 'gifts' | 'recurring_donations') {
  const ids = p.supporters.map((s) => s.id);
  return sql<boolean>`(${sql.ref(`${table}.supporter_id`)} = any(${ids}::uuid[]) or (${sql.ref(`${table}.supporter_id`)} is null
    and ${sql.ref(`${table}.stripe_customer_id`)} = any(${p.customers}::text[])))`;
}

/**
 * Stored event bodies that name this person: one of their e-mails as a JSON string (so
 * "ann@example.co" does not match "joann@example.com"), or one of their Stripe ids, by the ids the
 * event was recorded with or in the body itself (a dispute names the charge, not the customer).
 */
export function eventsNaming(p: Person) {
  const ids = [...p.customers, ...p.stripeIds];
  return sql<boolean>`(payload is not null and (
    exists (select 1 from unnest(${p.emails}::text[]) e where strpos(lower(payload), '"' || e || '"') > 0)
    or object_ids && ${ids}::text[]
    or exists (select 1 from unnest(${ids}::text[]) i where strpos(payload, '"' || i || '"') > 0)))`;
}

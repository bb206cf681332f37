import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

/** The person an access or erasure request is about: by the e-mail they gave. */
export interface Person {
  email: string;
  supporter: Awaited<ReturnType<typeof findSupporter>>;
  /** The Stripe customers their gifts came through. */
  customers: string[];
}

const normalised = (email: string) => email.trim().toLowerCase();

function findSupporter(db: Kysely<Database>, email: string) {
  return db
    .selectFrom('supporters')
    .select(['id', 'email', 'name', 'created_at', 'updated_at'])
    .where('email', '=', email)
    .executeTakeFirst();
}

/** The supporter with this e-mail and their customers, or only their reminders; undefined when nothing is held. */
export async function findPerson(db: Kysely<Database>, rawEmail: string): Promise<Person | undefined> {
  const email = normalised(rawEmail);
  const supporter = await findSupporter(db, email);
  const customers = supporter
    ? (
        await db
          .selectFrom('supporter_customers')
          .select('stripe_customer_id')
          .where('supporter_id', '=', supporter.id)
          .orderBy('stripe_customer_id')
          .execute()
      ).map((r) => r.stripe_customer_id)
    : [];
  const reminder = await db
    .selectFrom('reminders')
    .select('id')
    .where('kind', '=', 'email')
    .where('email', '=', email)
    .executeTakeFirst();
  if (!supporter && !reminder) return undefined;
  return { email, supporter, customers };
}

/** Gifts and donations of the supporter, and of their customers before an e-mail named them. */
export function ownedBy<T extends 'gifts' | 'recurring_donations'>(f: Person, table: T) {
  const id = f.supporter?.id ?? null;
  return sql<boolean>`(${sql.ref(`${table}.supporter_id`)} = ${id}::uuid or (${sql.ref(`${table}.supporter_id`)} is null
    and ${sql.ref(`${table}.stripe_customer_id`)} = any(${f.customers}::text[])))`;
}

/** Failed events whose stored body names this e-mail or one of these customers. */
export function eventsNaming(f: Person) {
  return sql<boolean>`(payload is not null and (strpos(lower(payload), ${f.email}) > 0
    or object_ids && ${f.customers}::text[]))`;
}

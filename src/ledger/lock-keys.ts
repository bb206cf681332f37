import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

/**
 * Serialises transactions that touch the same Stripe objects or e-mail (transaction-scoped advisory
 * locks, taken in one sorted round trip so two events never wait on each other crosswise). Without
 * it, a refund and the gift it refunds, committed at the same moment, could each miss the other.
 */
export async function lockKeys(trx: Kysely<Database>, keys: ReadonlyArray<string | null | undefined>): Promise<void> {
  const unique = [...new Set(keys.filter((k): k is string => Boolean(k)))];
  if (unique.length === 0) return;
  await sql`select count(pg_advisory_xact_lock(h)) from (
      select distinct hashtextextended(k, 0) as h from unnest(${unique}::text[]) as k order by 1 offset 0
    ) as ordered`.execute(trx);
}

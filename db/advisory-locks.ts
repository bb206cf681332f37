import { createHash } from 'node:crypto';
import { CompiledQuery } from 'kysely';

/**
 * Advisory lock ids for the Stripe objects and e-mail an event (or an erasure) touches: 64-bit,
 * from SHA-256 of the namespaced key, distinct and sorted, so two transactions that share keys
 * always take them in the same order and never wait on each other crosswise.
 */
export function lockIds(keys: ReadonlyArray<string | null | undefined>): bigint[] {
  const ids = new Set<bigint>();
  for (const key of keys) {
    if (key) ids.add(createHash('sha256').update(key).digest().readBigInt64BE(0));
  }
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The statement texts by number of keys: one shape each, so each is prepared once per connection. */
const texts: string[] = [];

/**
 * The statement that takes them (transaction-scoped), in order: PostgreSQL evaluates a select list
 * left to right. Were the order ever different, two events sharing keys would deadlock, and the
 * database's deadlock error is retried (webhooks/process-event.ts). Without these locks a refund
 * and the gift it refunds, committed at the same moment, could each miss the other.
 */
export function lockStatement(ids: readonly bigint[]): CompiledQuery | null {
  if (ids.length === 0) return null;
  texts[ids.length] ??= `select ${ids.map((_, i) => `pg_advisory_xact_lock($${i + 1}::int8)`).join(', ')}`;
  return CompiledQuery.raw(texts[ids.length]!, ids.map(String));
}

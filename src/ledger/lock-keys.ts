import { createHash } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import { PREPARE_MARK } from '../../db/prepared-statements.js';

/**
 * Advisory lock ids for the Stripe objects and e-mail an event touches: 64-bit, from SHA-256 of
 * the namespaced key, distinct and sorted, so two events that share keys always take them in the
 * same order and never wait on each other crosswise.
 */
export function lockIds(keys: ReadonlyArray<string | null | undefined>): bigint[] {
  const ids = new Set<bigint>();
  for (const key of keys) {
    if (key) ids.add(createHash('sha256').update(key).digest().readBigInt64BE(0));
  }
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The statement that takes them (transaction-scoped), in order: PostgreSQL evaluates a select list
 * left to right. Prepared once per connection for each number of keys. Were the order ever
 * different, two events sharing keys would deadlock, and the database's deadlock error is retried
 * (webhooks/process-event.ts). Without these locks a refund and the gift it refunds, committed at
 * the same moment, could each miss the other.
 */
export function lockStatement(ids: readonly bigint[]): CompiledQuery | null {
  if (ids.length === 0) return null;
  let text = LOCK_TEXTS[ids.length];
  if (text === undefined) {
    text = `${PREPARE_MARK} select ${ids.map((_, i) => `pg_advisory_xact_lock($${i + 1}::int8)`).join(', ')}`;
    LOCK_TEXTS[ids.length] = text;
  }
  return CompiledQuery.raw(text, ids.map(String));
}

const LOCK_TEXTS: string[] = [];

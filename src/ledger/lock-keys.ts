import { createHash } from 'node:crypto';

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
 * The statements that take them (transaction-scoped), one per lock so the order is the order
 * written. Each holds only an integer literal, so they can share a round trip with BEGIN, and each
 * is too simple to cost the database a plan. Without these locks a refund and the gift it refunds,
 * committed at the same moment, could each miss the other.
 */
export function lockStatements(ids: readonly bigint[]): string[] {
  return ids.map((id) => `select pg_advisory_xact_lock(${id})`);
}

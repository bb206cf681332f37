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
 *
 * With `unlessProcessed`, the statement then stops (SQLSTATE RD001) if that event is processed
 * already, so a repeat delivery ends before its effect runs. Its snapshot is from before the locks,
 * so it can miss a delivery of the same event that committed while this one waited; the claim in
 * the effect statement stops that one (webhooks/process-event.ts).
 */
export function lockStatement(ids: readonly bigint[], unlessProcessed?: string): CompiledQuery | null {
  if (ids.length === 0) return null;
  const check = unlessProcessed === undefined ? 0 : 1;
  const texts = LOCK_TEXTS[check]!;
  let text = texts[ids.length];
  if (text === undefined) {
    const locks = ids.map((_, i) => `pg_advisory_xact_lock($${i + 1}::int8)`);
    if (check) locks.push(UNLESS_PROCESSED(ids.length + 1));
    text = `${PREPARE_MARK} select ${locks.join(', ')}`;
    texts[ids.length] = text;
  }
  const parameters: string[] = ids.map(String);
  if (unlessProcessed !== undefined) parameters.push(unlessProcessed);
  return CompiledQuery.raw(text, parameters);
}

/** The SQLSTATE a repeat delivery stops with, here or in its effect statement (webhooks/process-event.ts). */
export const REPEAT_STOPPED = 'RD001';

const UNLESS_PROCESSED = (n: number) => `case
    when exists (select 1 from stripe_events where id = $${n} and processed_at is not null)
    then rd_stop_event_statement('${REPEAT_STOPPED}', 'event already processed') else true end`;

/** The statement texts by number of keys: without the repeat check, and with it. */
const LOCK_TEXTS: [string[], string[]] = [[], []];

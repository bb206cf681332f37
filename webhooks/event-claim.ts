import { assignments, type Fragment, insertInto, sql as q } from '../db/sql-fragment.js';
import { eventRow } from './event-row.js';
import type { EventEnvelope } from './stripe-objects.js';

/**
 * Stores the event as processed, or ignored with the reason (or takes up a stored one that
 * failed, dropping its body), in the transaction that applies it: if the effect fails, the row
 * goes with it. Returns the id, or nothing when it was processed already: a repeat delivery, or a
 * concurrent one that committed first. A query to use as the `claim` CTE of the event's statement.
 */
export function claimQuery(event: EventEnvelope, now: Date, ignoredFor?: string): Fragment {
  const outcome = ignoredFor === undefined ? 'processed' : 'ignored';
  const error = ignoredFor ?? null;
  const row = insertInto('stripe_events', {
    ...eventRow(event, null, now),
    outcome,
    processed_at: now,
    error,
    attempts: 1,
  });
  const retaken = assignments('stripe_events', {
    attempts: q`stripe_events.attempts + 1`,
    outcome,
    processed_at: now,
    error,
    payload: null,
  });
  return q`${row} on conflict (id) do update set ${retaken} where stripe_events.processed_at is null returning id`;
}

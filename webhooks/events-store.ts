import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { assignments, type Fragment, insertInto, sql as q } from '../db/sql-fragment.js';
import type { EventEnvelope } from './stripe-objects.js';

const REFERENCES = ['customer', 'subscription', 'payment_intent', 'invoice', 'charge'] as const;
const STRIPE_ID = /^[a-z]+_[A-Za-z0-9_]{1,250}$/;

/**
 * What an event's row keeps of it once processed or ignored: the ids of its object and of the
 * objects that one references, sorted. Only strings shaped like Stripe ids, never other content.
 */
export function objectIdsOf(object: Record<string, unknown>): string[] {
  const ref = (v: unknown) => (typeof v === 'string' ? v : (v as { id?: unknown } | null)?.id);
  const parent = object.parent as { subscription_details?: { subscription?: unknown } } | null | undefined;
  const ids = new Set<string>();
  for (const v of [
    object.id,
    ...REFERENCES.map((k) => ref(object[k])),
    ref(parent?.subscription_details?.subscription),
  ]) {
    if (typeof v === 'string' && STRIPE_ID.test(v)) ids.add(v);
  }
  return [...ids].sort();
}

/** The event's row; its body only while it waits to be processed (docs/privacy.md). */
function eventRow(event: EventEnvelope, body: string | null, now: Date) {
  return {
    id: event.id,
    type: event.type,
    api_version: event.api_version ?? null,
    created: new Date(event.created * 1000),
    livemode: event.livemode,
    payload: body,
    object_ids: objectIdsOf(event.data.object),
    received_at: now,
  };
}

export async function isProcessed(db: Kysely<Database>, eventId: string): Promise<boolean> {
  const row = await db.selectFrom('stripe_events').select('processed_at').where('id', '=', eventId).executeTakeFirst();
  return Boolean(row?.processed_at);
}

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

/** An event we deliberately do not act on is still recorded, ignored with the reason, without its body. */
export async function storeIgnored(db: Kysely<Database>, event: EventEnvelope, now: Date, reason: string) {
  await db
    .insertInto('stripe_events')
    .values({ ...eventRow(event, null, now), outcome: 'ignored', processed_at: now, error: reason, attempts: 1 })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/**
 * A correctly signed body that is not a Stripe event (Stripe sends none; a test tool or a format we
 * do not know might): recorded as ignored with the reason, without the body, under an id made from
 * its hash, so Stripe's retries of the same body make one row.
 */
export async function storeUnreadable(db: Kysely<Database>, raw: string, now: Date, reason: string) {
  const id = `unreadable_${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`;
  await db
    .insertInto('stripe_events')
    .values({
      id,
      type: 'unreadable',
      api_version: null,
      created: now,
      livemode: false,
      payload: null,
      received_at: now,
      processed_at: now,
      outcome: 'ignored',
      error: reason,
      attempts: 1,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return id;
}

/**
 * Kept outside the rolled-back transaction, with its body, so the event waits for a retry or a
 * replay. A redelivery brings the body back if retention or an erasure had dropped it.
 */
export async function recordFailure(db: Kysely<Database>, event: EventEnvelope, raw: string, now: Date, error: string) {
  await db
    .insertInto('stripe_events')
    .values({ ...eventRow(event, raw, now), outcome: 'failed', error, attempts: 1 })
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet({
          outcome: 'failed',
          error,
          attempts: sql`stripe_events.attempts + 1`,
          payload: sql`excluded.payload`,
          // The retention counts from when the body was last stored.
          received_at: sql`case when stripe_events.payload is null then excluded.received_at else stripe_events.received_at end`,
        })
        .where('stripe_events.processed_at', 'is', null),
    )
    .execute();
}

export async function failedEvents(db: Kysely<Database>, filter: { since?: Date; id?: string }) {
  let q = db.selectFrom('stripe_events').select(['id', 'type', 'payload', 'outcome', 'processed_at']);
  // One by id, whatever its state; otherwise every failed event that still has its body.
  if (filter.id) q = q.where('id', '=', filter.id);
  else q = q.where('outcome', '=', 'failed').where('payload', 'is not', null);
  if (filter.since) q = q.where('received_at', '>=', filter.since);
  return q.orderBy('created').orderBy('id').execute();
}

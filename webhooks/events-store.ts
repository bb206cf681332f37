import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { eventRow } from './event-row.js';
import type { EventEnvelope } from './stripe-objects.js';

export async function isProcessed(db: Kysely<Database>, eventId: string): Promise<boolean> {
  const row = await db.selectFrom('stripe_events').select('processed_at').where('id', '=', eventId).executeTakeFirst();
  return Boolean(row?.processed_at);
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

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
export function eventRow(event: EventEnvelope, body: string | null, now: Date) {
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

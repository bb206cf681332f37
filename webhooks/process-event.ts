import Stripe from 'stripe';
import type { Deps } from '../src/deps.js';
import { errorFields } from '../src/logger.js';
import { erasedEmailKey } from '../src/privacy/keyed-hash.js';
import { applyEvent } from './apply-event.js';
import { isProcessed, recordFailure, storeIgnored } from './events-store.js';
import type { EventMeta } from './handler.js';
import { HANDLERS } from './handlers/index.js';
import type { EventEnvelope } from './stripe-objects.js';

export type DeliveryOutcome = 'processed' | 'ignored' | 'duplicate';

/** The event is stored as failed (when the database lets us) and must be retried. */
export class EventProcessingError extends Error {
  constructor(
    readonly eventId: string,
    readonly reason: string,
  ) {
    super(`event ${eventId} could not be processed: ${reason}`);
    this.name = 'EventProcessingError';
  }
}

// Deadlock and serialization failures are the database asking for a retry, not a bug.
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;

/**
 * Applies one verified event exactly once: the effect and the "processed" mark commit together, so
 * a repeat delivery (or two instances receiving it at once) finds it done and changes nothing.
 */
export async function processEvent(
  deps: Deps,
  event: EventEnvelope,
  rawBody: string,
  /** Where it came from: only a delivery's lag means anything (an imported invoice may be years old). */
  source: 'delivery' | 'reconcile' | 'import' = 'delivery',
): Promise<DeliveryOutcome> {
  // Types we do not handle share one label: the set stays bounded whatever Stripe adds.
  const type = HANDLERS[event.type] ? event.type : 'other';
  try {
    const outcome = await processOnce(deps, event, rawBody);
    deps.metrics.webhookEvents.inc({ type, outcome });
    // Operations time, not business time: Stripe dated the event by its own (real) clock.
    if (outcome === 'processed' && source === 'delivery') {
      deps.metrics.webhookLag.observe({ type }, Math.max(0, Date.now() / 1000 - event.created));
    }
    return outcome;
  } catch (err) {
    if (err instanceof EventProcessingError) deps.metrics.webhookEvents.inc({ type, outcome: 'failed' });
    throw err;
  }
}

async function processOnce(deps: Deps, event: EventEnvelope, rawBody: string): Promise<DeliveryOutcome> {
  const { db, clock, config } = deps;
  // Bindings per line, not a child logger: a child per event cost more than the lines it rarely writes.
  const log = deps.logger;
  const about = { eventId: event.id, eventType: event.type };
  const now = clock.now();

  if (event.livemode !== config.stripeLivemode) {
    log.warn({ ...about, livemode: event.livemode }, 'event mode does not match STRIPE_SECRET_KEY; ignored');
    await storeIgnored(db, event, now, `livemode ${event.livemode} does not match the configured key`);
    return 'ignored';
  }
  const handler = HANDLERS[event.type];
  if (!handler) {
    await storeIgnored(db, event, now, 'event type not handled');
    return 'ignored';
  }
  if (event.api_version && event.api_version !== Stripe.API_VERSION) {
    log.warn(
      { ...about, apiVersion: event.api_version, expected: Stripe.API_VERSION },
      'event rendered in another API version',
    );
  }
  // A repeat of an event that needs a Stripe lookup first is answered before making that call.
  if (handler.prepare && (await isProcessed(db, event.id))) return 'duplicate';

  const meta: EventMeta = {
    id: event.id,
    type: event.type,
    created: event.created,
    createdAt: new Date(event.created * 1000),
  };
  try {
    const parsed = handler.schema.safeParse(event.data.object);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`data.object does not fit ${event.type}: ${issue?.path.join('.')}: ${issue?.message}`);
    }
    const prepared = handler.prepare ? await handler.prepare(parsed.data, deps) : undefined;
    // Before any connection is held: an erasure check needs the key.
    const digest = await deps.keyedHash.digester();
    const erasureCheck = (email: string | null) =>
      email ? { emailKey: erasedEmailKey(digest, email), eventCreatedAt: meta.createdAt } : null;
    const job = { event, handler, object: parsed.data, prepared, ctx: { event: meta, now, erasureCheck } };
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await applyEvent(deps, job);
        if (applied.outcome === 'ignored') log.info({ ...about, reason: applied.reason }, 'event ignored');
        return applied.outcome;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
      }
    }
  } catch (err) {
    const reason = errorFields(err).message;
    log.error({ ...about, err: errorFields(err) }, 'event processing failed; stored for retry');
    await recordFailure(db, event, rawBody, now, reason).catch((e) =>
      log.error({ ...about, err: errorFields(e) }, 'could not record the failed event; Stripe will redeliver it'),
    );
    throw new EventProcessingError(event.id, reason);
  }
}

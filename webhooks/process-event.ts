import Stripe from 'stripe';
import { compile, type Fragment, join, PREPARED, raw, sql } from '../db/sql-fragment.js';
import type { Deps } from '../src/deps.js';
import { lockIds, REPEAT_STOPPED } from '../src/ledger/lock-keys.js';
import { errorFields } from '../src/logger.js';
import { erasedEmailKey } from '../src/privacy/keyed-hash.js';
import { claimQuery } from './event-claim.js';
import { EventTransaction } from './event-transaction.js';
import { isProcessed, recordFailure, storeIgnored } from './events-store.js';
import type { EventHandler, EventMeta, HandlerContext } from './handler.js';
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

// A repeat delivery stops with REPEAT_STOPPED: at its locks, when the event is processed already
// (src/ledger/lock-keys.ts), or else at its last statement, when the claim finds it processed
// (rd_stop_event_statement, migration 2026_11_29_0500). Its effect rolls back.
const STOP_A_REPEAT = raw(`case when exists (select 1 from claim) then true
    else rd_stop_event_statement('${REPEAT_STOPPED}', 'event already processed') end`);

// Deadlock and serialization failures are the database asking for a retry, not a bug.
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;

/**
 * Applies one verified event exactly once: the effect and the "processed" mark commit together, so
 * a repeat delivery (or two instances receiving it at once) finds it done and changes nothing.
 */
export async function processEvent(deps: Deps, event: EventEnvelope, rawBody: string): Promise<DeliveryOutcome> {
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
  // Before any connection is held: an erasure check needs the key.
  await deps.keyedHash.load();
  const erasureCheck = async (email: string | null) =>
    email ? { emailKey: await erasedEmailKey(deps.keyedHash, email), eventCreatedAt: meta.createdAt } : null;
  try {
    const parsed = handler.schema.safeParse(event.data.object);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`data.object does not fit ${event.type}: ${issue?.path.join('.')}: ${issue?.message}`);
    }
    const prepared = handler.prepare ? await handler.prepare(parsed.data, deps) : undefined;
    const locks = lockIds([`event:${event.id}`, ...handler.lockKeys(parsed.data, prepared)]);
    const effectStatements = (ctes: ReadonlyArray<Fragment | null>, then?: Fragment | undefined) => {
      const parts = [sql`claim as (${claimQuery(event, now)})`, ...ctes.filter((c) => c !== null)];
      // A repeat stops the statement in the database, which rolls its effect back.
      const statement = compile(sql`${PREPARED} with ${join(parts)} select ${STOP_A_REPEAT} as go`);
      return then ? [statement, compile(then)] : [statement];
    };
    for (let attempt = 1; ; attempt++) {
      try {
        // Under load, with other events' effects in one transaction (webhooks/event-groups.ts).
        const recorded =
          attempt === 1 && deps.eventGroups
            ? await recordEffect(handler, { event: meta, now, erasureCheck }, parsed.data, prepared)
            : null;
        if (recorded) {
          const statements = effectStatements(recorded.ctes, recorded.then);
          const outcome = await deps.eventGroups!.commit({ eventId: event.id, lockIds: locks, statements });
          return outcome === 'duplicate' ? 'duplicate' : 'processed';
        }
        return await deps.withSession(async (session) => {
          const tx = new EventTransaction(session, locks, event.id);
          try {
            const ctx: HandlerContext = {
              event: meta,
              now,
              erasureCheck,
              query: async (statement) => (await tx.query(compile(statement))) as never,
              async effect(ctes, then) {
                await tx.commit(...effectStatements(ctes, then));
              },
            };
            const result = await handler.apply(ctx, parsed.data, prepared);
            if (result.outcome === 'ignored') {
              const [claimed] = await tx.commit(compile(claimQuery(event, now, result.reason)));
              // Only the event's own row was written, and it was not: a repeat.
              if (claimed!.length === 0) return 'duplicate';
              log.info({ ...about, reason: result.reason }, 'event ignored');
            } else {
              await tx.commit();
            }
            return result.outcome;
          } catch (err) {
            await tx.rollback();
            throw err;
          }
        });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === REPEAT_STOPPED) return 'duplicate';
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

/**
 * The effect of an event whose handler needs nothing from the database first and applies one
 * (most events): run with a context that records it. Null for an event that reads before it writes
 * or is ignored; those take a transaction of their own, where the handler runs again.
 */
interface RecordedEffect {
  ctes: ReadonlyArray<Fragment | null>;
  then?: Fragment | undefined;
}

async function recordEffect(
  handler: EventHandler,
  known: Pick<HandlerContext, 'event' | 'now' | 'erasureCheck'>,
  object: unknown,
  prepared: unknown,
): Promise<RecordedEffect | null> {
  let effect: RecordedEffect | null = null;
  let read = false;
  const ctx: HandlerContext = {
    ...known,
    query() {
      read = true;
      return Promise.reject(new Error('a handler that reads runs in its own transaction'));
    },
    async effect(ctes, then) {
      if (effect) throw new Error('an event has one effect');
      effect = { ctes, then };
    },
  };
  try {
    const result = await handler.apply(ctx, object, prepared);
    return !read && result.outcome === 'processed' ? effect : null;
  } catch (err) {
    if (read) return null;
    throw err;
  }
}

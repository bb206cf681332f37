import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { HANDLED_EVENT_TYPES } from '../../webhooks/handlers/index.js';
import { EventProcessingError, processEvent } from '../../webhooks/process-event.js';
import { eventEnvelope } from '../../webhooks/stripe-objects.js';
import type { Deps } from '../deps.js';
import { callStripe } from './call-stripe.js';

export interface ReconcileLine {
  id: string;
  type: string;
  outcome: 'applied' | 'would apply' | 'failed';
  detail?: string;
}

export interface ReconcileResult {
  windowFrom: Date;
  windowTo: Date;
  dryRun: boolean;
  seen: number;
  alreadyRecorded: number;
  applied: number;
  /** Of `applied`: events recorded as ignored (another shop's, the other mode's). */
  ignored: number;
  failed: number;
}

/** Stripe lists events for 30 days: the default window, and the furthest back a run can reach. */
export const STRIPE_EVENT_DAYS = 30;
const PAGE = 100;

/**
 * Lists Stripe's events of the handled types created since `since` and applies each one that is
 * missing here or stored as failed, through the webhook's own code (processEvent: the same mode,
 * type and version checks, the same claim, so nothing is applied twice). Pages come newest first;
 * each page is applied oldest first. A dry run lists what it would apply and writes nothing. A
 * real run is recorded in `reconcile_runs` (window and counts), complete or not.
 */
export async function reconcile(
  deps: Deps,
  o: {
    since: Date;
    /** The end of the window; default now. The schedule stops short of now: an event seconds old is still being delivered. */
    until?: Date;
    dryRun: boolean;
    trigger: 'cli' | 'schedule';
    onLine?: (line: ReconcileLine) => void;
    /** Checked between pages: a server shutting down stops there (the run is recorded incomplete). */
    stopping?: () => boolean;
  },
): Promise<ReconcileResult> {
  const { db, clock, config } = deps;
  if (!deps.stripe) throw new Error('STRIPE_SECRET_KEY is not set: there is no Stripe account to reconcile with');
  const stripe = deps.stripe;
  const calls = { deadlineMs: config.STRIPE_TIMEOUT_MS, maxRetries: config.STRIPE_MAX_RETRIES };
  const startedAt = clock.now();
  const windowTo = o.until ?? startedAt;
  const result: ReconcileResult = {
    windowFrom: o.since,
    windowTo,
    dryRun: o.dryRun,
    seen: 0,
    alreadyRecorded: 0,
    applied: 0,
    ignored: 0,
    failed: 0,
  };
  const runId = randomUUID();
  if (!o.dryRun) {
    await db
      .insertInto('reconcile_runs')
      .values({
        id: runId,
        trigger: o.trigger,
        dry_run: false,
        window_from: o.since,
        window_to: windowTo,
        started_at: startedAt,
      })
      .execute();
  }
  const line = (l: ReconcileLine) => o.onLine?.(l);
  let error: string | null = null;
  try {
    let after: string | undefined;
    for (;;) {
      const page: Stripe.ApiList<Stripe.Event> = await callStripe(
        (timeout) =>
          stripe.events.list(
            {
              types: HANDLED_EVENT_TYPES,
              created: { gte: Math.floor(o.since.getTime() / 1000), lte: Math.floor(windowTo.getTime() / 1000) },
              limit: PAGE,
              ...(after ? { starting_after: after } : {}),
            },
            { timeout },
          ),
        calls,
      );
      await applyPage(deps, page.data, result, o.dryRun, line);
      if (!page.has_more || page.data.length === 0) break;
      if (o.stopping?.()) {
        error = 'stopped before the end of the window (the service was shutting down)';
        break;
      }
      after = page.data.at(-1)!.id;
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    throw err;
  } finally {
    if (!o.dryRun) {
      deps.metrics.reconcileRuns.inc({ trigger: o.trigger, outcome: error === null ? 'complete' : 'incomplete' });
      // Ignored ones (another shop's events) are no sign of lost deliveries.
      deps.metrics.reconcileApplied.inc(result.applied - result.ignored);
      await db
        .updateTable('reconcile_runs')
        .set({
          finished_at: clock.now(),
          complete: error === null,
          error: error?.slice(0, 500) ?? null,
          seen: result.seen,
          already_recorded: result.alreadyRecorded,
          applied: result.applied,
          failed: result.failed,
        })
        .where('id', '=', runId)
        .execute();
    }
  }
  return result;
}

async function applyPage(
  deps: Deps,
  events: Stripe.Event[],
  result: ReconcileResult,
  dryRun: boolean,
  line: (l: ReconcileLine) => void,
): Promise<void> {
  if (events.length === 0) return;
  const recorded = new Set(
    (
      await deps.db
        .selectFrom('stripe_events')
        .select('id')
        .where(
          'id',
          'in',
          events.map((e) => e.id),
        )
        .where('outcome', 'in', ['processed', 'ignored'])
        .execute()
    ).map((r) => r.id),
  );
  for (const event of [...events].reverse()) {
    result.seen++;
    if (recorded.has(event.id)) {
      result.alreadyRecorded++;
      continue;
    }
    // Listed events keep the API version that was the account's default when they were made, not the
    // endpoint's: an older shape could be misread (an invoice without parent.subscription_details
    // would be stored as not ours, and its real delivery found done). Such an event is left alone.
    if (event.api_version && event.api_version !== Stripe.API_VERSION) {
      result.failed++;
      line({
        id: event.id,
        type: event.type,
        outcome: 'failed',
        detail: `rendered in API version ${event.api_version}, not ${Stripe.API_VERSION}: resend it from the Stripe Dashboard (it then comes in the endpoint's version), or set the account's default version`,
      });
      continue;
    }
    if (dryRun) {
      result.applied++;
      line({ id: event.id, type: event.type, outcome: 'would apply' });
      continue;
    }
    const raw = JSON.stringify(event);
    const envelope = eventEnvelope.safeParse(event);
    if (!envelope.success) {
      result.failed++;
      line({ id: event.id, type: event.type, outcome: 'failed', detail: 'not a Stripe event we can read' });
      continue;
    }
    try {
      const outcome = await processEvent(deps, envelope.data, raw, 'reconcile');
      // A delivery that committed it meanwhile: already recorded after all.
      if (outcome === 'duplicate') result.alreadyRecorded++;
      else {
        result.applied++;
        if (outcome === 'ignored') result.ignored++;
        line({
          id: event.id,
          type: event.type,
          outcome: 'applied',
          ...(outcome === 'ignored' ? { detail: 'ignored' } : {}),
        });
      }
    } catch (err) {
      if (!(err instanceof EventProcessingError)) throw err;
      result.failed++;
      line({ id: event.id, type: event.type, outcome: 'failed', detail: err.reason });
    }
  }
}

import { sql } from 'kysely';
import { lockIds } from '../../db/advisory-locks.js';
import type { Deps } from '../deps.js';
import { errorFields } from '../logger.js';
import { type ReconcileResult, reconcile, STRIPE_EVENT_DAYS } from './reconcile.js';

const DAY = 86_400_000;
/** One advisory lock for the whole service: whoever holds it reconciles. */
const RECONCILE_LOCK = String(lockIds(['reconcile:stripe-events'])[0]);

export type ScheduledOutcome = ReconcileResult | 'busy' | 'not due';

/**
 * The scheduled run, safe on every instance at once: under a session advisory lock on one held
 * connection (another instance running it answers 'busy'), and only when the last complete run
 * started at least RECONCILE_INTERVAL_MINUTES ago (so several instances make one run per interval).
 * Its window starts where the last complete run's ended, less RECONCILE_OVERLAP_MINUTES, and never
 * further back than Stripe keeps events.
 */
export async function runScheduledReconcile(deps: Deps, stopping?: () => boolean): Promise<ScheduledOutcome> {
  const { db, clock, config } = deps;
  return db.connection().execute(async (conn) => {
    const lock = await sql<{ got: boolean }>`select pg_try_advisory_lock(${RECONCILE_LOCK}::int8) as got`.execute(conn);
    if (!lock.rows[0]?.got) return 'busy';
    try {
      const now = clock.now();
      // The schedule's own runs only: a command-line run over a short window must not move its start.
      const scheduled = conn
        .selectFrom('reconcile_runs')
        .select(['started_at', 'window_to'])
        .where('trigger', '=', 'schedule')
        .where('dry_run', '=', false)
        .orderBy('started_at', 'desc')
        .limit(1);
      // Due an interval after the last attempt, complete or not: a run that keeps failing (a key
      // without Events: read) fails once an interval, not once a minute.
      const attempt = await scheduled.executeTakeFirst();
      if (attempt && attempt.started_at.getTime() > now.getTime() - config.RECONCILE_INTERVAL_MINUTES * 60_000) {
        return 'not due';
      }
      const last = await scheduled.where('complete', '=', true).executeTakeFirst();
      const oldest = now.getTime() - STRIPE_EVENT_DAYS * DAY;
      const from = last ? last.window_to.getTime() - config.RECONCILE_OVERLAP_MINUTES * 60_000 : oldest;
      const log = deps.logger.child({ job: 'reconcile' });
      const result = await reconcile(deps, {
        since: new Date(Math.max(from, oldest)),
        // Events younger than this are still on their way by delivery.
        until: new Date(now.getTime() - config.RECONCILE_GRACE_MINUTES * 60_000),
        dryRun: false,
        trigger: 'schedule',
        ...(stopping ? { stopping } : {}),
        onLine: (l) => {
          if (l.outcome === 'failed') {
            log.error({ eventId: l.id, eventType: l.type, reason: l.detail }, 'reconcile: event still failing');
          } else if (l.detail !== 'ignored') {
            log.warn({ eventId: l.id, eventType: l.type }, 'reconcile: applied an event that was never delivered');
          }
        },
      });
      log.info({ ...result }, 'reconcile run');
      return result;
    } finally {
      await sql`select pg_advisory_unlock(${RECONCILE_LOCK}::int8)`.execute(conn);
    }
  });
}

export interface ReconcileSchedule {
  stop(): Promise<void>;
}

/** Checks every minute whether a run is due (cheap: one query under the lock); never two at once here. */
export function scheduleReconcile(deps: Deps): ReconcileSchedule {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = runScheduledReconcile(deps, () => stopped)
      .then(() => undefined)
      .catch((err) => deps.logger.error({ err: errorFields(err) }, 'reconcile run failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, Math.min(60_000, deps.config.RECONCILE_INTERVAL_MINUTES * 60_000));
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import { objectIdsOf } from '../../webhooks/event-row.js';
import { parseEventJson } from '../../webhooks/stripe-objects.js';
import type { Deps } from '../deps.js';
import { deleteExpiredCounters } from '../rate-limit/fixed-window.js';
import { eraseClosedReminderEmails } from '../reminders/reminders-queries.js';

export interface RetentionResult {
  /** Addresses of closed reminders (closing erases them; this catches any an older version left). */
  reminderEmails: number;
  /** Bodies of failed events dropped after EVENT_PAYLOAD_RETENTION_DAYS. */
  eventBodies: number;
  /** Bodies of events processed before this version kept them (migration 2026_12_01_0000). */
  processedEventBodies: number;
  /** Rate-limit counters whose window has ended. */
  rateLimitCounters: number;
  /** Idempotency records older than IDEMPOTENCY_KEY_TTL_HOURS. */
  idempotencyRecords: number;
  /** Staff addresses cleared from audit rows after AUDIT_IP_RETENTION_DAYS. */
  auditAddresses: number;
  /** Reader ids cleared from checkouts and closed reminders after READER_ID_RETENTION_DAYS. */
  readerIds: number;
  /** Keyed hashes of erased supporters' e-mails, after ERASURE_GUARD_DAYS. */
  erasureGuards: number;
  /** Manage links past their lifetime: a requested one goes, a mailed notice keeps its row without the token. */
  manageLinks: number;
}

const DAY = 86_400_000;

/**
 * Deletes what has outlived its purpose (docs/privacy.md), decided with the injected clock. Run by
 * the server's sweep and by `npm run cli -- privacy sweep`; every step is idempotent, so sweeps on
 * several instances at once do no harm. `backlogMs` bounds the time spent on bodies of events
 * processed before this version (the server's sweep gives it a little each run).
 */
export async function applyRetention(
  deps: Pick<Deps, 'db' | 'config' | 'clock'>,
  { backlogMs = 2000 }: { backlogMs?: number } = {},
): Promise<RetentionResult> {
  const { db, config } = deps;
  const now = deps.clock.now();
  const ago = (ms: number) => new Date(now.getTime() - ms);
  return {
    reminderEmails: await eraseClosedReminderEmails(db, now),
    eventBodies: await dropFailedEventBodies(db, ago(config.EVENT_PAYLOAD_RETENTION_DAYS * DAY)),
    processedEventBodies: await dropProcessedEventBodies(db, backlogMs),
    rateLimitCounters: await deleteExpiredCounters(db, now),
    idempotencyRecords: await deleteIdempotencyRecords(db, ago(config.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000)),
    auditAddresses: await clearAuditAddresses(db, ago(config.AUDIT_IP_RETENTION_DAYS * DAY)),
    readerIds: await clearReaderIds(db, ago(config.READER_ID_RETENTION_DAYS * DAY)),
    erasureGuards: await clearErasureGuards(db, ago(config.ERASURE_GUARD_DAYS * DAY)),
    manageLinks: await expireManageLinks(db, now),
  };
}

/**
 * A failed event keeps its body so it can be replayed; Stripe stops retrying after three days and
 * lists events for thirty, so past the retention the body goes. The row stays, failed, with its
 * object ids: `webhooks replay` reports it, and the event can be fetched from Stripe again.
 */
async function dropFailedEventBodies(db: Kysely<Database>, receivedBefore: Date): Promise<number> {
  const result = await db
    .updateTable('stripe_events')
    .set({ payload: null })
    .where('outcome', '=', 'failed')
    .where('received_at', '<', receivedBefore)
    .where('payload', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The ids of the Stripe objects a stored body names; none for a body that is not an event. */
function idsOfBody(body: string): string[] {
  try {
    const object = (parseEventJson(body) as { data?: { object?: unknown } } | null)?.data?.object;
    return typeof object === 'object' && object !== null ? objectIdsOf(object as Record<string, unknown>) : [];
  } catch {
    return [];
  }
}

/**
 * Events processed before this version kept their bodies. Each is read for its object ids and
 * loses its body, 500 at a time, each batch a short statement, until none is left or `budgetMs`
 * has passed: a large installation's backlog goes over a few sweeps, without holding up webhooks.
 */
async function dropProcessedEventBodies(db: Kysely<Database>, budgetMs: number): Promise<number> {
  const until = performance.now() + budgetMs;
  let dropped = 0;
  do {
    // Rows another instance's sweep holds are skipped, so sweeps side by side share the work.
    const batch = await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('stripe_events')
        .select(['id', 'payload'])
        .where('payload', 'is not', null)
        .where('processed_at', 'is not', null)
        .limit(500)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return 0;
      const ids = JSON.stringify(rows.map((r) => ({ id: r.id, ids: idsOfBody(r.payload ?? '') })));
      await sql`update stripe_events e set payload = null, object_ids = array(select jsonb_array_elements_text(v.ids))
        from jsonb_to_recordset(${ids}::jsonb) as v(id text, ids jsonb) where e.id = v.id`.execute(trx);
      return rows.length;
    });
    if (batch === 0) break;
    dropped += batch;
  } while (performance.now() < until);
  return dropped;
}

async function deleteIdempotencyRecords(db: Kysely<Database>, createdBefore: Date): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', createdBefore).executeTakeFirst();
  return Number(result.numDeletedRows);
}

async function clearAuditAddresses(db: Kysely<Database>, createdBefore: Date): Promise<number> {
  const result = await db
    .updateTable('audit_log')
    .set({ client_ip: null })
    .where('created_at', '<', createdBefore)
    .where('client_ip', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * The donation box's reader id lives on in the reader's browser: kept here, it would tie that
 * browser to a gift for as long as the row lasts. It is needed until a checkout completes (to close
 * the reader's deferral) and a while after (not asking someone who just gave), then it goes.
 */
async function clearReaderIds(db: Kysely<Database>, before: Date): Promise<number> {
  const checkouts = await db
    .updateTable('checkout_sessions')
    .set({ reader_id: null })
    .where('reader_id', 'is not', null)
    .where('updated_at', '<', before)
    .executeTakeFirst();
  const reminders = await db
    .updateTable('reminders')
    .set({ reader_id: null })
    .where('reader_id', 'is not', null)
    .where('closed_at', '<', before)
    .executeTakeFirst();
  return Number(checkouts.numUpdatedRows) + Number(reminders.numUpdatedRows);
}

/**
 * An erased supporter keeps a keyed hash of the e-mail only while Stripe may still deliver, or a
 * reconciliation fetch, an event it created before the erasure (webhooks/ledger/supporters.ts).
 */
async function clearErasureGuards(db: Kysely<Database>, erasedBefore: Date): Promise<number> {
  const result = await db
    .updateTable('supporters')
    .set({ erased_email_hash: null })
    .where('erased_email_hash', 'is not', null)
    .where('erased_at', '<', erasedBefore)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * A link past its lifetime is of no use: a requested one is deleted (when someone asked for a link
 * is itself worth not keeping), a notice (failed payment, statement) keeps its row, which is what
 * stops a second mail for the same invoice or year, without its token's hash.
 */
async function expireManageLinks(db: Kysely<Database>, now: Date): Promise<number> {
  const deleted = await db
    .deleteFrom('manage_links')
    .where('purpose', '=', 'request')
    .where((eb) =>
      eb.or([
        eb('expires_at', '<=', now),
        eb.and([eb('status', 'in', ['skipped', 'failed']), eb('token_hash', 'is', null)]),
      ]),
    )
    .executeTakeFirst();
  const cleared = await db
    .updateTable('manage_links')
    .set({ token_hash: null, updated_at: now })
    .where('token_hash', 'is not', null)
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(deleted.numDeletedRows) + Number(cleared.numUpdatedRows);
}

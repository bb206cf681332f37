import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { Deps } from '../deps.js';
import { deleteExpiredCounters } from '../rate-limit/fixed-window.js';
import { eraseClosedReminderEmails } from '../reminders/reminders-queries.js';

export interface RetentionResult {
  /** Addresses of closed reminders (closing erases them; this catches any an older version left). */
  reminderEmails: number;
  /** Bodies of failed events dropped after EVENT_PAYLOAD_RETENTION_DAYS. */
  eventBodies: number;
  /** Rate-limit counters whose window has ended. */
  rateLimitCounters: number;
  /** Idempotency records older than IDEMPOTENCY_KEY_TTL_HOURS. */
  idempotencyRecords: number;
  /** Staff addresses cleared from audit rows after AUDIT_IP_RETENTION_DAYS. */
  auditAddresses: number;
  /** Reader ids cleared from checkouts and closed reminders after READER_ID_RETENTION_DAYS. */
  readerIds: number;
}

const DAY = 86_400_000;

/**
 * Deletes what has outlived its purpose (README, Privacy), decided with the injected clock. Run by
 * the server's sweep and by `npm run cli -- privacy sweep`; every step is idempotent, so sweeps on
 * several instances at once do no harm.
 */
export async function applyRetention(deps: Pick<Deps, 'db' | 'config' | 'clock'>): Promise<RetentionResult> {
  const { db, config } = deps;
  const now = deps.clock.now();
  const ago = (ms: number) => new Date(now.getTime() - ms);
  return {
    reminderEmails: await eraseClosedReminderEmails(db, now),
    eventBodies: await dropFailedEventBodies(db, ago(config.EVENT_PAYLOAD_RETENTION_DAYS * DAY)),
    rateLimitCounters: await deleteExpiredCounters(db, now),
    idempotencyRecords: await deleteIdempotencyRecords(db, ago(config.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000)),
    auditAddresses: await clearAuditAddresses(db, ago(config.AUDIT_IP_RETENTION_DAYS * DAY)),
    readerIds: await clearReaderIds(db, ago(config.READER_ID_RETENTION_DAYS * DAY)),
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

import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database, Reminder } from '../../db/schema.js';
import type { ReminderRequest } from './reminder-request.js';

/**
 * Creates the reminder, or moves the reader's pending one: one pending reminder per e-mail (and
 * one pending deferral per reader id), so signing up twice never means two e-mails. A later sign-up
 * may move the date, never the consent record.
 */
export async function upsertReminder(
  db: Kysely<Database>,
  r: ReminderRequest,
  consentVersion: string,
  now: Date,
): Promise<{ id: string; remind_at: Date }> {
  const kind = r.email ? 'email' : 'deferral';
  const values = {
    id: randomUUID(),
    kind,
    email: r.email ?? null,
    reader_id: r.readerId ?? null,
    remind_at: r.remindAt,
    frequency: r.frequency ?? null,
    amount: r.amount ?? null,
    currency: r.currency ?? null,
    campaign: r.campaign ?? null,
    consent_version: r.email ? (r.consentVersion ?? consentVersion) : null,
    consented_at: r.email ? now : null,
    status: 'pending',
    created_at: now,
    updated_at: now,
  } as const;
  return db
    .insertInto('reminders')
    .values(values)
    .onConflict((oc) =>
      (kind === 'email' ? oc.column('email') : oc.column('reader_id'))
        .where('status', '=', 'pending')
        .where('kind', '=', kind)
        .doUpdateSet({
          remind_at: sql`excluded.remind_at`,
          frequency: sql`excluded.frequency`,
          amount: sql`excluded.amount`,
          currency: sql`excluded.currency`,
          campaign: sql`excluded.campaign`,
          // The consent on record stays the first one: when, and under which wording, the reader agreed.
          reader_id: sql`coalesce(excluded.reader_id, reminders.reader_id)`,
          attempts: 0,
          next_attempt_at: null,
          updated_at: sql`excluded.updated_at`,
        }),
    )
    .returning(['id', 'remind_at'])
    .executeTakeFirstOrThrow();
}

/** Until when the donation box should hide its ask for this reader, if at all. */
export async function deferredUntil(db: Kysely<Database>, readerId: string, now: Date): Promise<Date | null> {
  const row = await db
    .selectFrom('reminders')
    .select((eb) => eb.fn.max('remind_at').as('until'))
    .where('reader_id', '=', readerId)
    .where('status', '=', 'pending')
    .where('remind_at', '>', now)
    .executeTakeFirst();
  return (row?.until as Date | null | undefined) ?? null;
}

/**
 * Claims due reminders for this sweeper: rows another sweeper holds are skipped (SKIP LOCKED), and
 * a claimed row is 'sending' until marked, so two instances sweeping at once never share one.
 */
export async function claimDueReminders(
  db: Kysely<Database>,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<Reminder[]> {
  const result = await sql<Reminder>`
    update reminders set status = 'sending', claimed_until = ${leaseUntil}, attempts = attempts + 1, updated_at = ${now}
    where status = 'pending' and id in (
      select id from reminders
      where status = 'pending' and kind = 'email' and email is not null and remind_at <= ${now}
        and (next_attempt_at is null or next_attempt_at <= ${now})
      order by remind_at, id
      limit ${limit}
      for update skip locked)
    returning *`.execute(db);
  return result.rows;
}

/** What closing a reminder does to its address: kept only while the reminder is pending. */
const ERASED = (now: Date) => ({ email: null, email_erased_at: now });

/**
 * A claim whose lease ran out means a sweeper died mid-send: the e-mail may have gone out, so the
 * reminder is closed as failed rather than risk sending it twice.
 */
export async function failAbandonedClaims(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db
    .updateTable('reminders')
    .set({
      status: 'failed',
      last_error: 'interrupted while sending; not retried to avoid a duplicate e-mail',
      claimed_until: null,
      closed_at: now,
      updated_at: now,
      ...ERASED(now),
    })
    .where('status', '=', 'sending')
    .where('claimed_until', '<', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function setCancelTokenHash(db: Kysely<Database>, id: string, hash: string, now: Date) {
  await db.updateTable('reminders').set({ cancel_token_hash: hash, updated_at: now }).where('id', '=', id).execute();
}

export async function markReminderSent(db: Kysely<Database>, id: string, now: Date) {
  await db
    .updateTable('reminders')
    .set({
      status: 'sent',
      sent_at: now,
      closed_at: now,
      claimed_until: null,
      last_error: null,
      updated_at: now,
      ...ERASED(now),
    })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .execute();
}

export async function markReminderRetry(
  db: Kysely<Database>,
  id: string,
  nextAttemptAt: Date,
  error: string,
  now: Date,
) {
  await db
    .updateTable('reminders')
    .set({ status: 'pending', next_attempt_at: nextAttemptAt, claimed_until: null, last_error: error, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .execute();
}

export async function markReminderFailed(db: Kysely<Database>, id: string, error: string, now: Date) {
  await db
    .updateTable('reminders')
    .set({ status: 'failed', closed_at: now, claimed_until: null, last_error: error, updated_at: now, ...ERASED(now) })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .execute();
}

/** Cancels by token: the reminder closes (if still open) and its address is erased. False for an unknown token. */
export async function cancelReminder(db: Kysely<Database>, tokenHash: string, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('reminders')
    .set({
      status: sql`case when status in ('pending', 'sent', 'failed') then 'cancelled' else status end`,
      cancelled_at: sql`coalesce(cancelled_at, ${now})`,
      closed_at: sql`coalesce(closed_at, ${now})`,
      email: null,
      email_erased_at: sql`coalesce(email_erased_at, ${now})`,
      updated_at: now,
    })
    .where('cancel_token_hash', '=', tokenHash)
    .where('status', '!=', 'sending')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Erases the address of any closed reminder that still has one (closed by an instance of an older
 * version during a rolling upgrade); dates and outcome stay for the figures.
 */
export async function eraseClosedReminderEmails(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db
    .updateTable('reminders')
    .set({ email: null, email_erased_at: now, updated_at: now })
    .where('email', 'is not', null)
    .where('closed_at', 'is not', null)
    .where('status', 'in', ['sent', 'failed', 'cancelled', 'converted'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

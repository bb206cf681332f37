import { sql } from 'kysely';
import type { ManageLinkPurpose } from '../../db/schema.js';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import { errorFields } from '../logger.js';
import { withoutAddresses } from '../reminders/mailer.js';
import { hashManageToken, newManageToken } from './links.js';
import { manageLinkEmail } from './manage-mail.js';

export interface LinkSweepResult {
  sent: number;
  retried: number;
  failed: number;
  /** Erased, without an address, or a request that waited past its link's lifetime: nothing sent. */
  skipped: number;
  interrupted: number;
}

const MAX_BATCHES = 20;

/** How long a link works: the one a donor asked for is short; one we send unasked is read later. */
export function linkLifetime(config: Config, purpose: ManageLinkPurpose): { ms: number; words: string } {
  if (purpose === 'request') {
    const m = config.MANAGE_LINK_TTL_MINUTES;
    return { ms: m * 60_000, words: m % 60 === 0 ? plural(m / 60, 'hour') : plural(m, 'minute') };
  }
  const d = config.MANAGE_NOTICE_LINK_TTL_DAYS;
  return { ms: d * 86_400_000, words: plural(d, 'day') };
}
const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

interface Claimed {
  id: string;
  supporter_id: string;
  purpose: ManageLinkPurpose;
  statement_year: number | null;
  attempts: number;
}

/**
 * Sends the queued manage links (src/manage/links.ts), each at most once across every instance:
 * rows are claimed with SKIP LOCKED and a lease, as reminders are; a claim whose lease ran out is
 * failed, not resent. The address is read from the supporter's row at send time: an erased
 * supporter (or one without an address) gets nothing. Retries use the reminder settings.
 */
export async function sendManageLinks(deps: Deps): Promise<LinkSweepResult> {
  const { db, config, clock, mailer } = deps;
  const log = deps.logger.child({ job: 'manage-links' });
  const result: LinkSweepResult = { sent: 0, retried: 0, failed: 0, skipped: 0, interrupted: 0 };
  const now = clock.now();

  const abandoned = await db
    .updateTable('manage_links')
    .set({
      status: 'failed',
      last_error: 'interrupted while sending; not retried to avoid a duplicate e-mail',
      claimed_until: null,
      token_hash: null,
      updated_at: now,
    })
    .where('status', '=', 'sending')
    .where('claimed_until', '<', now)
    .executeTakeFirst();
  result.interrupted = Number(abandoned.numUpdatedRows);
  // A link asked for and never sent (no SMTP then) would arrive too late to be the one they wanted.
  const stale = await db
    .updateTable('manage_links')
    .set({ status: 'skipped', last_error: 'not sent within its lifetime', updated_at: now })
    .where('status', '=', 'pending')
    .where('purpose', '=', 'request')
    .where('created_at', '<', new Date(now.getTime() - linkLifetime(config, 'request').ms))
    .executeTakeFirst();
  result.skipped += Number(stale.numUpdatedRows);
  if (!mailer) {
    count(deps, result);
    return result;
  }

  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    // Each batch has its own lease: a long run (a year's statements) must not outlive the first one's.
    const now = clock.now();
    const leaseUntil = new Date(now.getTime() + config.REMINDER_SEND_LEASE_SECONDS * 1000);
    const claimed = (
      await sql<Claimed>`
      update manage_links set status = 'sending', claimed_until = ${leaseUntil}, attempts = attempts + 1, updated_at = ${now}
      where status = 'pending' and id in (
        select id from manage_links
        where status = 'pending' and (next_attempt_at is null or next_attempt_at <= ${now})
        order by created_at, id
        limit ${config.REMINDER_BATCH_SIZE}
        for update skip locked)
      returning id, supporter_id, purpose, statement_year, attempts`.execute(db)
    ).rows;
    for (const link of claimed) {
      const supporter = await db
        .selectFrom('supporters')
        .select('email')
        .where('id', '=', link.supporter_id)
        .where('erased_at', 'is', null)
        .executeTakeFirst();
      if (!supporter?.email) {
        await db
          .updateTable('manage_links')
          .set({ status: 'skipped', claimed_until: null, last_error: 'no address to send to', updated_at: now })
          .where('id', '=', link.id)
          .execute();
        result.skipped++;
        continue;
      }
      const token = newManageToken();
      const lifetime = linkLifetime(config, link.purpose);
      // Still ours (not failed by another sweeper after our lease ran out)? Otherwise send nothing.
      const armed = await db
        .updateTable('manage_links')
        .set({
          token_hash: hashManageToken(token),
          expires_at: new Date(now.getTime() + lifetime.ms),
          updated_at: now,
        })
        .where('id', '=', link.id)
        .where('status', '=', 'sending')
        .where('claimed_until', '=', leaseUntil)
        .executeTakeFirst();
      if (Number(armed.numUpdatedRows) === 0 || clock.now() >= leaseUntil) continue;
      try {
        await mailer.send(
          manageLinkEmail(config, supporter.email, link.purpose, token, lifetime.words, link.statement_year),
        );
        await db
          .updateTable('manage_links')
          .set({ status: 'sent', sent_at: now, claimed_until: null, last_error: null, updated_at: now })
          .where('id', '=', link.id)
          .where('status', '=', 'sending')
          .execute();
        result.sent++;
      } catch (err) {
        const error = withoutAddresses(errorFields(err).message);
        const giveUp = link.attempts >= config.REMINDER_MAX_ATTEMPTS;
        const delayMs = config.REMINDER_RETRY_BASE_SECONDS * 1000 * 4 ** (link.attempts - 1);
        await db
          .updateTable('manage_links')
          .set({
            status: giveUp ? 'failed' : 'pending',
            next_attempt_at: giveUp ? null : new Date(now.getTime() + delayMs),
            claimed_until: null,
            token_hash: null,
            last_error: error,
            updated_at: now,
          })
          .where('id', '=', link.id)
          .where('status', '=', 'sending')
          .execute();
        if (giveUp) result.failed++;
        else result.retried++;
        log[giveUp ? 'error' : 'warn'](
          { linkId: link.id, purpose: link.purpose, attempts: link.attempts, error },
          giveUp ? 'manage link e-mail failed; giving up' : 'manage link e-mail failed; will retry',
        );
      }
    }
    if (claimed.length < config.REMINDER_BATCH_SIZE) break;
  }
  if (result.sent || result.retried || result.failed || result.interrupted) log.info(result, 'manage links sweep');
  count(deps, result);
  return result;
}

function count(deps: Deps, r: LinkSweepResult) {
  for (const outcome of ['sent', 'retried', 'failed', 'skipped', 'interrupted'] as const) {
    if (r[outcome]) deps.metrics.mail.inc({ kind: 'manage_link', outcome }, r[outcome]);
  }
}

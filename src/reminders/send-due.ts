import { randomBytes } from 'node:crypto';
import type { Deps } from '../deps.js';
import { errorFields } from '../logger.js';
import { type LinkSweepResult, sendManageLinks } from '../manage/send-links.js';
import { applyRetention, type RetentionResult } from '../privacy/retention.js';
import { hashToken } from '../privacy/token-hash.js';
import { withoutAddresses } from './mailer.js';
import { reminderEmail } from './reminder-email.js';
import {
  claimDueReminders,
  failAbandonedClaims,
  markReminderFailed,
  markReminderRetry,
  markReminderSent,
  setCancelTokenHash,
} from './reminders-queries.js';

export interface SweepResult {
  sent: number;
  retried: number;
  failed: number;
  interrupted: number;
  /** Reminder addresses erased past their retention (one part of `retention`). */
  erased: number;
  /** What the sweep's retention step deleted (docs/privacy.md). */
  retention: RetentionResult;
  /** False without SMTP_URL: due reminders stay queued. */
  mailEnabled: boolean;
  /** Manage links sent by the same sweep (src/manage/send-links.ts). */
  links: LinkSweepResult;
}

const MAX_BATCHES = 20;

/**
 * One sweep: sends due reminders (each exactly once, also with several sweepers at the same
 * moment), retries failed sends with backoff, then deletes what is past its retention
 * (src/privacy/retention.ts).
 */
export async function sendDueReminders(deps: Deps): Promise<SweepResult> {
  const { db, config, clock, mailer } = deps;
  const log = deps.logger.child({ job: 'reminders' });
  const result: SweepResult = {
    sent: 0,
    retried: 0,
    failed: 0,
    interrupted: 0,
    erased: 0,
    retention: {
      reminderEmails: 0,
      eventBodies: 0,
      processedEventBodies: 0,
      rateLimitCounters: 0,
      idempotencyRecords: 0,
      auditAddresses: 0,
      readerIds: 0,
      erasureGuards: 0,
      manageLinks: 0,
    },
    links: { sent: 0, retried: 0, failed: 0, skipped: 0, interrupted: 0 },
    mailEnabled: Boolean(mailer),
  };
  const now = clock.now();

  result.interrupted = await failAbandonedClaims(db, now);
  if (mailer) {
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const leaseUntil = new Date(now.getTime() + config.REMINDER_SEND_LEASE_SECONDS * 1000);
      const claimed = await claimDueReminders(db, now, leaseUntil, config.REMINDER_BATCH_SIZE);
      for (const reminder of claimed) {
        const token = randomBytes(32).toString('base64url');
        await setCancelTokenHash(db, reminder.id, hashToken(token), now);
        try {
          await mailer.send(reminderEmail(config, reminder, token));
          await markReminderSent(db, reminder.id, now);
          result.sent++;
        } catch (err) {
          const error = withoutAddresses(errorFields(err).message);
          if (reminder.attempts >= config.REMINDER_MAX_ATTEMPTS) {
            await markReminderFailed(db, reminder.id, error, now);
            result.failed++;
            log.error(
              { reminderId: reminder.id, attempts: reminder.attempts, error },
              'reminder e-mail failed; giving up',
            );
          } else {
            const delayMs = config.REMINDER_RETRY_BASE_SECONDS * 1000 * 4 ** (reminder.attempts - 1);
            await markReminderRetry(db, reminder.id, new Date(now.getTime() + delayMs), error, now);
            result.retried++;
            log.warn(
              { reminderId: reminder.id, attempts: reminder.attempts, error },
              'reminder e-mail failed; will retry',
            );
          }
        }
      }
      if (claimed.length < config.REMINDER_BATCH_SIZE) break;
    }
  }
  for (const outcome of ['sent', 'retried', 'failed', 'interrupted'] as const) {
    if (result[outcome]) deps.metrics.mail.inc({ kind: 'reminder', outcome }, result[outcome]);
  }
  result.links = await sendManageLinks(deps);
  result.retention = await applyRetention(deps);
  result.erased = result.retention.reminderEmails;
  const { rateLimitCounters: _, ...kept } = result.retention;
  if (result.sent || result.retried || result.failed || result.interrupted || Object.values(kept).some(Boolean)) {
    log.info(result, 'sweep');
  }
  return result;
}

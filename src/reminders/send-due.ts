import { createHash, randomBytes } from 'node:crypto';
import type { Deps } from '../deps.js';
import { errorFields } from '../logger.js';
import { purgeCounters } from '../rate-limit/fixed-window.js';
import { reminderEmail } from './reminder-email.js';
import {
  claimDueReminders,
  eraseClosedReminderEmails,
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
  erased: number;
  /** False without SMTP_URL: due reminders stay queued. */
  mailEnabled: boolean;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const MAX_BATCHES = 20;

/** SMTP errors often quote the recipient; keep addresses out of the database and the logs. */
const withoutAddresses = (message: string) => message.replace(/[^\s<>"']+@[^\s<>"']+/g, '[address]').slice(0, 500);

/**
 * One sweep: sends due reminders (each exactly once, also with several sweepers at the same
 * moment), retries failed sends with backoff, erases addresses past retention, drops old counters.
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
  const retentionMs = config.REMINDER_RETENTION_DAYS * 86_400_000;
  result.erased = await eraseClosedReminderEmails(db, new Date(now.getTime() - retentionMs), now);
  // Counters of windows long over are of no further use.
  const longestWindowMs = config.REMINDER_RATE_LIMIT_WINDOW_SECONDS * 1000;
  await purgeCounters(db, new Date(now.getTime() - 2 * Math.max(longestWindowMs, 3_600_000)));
  if (result.sent || result.retried || result.failed || result.interrupted || result.erased) {
    log.info(result, 'reminder sweep');
  }
  return result;
}

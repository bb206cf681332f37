import type { Deps } from '../deps.js';
import { hit } from '../rate-limit/fixed-window.js';
import { parseReminderRequest } from './reminder-request.js';
import { upsertReminder } from './reminders-queries.js';

/**
 * One sign-up, from the API or the donation page's form: validated, rate limited per client IP and
 * per e-mail (in the database), then stored. Throws ApiError (400, 429).
 */
export async function signUpForReminder(deps: Deps, body: Record<string, unknown>, ip: string) {
  const { config, db, clock } = deps;
  const now = clock.now();
  const request = parseReminderRequest(body, config, now);
  const windowSeconds = config.REMINDER_RATE_LIMIT_WINDOW_SECONDS;
  await hit(
    db,
    deps.keyedHash,
    [
      { name: 'reminder:ip', value: ip, max: config.REMINDER_RATE_LIMIT_PER_IP, windowSeconds },
      ...(request.email
        ? [{ name: 'reminder:email', value: request.email, max: config.REMINDER_RATE_LIMIT_PER_EMAIL, windowSeconds }]
        : []),
    ],
    now,
  );
  return upsertReminder(db, request, config.REMINDER_CONSENT_VERSION, now);
}

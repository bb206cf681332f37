import { verifyCaptcha } from '../checkout/captcha.js';
import type { Deps } from '../deps.js';
import { clientLimits, hit } from '../rate-limit/fixed-window.js';
import { parseReminderRequest } from './reminder-request.js';
import { upsertReminder } from './reminders-queries.js';

/**
 * One sign-up, from the API or the donation page's form: validated, rate limited per client network
 * and per e-mail (in the database), challenged when configured, then stored. Throws ApiError
 * (400, 403, 429, 503).
 */
export async function signUpForReminder(deps: Deps, body: Record<string, unknown>, ip: string) {
  const { config, db, clock } = deps;
  const now = clock.now();
  const request = parseReminderRequest(body, config, now);
  const limits = clientLimits(
    'reminder',
    { ip, email: request.email },
    {
      perIp: config.REMINDER_RATE_LIMIT_PER_IP,
      perEmail: config.REMINDER_RATE_LIMIT_PER_EMAIL,
      windowSeconds: config.REMINDER_RATE_LIMIT_WINDOW_SECONDS,
    },
  );
  await hit(db, deps.keyedHash, limits, now);
  // A sign-up with an e-mail sends mail to it: with CAPTCHA_PROVIDER set, it must pass the challenge.
  if (request.email) await verifyCaptcha(config, body.captchaToken, ip);
  return upsertReminder(db, request, config.REMINDER_CONSENT_VERSION, now);
}

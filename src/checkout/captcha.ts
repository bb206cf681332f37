import type { Config } from '../config.js';
import { ApiError } from '../errors.js';

const VERIFY_URL = {
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  hcaptcha: 'https://api.hcaptcha.com/siteverify',
} as const;

type CaptchaConfig = Pick<Config, 'CAPTCHA_PROVIDER' | 'CAPTCHA_SECRET' | 'CAPTCHA_VERIFY_URL' | 'CAPTCHA_TIMEOUT_MS'>;

/**
 * With CAPTCHA_PROVIDER set, a checkout needs a challenge token that the provider confirms,
 * server-side, before any session is created: card testers then pay per attempt.
 */
export async function verifyCaptcha(config: CaptchaConfig, token: unknown, ip: string): Promise<void> {
  if (!config.CAPTCHA_PROVIDER) return;
  if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
    throw new ApiError('captcha_failed', 'Please complete the challenge and try again', 'captchaToken');
  }
  let success = false;
  try {
    const res = await fetch(config.CAPTCHA_VERIFY_URL ?? VERIFY_URL[config.CAPTCHA_PROVIDER], {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        secret: config.CAPTCHA_SECRET ?? '',
        response: token,
        ...(ip !== 'unknown' ? { remoteip: ip } : {}),
      }),
      signal: AbortSignal.timeout(config.CAPTCHA_TIMEOUT_MS),
    });
    success = res.ok && (await res.json()).success === true;
  } catch {
    throw new ApiError('captcha_unavailable', 'The challenge could not be checked; please try again');
  }
  if (!success) throw new ApiError('captcha_failed', 'The challenge was not passed; please try again', 'captchaToken');
}

import type { Deps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { clientLimits, hit } from '../rate-limit/fixed-window.js';
import { verifyCaptcha } from './captcha.js';
import { parseCheckoutRequest } from './checkout-request.js';
import { createCheckout } from './create-checkout.js';

export interface CheckoutAttempt {
  body: Record<string, unknown>;
  idempotencyKey: string | undefined;
  captchaToken: unknown;
  ip: string;
  logger: Logger;
}

/**
 * A checkout from the API or the page's form, the one way: validated, counted against the per-IP and
 * per-e-mail limits (in the database, so every instance shares them), challenged when configured,
 * and only then sent to Stripe.
 */
export async function startCheckout(deps: Deps, a: CheckoutAttempt) {
  try {
    const started = await attempt(deps, a);
    deps.metrics.checkouts.inc({ outcome: 'created', reason: '' });
    return started;
  } catch (err) {
    // The reason is the error code (a fixed list): invalid_request, rate_limited, payment_provider_timeout, ...
    deps.metrics.checkouts.inc({ outcome: 'failed', reason: err instanceof ApiError ? err.code : 'internal_error' });
    throw err;
  }
}

async function attempt(deps: Deps, a: CheckoutAttempt) {
  const { config, db, clock } = deps;
  const returnOrigins = [new URL(config.PUBLIC_URL).origin, ...config.ALLOWED_RETURN_ORIGINS];
  const request = parseCheckoutRequest(a.body, config.donationOptions, returnOrigins);
  const limits = clientLimits(
    'checkout',
    { ip: a.ip, email: request.email },
    {
      perIp: config.CHECKOUT_RATE_LIMIT_PER_IP,
      perEmail: config.CHECKOUT_RATE_LIMIT_PER_EMAIL,
      windowSeconds: config.CHECKOUT_RATE_LIMIT_WINDOW_SECONDS,
    },
  );
  await hit(db, deps.keyedHash, limits, clock.now());
  await verifyCaptcha(config, a.captchaToken, a.ip);
  return createCheckout(deps, request, a.idempotencyKey, a.logger);
}

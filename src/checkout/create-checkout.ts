import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import type { Deps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { callStripe, StripeDeadlineExceeded } from '../stripe/call-stripe.js';
import { type CheckoutRequest, requestFingerprint } from './checkout-request.js';
import { insertCheckoutSession } from './checkout-sessions-queries.js';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from './idempotency-keys.js';
import { checkoutSessionParams } from './stripe-params.js';

export interface CheckoutResponse {
  id: string;
  url: string;
  frequency: CheckoutRequest['frequency'];
  amount: number;
  currency: string;
}

const SCOPE = 'checkout';
const MINUTE = 60_000;

export function requireStripe(deps: Pick<Deps, 'stripe'>): Stripe {
  if (!deps.stripe) {
    throw new ApiError(
      'payment_provider_unconfigured',
      'Payments are not configured on this server: set STRIPE_SECRET_KEY',
    );
  }
  return deps.stripe;
}

/** Maps a failed Stripe call to our error shape, logging Stripe's request id (never the key). */
export function stripeFailure(
  err: unknown,
  logger: Logger,
  message = 'The payment provider could not start the checkout; please try again',
): unknown {
  if (err instanceof StripeDeadlineExceeded) {
    logger.warn({ deadlineMs: err.deadlineMs }, 'stripe call timed out');
    return new ApiError('payment_provider_timeout', 'The payment provider did not answer in time; please try again');
  }
  if (err instanceof Stripe.errors.StripeError) {
    logger.error(
      { stripeRequestId: err.requestId, stripeType: err.type, stripeCode: err.code, statusCode: err.statusCode },
      'stripe call failed',
    );
    return new ApiError('payment_provider_error', message);
  }
  return err;
}

/**
 * Creates a Stripe Checkout Session for one gift and records it. With a client Idempotency-Key the
 * same key + same body answers the same session, also across instances and after a failed attempt.
 */
export async function createCheckout(
  deps: Deps,
  request: CheckoutRequest,
  idempotencyKey: string | undefined,
  logger: Logger,
): Promise<{ status: 201; body: CheckoutResponse }> {
  const stripe = requireStripe(deps);
  const { config, db, clock } = deps;
  const now = clock.now();
  let checkoutId: string = randomUUID();
  let startedAt = now;

  if (idempotencyKey !== undefined) {
    const claim = await claimIdempotencyKey(db, {
      scope: SCOPE,
      key: idempotencyKey,
      requestHash: await requestFingerprint(request, deps.keyedHash),
      newResourceId: checkoutId,
      now,
      lockedUntil: new Date(now.getTime() + config.STRIPE_TIMEOUT_MS + 5_000),
      expiredBefore: new Date(now.getTime() - config.IDEMPOTENCY_KEY_TTL_HOURS * 60 * MINUTE),
    });
    switch (claim.kind) {
      case 'replay':
        return { status: 201, body: claim.body as CheckoutResponse };
      case 'mismatch':
        throw new ApiError(
          'idempotency_key_reused',
          'This Idempotency-Key was already used with a different request body',
          'Idempotency-Key',
        );
      case 'in_progress':
        throw new ApiError(
          'idempotency_request_in_progress',
          'A request with this Idempotency-Key is still in progress; retry shortly',
          'Idempotency-Key',
        );
      case 'claimed':
        checkoutId = claim.resourceId;
        // Stripe replays a create only when the parameters match, so time-derived ones come from the
        // reservation, not from this retry's clock.
        startedAt = claim.createdAt;
    }
  }

  try {
    const expiresAt = new Date(startedAt.getTime() + config.CHECKOUT_SESSION_TTL_MINUTES * MINUTE);
    const params = checkoutSessionParams(request, { checkoutId, publicUrl: config.PUBLIC_URL, expiresAt });
    const session = await callStripe(
      (timeout) => stripe.checkout.sessions.create(params, { idempotencyKey: `rd-checkout-${checkoutId}`, timeout }),
      { deadlineMs: config.STRIPE_TIMEOUT_MS, maxRetries: config.STRIPE_MAX_RETRIES },
    );
    if (!session.url) throw new ApiError('payment_provider_error', 'The payment provider returned no checkout URL');
    const body: CheckoutResponse = {
      id: session.id,
      url: session.url,
      frequency: request.frequency,
      amount: request.amount,
      currency: request.currency,
    };
    const row = {
      id: checkoutId,
      stripe_session_id: session.id,
      frequency: request.frequency,
      amount: request.amount,
      currency: request.currency,
      campaign: request.campaign ?? null,
      reader_id: request.readerId ?? null,
      livemode: session.livemode,
      created_at: now,
      expires_at: expiresAt,
      updated_at: now,
    };
    // With a client key the session and the stored answer commit together; without one, the row
    // is a single statement and needs no transaction around it.
    if (idempotencyKey === undefined) {
      await insertCheckoutSession(db, row);
    } else {
      await db.transaction().execute(async (trx) => {
        await insertCheckoutSession(trx, row);
        await completeIdempotencyKey(trx, SCOPE, idempotencyKey, 201, body);
      });
    }
    logger.info({ checkoutId, stripeSessionId: session.id, frequency: request.frequency }, 'checkout session created');
    return { status: 201, body };
  } catch (err) {
    if (idempotencyKey !== undefined) {
      await releaseIdempotencyKey(db, SCOPE, idempotencyKey, now).catch(() => {});
    }
    throw stripeFailure(err, logger);
  }
}

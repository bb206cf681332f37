import Stripe from 'stripe';

/** The whole call, retries included, ran past its deadline. */
export class StripeDeadlineExceeded extends Error {
  constructor(
    readonly deadlineMs: number,
    readonly lastError: unknown,
  ) {
    super(`Stripe did not answer within ${deadlineMs} ms`);
    this.name = 'StripeDeadlineExceeded';
  }
}

export interface CallStripeOptions {
  deadlineMs: number;
  maxRetries: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Stripe's own rules (RequestSender._shouldRetry): connection errors, 409, 429, 5xx, unless told not to. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof Stripe.errors.StripeConnectionError) return true;
  if (!(err instanceof Stripe.errors.StripeError)) return false;
  const shouldRetry = err.headers?.['stripe-should-retry'];
  if (shouldRetry === 'false') return false;
  if (shouldRetry === 'true') return true;
  if (err instanceof Stripe.errors.StripeIdempotencyError) return false;
  const status = err.statusCode ?? 0;
  return status === 409 || status === 429 || status >= 500;
}

/**
 * Runs one Stripe request with retries under one overall deadline. `attempt` receives the time
 * left, to pass as the request's own timeout; callers making a create pass the same idempotency
 * key on every attempt, so a retry after a lost answer replays instead of creating twice.
 */
export async function callStripe<T>(
  attempt: (timeoutMs: number) => Promise<T>,
  { deadlineMs, maxRetries, sleep = defaultSleep }: CallStripeOptions,
): Promise<T> {
  const started = performance.now();
  const left = () => deadlineMs - (performance.now() - started);
  for (let retry = 0; ; retry++) {
    try {
      return await attempt(Math.max(1, Math.floor(left())));
    } catch (err) {
      if (left() <= 0) throw new StripeDeadlineExceeded(deadlineMs, err);
      if (retry >= maxRetries || !isRetryable(err)) throw err;
      const backoff = Math.min(2000, 250 * 2 ** retry) * (0.5 + Math.random() / 2);
      if (backoff >= left()) throw new StripeDeadlineExceeded(deadlineMs, err);
      await sleep(backoff);
    }
  }
}

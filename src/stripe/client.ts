import Stripe from 'stripe';

export interface StripeClientOptions {
  secretKey: string;
  /** Base URL of a Stripe-compatible API (local emulator, tests); Stripe itself when unset. */
  apiUrl?: string | undefined;
  timeoutMs: number;
}

export function createStripeClient(o: StripeClientOptions): Stripe {
  const base = o.apiUrl ? new URL(o.apiUrl) : undefined;
  return new Stripe(o.secretKey, {
    apiVersion: Stripe.API_VERSION,
    // Retries are ours (callStripe), so that one deadline covers every attempt.
    maxNetworkRetries: 0,
    timeout: o.timeoutMs,
    telemetry: false,
    appInfo: { name: 'reader-donations' },
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}

export { Stripe };

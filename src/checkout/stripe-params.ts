import type Stripe from 'stripe';
import type { Frequency } from '../../db/schema.js';
import type { CheckoutRequest } from './checkout-request.js';

/** The metadata tag that marks a Stripe object as created by this service. */
export const METADATA_SOURCE_KEY = 'rd_source';
export const METADATA_SOURCE = 'reader-donations';

const PRODUCT_NAME: Record<Frequency, string> = {
  once: 'One-off donation',
  monthly: 'Monthly donation',
  annual: 'Annual donation',
};

const INTERVAL = { monthly: 'month', annual: 'year' } as const;

export interface CheckoutContext {
  checkoutId: string;
  publicUrl: string;
  expiresAt: Date;
}

/** success_url must carry the session id back to us so the thank-you page can look it up. */
function withSessionIdPlaceholder(url: string): string {
  if (url.includes('{CHECKOUT_SESSION_ID}')) return url;
  const hashAt = url.indexOf('#');
  const [base, hash] = hashAt === -1 ? [url, ''] : [url.slice(0, hashAt), url.slice(hashAt)];
  return `${base}${base.includes('?') ? '&' : '?'}session_id={CHECKOUT_SESSION_ID}${hash}`;
}

export function checkoutSessionParams(r: CheckoutRequest, ctx: CheckoutContext): Stripe.Checkout.SessionCreateParams {
  const metadata: Record<string, string> = {
    [METADATA_SOURCE_KEY]: METADATA_SOURCE,
    rd_checkout_id: ctx.checkoutId,
    frequency: r.frequency,
    ...(r.campaign ? { campaign: r.campaign } : {}),
  };
  const priceData: Stripe.Checkout.SessionCreateParams.LineItem.PriceData = {
    currency: r.currency,
    unit_amount: r.amount,
    product_data: { name: PRODUCT_NAME[r.frequency] },
    ...(r.frequency === 'once' ? {} : { recurring: { interval: INTERVAL[r.frequency] } }),
  };
  const common = {
    line_items: [{ quantity: 1, price_data: priceData }],
    submit_type: 'donate' as const,
    success_url: withSessionIdPlaceholder(r.successUrl ?? `${ctx.publicUrl}/thank-you`),
    cancel_url: r.cancelUrl ?? `${ctx.publicUrl}/donate/cancelled`,
    client_reference_id: ctx.checkoutId,
    expires_at: Math.floor(ctx.expiresAt.getTime() / 1000),
    metadata,
    ...(r.email ? { customer_email: r.email } : {}),
  };
  if (r.frequency === 'once') {
    return {
      ...common,
      mode: 'payment',
      // A Customer for one-off donors too, so the same reader's gifts meet in one supporter.
      customer_creation: 'always',
      payment_intent_data: { metadata },
    };
  }
  return { ...common, mode: 'subscription', subscription_data: { metadata } };
}

import type Stripe from 'stripe';
import type { Config } from '../config.js';
import { callStripe } from './call-stripe.js';

type StripeCallConfig = Pick<Config, 'STRIPE_TIMEOUT_MS' | 'STRIPE_MAX_RETRIES'>;

const options = (config: StripeCallConfig) => ({
  deadlineMs: config.STRIPE_TIMEOUT_MS,
  maxRetries: config.STRIPE_MAX_RETRIES,
});

/**
 * The invoice a PaymentIntent paid, if any. Since API 2025-03-31 invoices no longer name their
 * PaymentIntent, so a refund on a recurring payment is traced back to its invoice this way.
 */
export async function invoiceForPaymentIntent(
  stripe: Stripe,
  paymentIntentId: string,
  config: StripeCallConfig,
): Promise<string | null> {
  const list = await callStripe(
    (timeout) =>
      stripe.invoicePayments.list(
        { payment: { type: 'payment_intent', payment_intent: paymentIntentId }, limit: 1 },
        { timeout },
      ),
    options(config),
  );
  const invoice = list.data[0]?.invoice;
  if (!invoice) return null;
  return typeof invoice === 'string' ? invoice : (invoice.id ?? null);
}

export async function paymentIntentForCharge(
  stripe: Stripe,
  chargeId: string,
  config: StripeCallConfig,
): Promise<string | null> {
  const charge = await callStripe((timeout) => stripe.charges.retrieve(chargeId, {}, { timeout }), options(config));
  const pi = charge.payment_intent;
  return pi === null ? null : typeof pi === 'string' ? pi : pi.id;
}

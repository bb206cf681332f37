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

/** A PaymentIntent's metadata (where Checkout put our tag for a one-off gift); none for one Stripe does not know. */
export async function paymentIntentMetadata(
  stripe: Stripe,
  paymentIntentId: string,
  config: StripeCallConfig,
): Promise<Record<string, string>> {
  try {
    const intent = await callStripe(
      (timeout) => stripe.paymentIntents.retrieve(paymentIntentId, {}, { timeout }),
      options(config),
    );
    return intent.metadata ?? {};
  } catch (err) {
    if ((err as { code?: unknown }).code === 'resource_missing') return {};
    throw err;
  }
}

/** The subscription an invoice belongs to, and that subscription's metadata as the invoice carries it. */
export async function invoiceSubscription(
  stripe: Stripe,
  invoiceId: string,
  config: StripeCallConfig,
): Promise<{ subscriptionId: string | null; metadata: Record<string, string> }> {
  const invoice = await callStripe((timeout) => stripe.invoices.retrieve(invoiceId, {}, { timeout }), options(config));
  const details = invoice.parent?.subscription_details;
  const sub = details?.subscription;
  return {
    subscriptionId: sub == null ? null : typeof sub === 'string' ? sub : sub.id,
    metadata: (details?.metadata as Record<string, string> | null | undefined) ?? {},
  };
}

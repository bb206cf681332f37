import Stripe from 'stripe';
import { type CallStripeOptions, callStripe } from './call-stripe.js';

type Calls = Pick<CallStripeOptions, 'deadlineMs' | 'maxRetries'>;

/** Stripe no longer has it: what we meant to remove is gone already. */
const isMissing = (err: unknown) => err instanceof Stripe.errors.StripeError && err.code === 'resource_missing';

/**
 * Cancels a subscription at once (no further payment); Stripe's answer is the canceled
 * subscription, or null when Stripe does not know it (deleted with its customer, say).
 */
export async function cancelSubscriptionNow(
  stripe: Stripe,
  subscriptionId: string,
  calls: Calls,
): Promise<Stripe.Subscription | null> {
  try {
    return await callStripe((timeout) => stripe.subscriptions.cancel(subscriptionId, {}, { timeout }), calls);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/** Deletes a customer at Stripe (which also cancels its subscriptions); false when it was gone already. */
export async function deleteCustomer(stripe: Stripe, customerId: string, calls: Calls): Promise<boolean> {
  try {
    await callStripe((timeout) => stripe.customers.del(customerId, {}, { timeout }), calls);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

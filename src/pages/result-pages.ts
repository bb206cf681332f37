import { html } from 'hono/html';
import type { Kysely } from 'kysely';
import type { Database, Frequency } from '../../db/schema.js';
import { findCheckoutByStripeId } from '../checkout/checkout-sessions-queries.js';
import { moneyTextExact } from './money-text.js';

const WORD: Record<Frequency, string> = { once: '', monthly: 'monthly ', annual: 'annual ' };

export type ThankYouState =
  | { kind: 'unknown' }
  | { kind: 'confirming' }
  | { kind: 'expired' }
  | { kind: 'received'; frequency: Frequency; amount: number; currency: string }
  | { kind: 'processing'; amount: number; currency: string }
  | { kind: 'failed' };

/**
 * What our own records say about a checkout: never the URL alone. A completed session counts once
 * the webhook has recorded the gift or the recurring donation.
 */
export async function thankYouState(db: Kysely<Database>, stripeSessionId: string): Promise<ThankYouState> {
  if (!/^cs_\w{1,200}$/.test(stripeSessionId)) return { kind: 'unknown' };
  const checkout = await findCheckoutByStripeId(db, stripeSessionId);
  if (!checkout) return { kind: 'unknown' };
  if (checkout.status === 'expired') return { kind: 'expired' };
  if (checkout.frequency === 'once') {
    const gift = await db
      .selectFrom('gifts')
      .select(['status', 'amount', 'currency'])
      .where('stripe_checkout_session_id', '=', stripeSessionId)
      .executeTakeFirst();
    if (!gift) return { kind: 'confirming' };
    if (gift.status === 'pending') return { kind: 'processing', amount: gift.amount, currency: gift.currency };
    if (gift.status === 'failed') return { kind: 'failed' };
    return { kind: 'received', frequency: 'once', amount: gift.amount, currency: gift.currency };
  }
  const recurring = await db
    .selectFrom('recurring_donations')
    .select(['status', 'amount', 'currency'])
    .where('checkout_session_id', '=', checkout.id)
    .executeTakeFirst();
  if (!recurring || !['active', 'trialing', 'past_due'].includes(recurring.status)) {
    return checkout.status === 'complete' && recurring
      ? { kind: 'processing', amount: checkout.amount, currency: checkout.currency }
      : { kind: 'confirming' };
  }
  return {
    kind: 'received',
    frequency: checkout.frequency,
    amount: recurring.amount ?? checkout.amount,
    currency: recurring.currency ?? checkout.currency,
  };
}

export function thankYouBody(state: ThankYouState, newsroom: string, gaveUp: boolean) {
  switch (state.kind) {
    case 'received': {
      const money = moneyTextExact(state.amount, state.currency);
      return html`<h1>Thank you!</h1>
<p>${state.frequency === 'once' ? html`Your gift of ${money} has been received.` : html`Your ${WORD[state.frequency]}gift of ${money} is active.`}</p>
<p>Readers like you keep ${newsroom} independent. Stripe will e-mail you a receipt.</p>`;
    }
    case 'processing':
      return html`<h1>Thank you!</h1>
<p>Your payment of ${moneyTextExact(state.amount, state.currency)} is on its way. Bank payments can take a few working days to clear; Stripe will e-mail you when it does.</p>`;
    case 'confirming':
      return gaveUp
        ? html`<h1>Thank you!</h1><p>We are still confirming your payment; this is taking longer than usual. Stripe will e-mail you a receipt, and you can close this page.</p>`
        : html`<h1>Thank you!</h1><p role="status">We're confirming your payment. This page will update in a moment.</p>`;
    case 'failed':
      return html`<h1>Your payment did not go through</h1><p>Nothing was charged. <a href="/donate">Try again</a>.</p>`;
    case 'expired':
      return html`<h1>This checkout has expired</h1><p>Nothing was charged. <a href="/donate">Start again</a>.</p>`;
    default:
      return html`<h1>We could not find this payment</h1><p>If you have just given, check the link in your browser. <a href="/donate">Back to the donation page</a>.</p>`;
  }
}

export const cancelledBody = () =>
  html`<h1>No payment was made</h1>
<p>You left the checkout before paying, so nothing was charged.</p>
<p><a class="button" href="/donate">Try again</a></p>`;

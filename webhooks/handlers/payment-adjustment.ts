import type { DisputeState } from '../../db/schema.js';
import type { Deps } from '../../src/deps.js';
import {
  invoiceForPaymentIntent,
  invoiceSubscription,
  paymentIntentForCharge,
  paymentIntentMetadata,
} from '../../src/stripe/lookups.js';
import { defineHandler, ignored, processed } from '../handler.js';
import { ledgerHolds, withAdjustmentRecorded } from '../ledger/payment-adjustments.js';
import { type ChargeObject, chargeObject, type DisputeObject, disputeObject } from '../stripe-objects.js';
import { isOurs, keys } from './common.js';

interface Located {
  paymentIntentId: string | null;
  invoiceId: string | null;
  /** In our ledger, or tagged as ours at Stripe: another shop's refunds and disputes are not. */
  ours: boolean;
}

/**
 * Finds what a refund or dispute belongs to before the transaction, and whether it is ours: a gift
 * we hold by its PaymentIntent; else a PaymentIntent Checkout tagged for us (a one-off whose own
 * event is still on its way); else the invoice Stripe says the PaymentIntent paid, when that
 * invoice is one we hold or its subscription is ours (tagged, or one we know). Anything else is
 * another shop's on the same Stripe account.
 */
async function locate(deps: Deps, paymentIntentId: string | null, chargeId: string | null): Promise<Located> {
  const none = { paymentIntentId: null, invoiceId: null, ours: false };
  let pi = paymentIntentId;
  if (!pi && chargeId) pi = await paymentIntentForCharge(requireKey(deps), chargeId, deps.config);
  if (!pi) return none;
  if (await ledgerHolds(deps.db, { table: 'gifts', column: 'stripe_payment_intent_id', value: pi }))
    return { paymentIntentId: pi, invoiceId: null, ours: true };
  const stripe = requireKey(deps);
  if (isOurs(await paymentIntentMetadata(stripe, pi, deps.config))) {
    return { paymentIntentId: pi, invoiceId: null, ours: true };
  }
  const invoiceId = await invoiceForPaymentIntent(stripe, pi, deps.config);
  if (!invoiceId) return { ...none, paymentIntentId: pi };
  if (await ledgerHolds(deps.db, { table: 'gifts', column: 'stripe_invoice_id', value: invoiceId }))
    return { paymentIntentId: pi, invoiceId, ours: true };
  const { subscriptionId, metadata } = await invoiceSubscription(stripe, invoiceId, deps.config);
  const ours =
    isOurs(metadata) ||
    (subscriptionId !== null &&
      (await ledgerHolds(deps.db, {
        table: 'recurring_donations',
        column: 'stripe_subscription_id',
        value: subscriptionId,
      })));
  return { paymentIntentId: pi, invoiceId, ours };
}

/**
 * Without a key we could not tell a recurring payment's refund from one for a payment still on its
 * way, and a refund recorded against nothing would leave the totals too high: fail, so Stripe
 * retries and `webhooks replay` can finish it once STRIPE_SECRET_KEY is set.
 */
function requireKey(deps: Deps) {
  if (!deps.stripe) throw new Error('STRIPE_SECRET_KEY is needed to trace this payment to its invoice');
  return deps.stripe;
}

const lockKeys = (_: unknown, at: Located) => [keys.paymentIntent(at.paymentIntentId), keys.invoice(at.invoiceId)];

export const chargeRefunded = defineHandler<ChargeObject, Located>({
  schema: chargeObject,
  prepare: (c, deps) => locate(deps, c.payment_intent, c.id),
  lockKeys,
  effect(ctx, c, at) {
    if (!at.paymentIntentId) return ignored('charge without a PaymentIntent');
    if (!at.ours) return ignored('payment not made through reader-donations');
    return processed(
      withAdjustmentRecorded(ctx.statement, {
        stripePaymentIntentId: at.paymentIntentId,
        stripeChargeId: c.id,
        stripeInvoiceId: at.invoiceId,
        amountRefunded: c.amount_refunded,
        now: ctx.now,
      }),
    );
  },
});

function disputeStateOf(type: 'created' | 'closed', status: string): DisputeState {
  if (status === 'lost') return 'lost';
  if (status === 'won' || status === 'warning_closed') return 'won';
  return type === 'closed' ? 'won' : 'open';
}

const disputeHandler = (type: 'created' | 'closed') =>
  defineHandler<DisputeObject, Located>({
    schema: disputeObject,
    prepare: (d, deps) => locate(deps, d.payment_intent, d.charge),
    lockKeys,
    effect(ctx, d, at) {
      if (!at.paymentIntentId) return ignored('dispute without a PaymentIntent');
      if (!at.ours) return ignored('payment not made through reader-donations');
      return processed(
        withAdjustmentRecorded(ctx.statement, {
          stripePaymentIntentId: at.paymentIntentId,
          stripeChargeId: d.charge,
          stripeInvoiceId: at.invoiceId,
          disputeState: disputeStateOf(type, d.status),
          now: ctx.now,
        }),
      );
    },
  });

export const chargeDisputeCreated = disputeHandler('created');
export const chargeDisputeClosed = disputeHandler('closed');

import type { EventHandler } from '../handler.js';
import {
  checkoutSessionAsyncPaymentFailed,
  checkoutSessionAsyncPaymentSucceeded,
  checkoutSessionCompleted,
  checkoutSessionExpired,
} from './checkout-session.js';
import { customerSubscription } from './customer-subscription.js';
import { invoicePaid, invoicePaymentFailed } from './invoice.js';
import { chargeDisputeClosed, chargeDisputeCreated, chargeRefunded } from './payment-adjustment.js';

/** The one list of event types we handle: the dispatcher uses it, and `webhooks events` prints it. */
export const HANDLERS: Readonly<Record<string, EventHandler>> = {
  'checkout.session.completed': checkoutSessionCompleted,
  'checkout.session.async_payment_succeeded': checkoutSessionAsyncPaymentSucceeded,
  'checkout.session.async_payment_failed': checkoutSessionAsyncPaymentFailed,
  'checkout.session.expired': checkoutSessionExpired,
  'invoice.paid': invoicePaid,
  'invoice.payment_failed': invoicePaymentFailed,
  'customer.subscription.created': customerSubscription,
  'customer.subscription.updated': customerSubscription,
  'customer.subscription.deleted': customerSubscription,
  'charge.refunded': chargeRefunded,
  'charge.dispute.created': chargeDisputeCreated,
  'charge.dispute.closed': chargeDisputeClosed,
};

export const HANDLED_EVENT_TYPES = Object.keys(HANDLERS);

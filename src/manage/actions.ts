import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { compile } from '../../db/sql-fragment.js';
import { subscriptionSnapshotStatement } from '../../webhooks/handlers/customer-subscription.js';
import { subscriptionObject } from '../../webhooks/stripe-objects.js';
import { checkGiftAmount } from '../checkout/checkout-request.js';
import { requireStripe, stripeFailure } from '../checkout/create-checkout.js';
import type { Deps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { callStripe } from '../stripe/call-stripe.js';
import { type CancelReason, stripeComment, stripeFeedback } from './cancel-reasons.js';
import {
  type DonationRow,
  donationOf,
  isDonationId,
  isLive,
  type PaymentMethodView,
  type RecurringView,
  recurringView,
} from './donations.js';

export type Change =
  | { kind: 'cancel'; reason: CancelReason | undefined; comment: string | undefined }
  | { kind: 'resume' }
  | { kind: 'pause'; months: 1 | 2 | 3; insteadOfCancel: boolean }
  | { kind: 'amount'; amount: number; insteadOfCancel: boolean };

const notFound = () => new ApiError('not_found', 'No such recurring donation');

/** The donor's donation, or 404 for an id that is not theirs (the same answer as for no such id). */
async function ownDonation(deps: Deps, supporterId: string, id: string): Promise<DonationRow> {
  const row = isDonationId(id) ? await donationOf(deps.db, supporterId, id) : undefined;
  if (!row) throw notFound();
  return row;
}

function addMonths(d: Date, months: number): Date {
  const next = new Date(d);
  next.setUTCMonth(next.getUTCMonth() + months);
  return next;
}

const cardOf = (pm: string | Stripe.PaymentMethod | null | undefined): PaymentMethodView | null =>
  pm && typeof pm === 'object' && pm.card ? { brand: pm.card.brand, last4: pm.card.last4 } : null;

/**
 * Changes one of the donor's recurring donations at Stripe, then records Stripe's answer at once
 * (as its customer.subscription.updated will record it again, in any order) with what the donor
 * did, and answers the donation as it now stands.
 */
export async function changeDonation(
  deps: Deps,
  supporterId: string,
  donationId: string,
  change: Change,
  logger: Logger,
): Promise<RecurringView> {
  const { config, clock } = deps;
  const row = await ownDonation(deps, supporterId, donationId);
  if (!isLive(row)) throw new ApiError('conflict', 'This donation has ended; it can no longer be changed');
  const stripe = requireStripe(deps);
  const calls = { deadlineMs: config.STRIPE_TIMEOUT_MS, maxRetries: config.STRIPE_MAX_RETRIES };
  const subscriptionId = row.stripe_subscription_id;
  let params: Stripe.SubscriptionUpdateParams;
  switch (change.kind) {
    case 'cancel':
      params = {
        cancel_at_period_end: true,
        cancellation_details: {
          feedback: stripeFeedback(change.reason ?? 'other'),
          comment: stripeComment(change.reason ?? 'other', change.comment),
        },
      };
      break;
    case 'resume':
      params = { cancel_at_period_end: false, pause_collection: '' };
      break;
    case 'pause':
      params = {
        pause_collection: {
          behavior: 'void',
          resumes_at: Math.floor(addMonths(clock.now(), change.months).getTime() / 1000),
        },
      };
      break;
    case 'amount': {
      if (!row.currency) throw new ApiError('conflict', 'This donation has no amount to change yet');
      checkGiftAmount(config.donationOptions, row.currency, change.amount);
      const current = await callStripe(
        (timeout) => stripe.subscriptions.retrieve(subscriptionId, {}, { timeout }),
        calls,
      ).catch((err) => {
        throw stripeFailure(err, logger, 'The payment provider could not change the donation; please try again');
      });
      const item = current.items.data[0];
      if (!item?.price.recurring) throw new ApiError('conflict', 'This donation cannot change its amount here');
      const product = typeof item.price.product === 'string' ? item.price.product : item.price.product.id;
      params = {
        items: [
          {
            id: item.id,
            price_data: {
              currency: item.price.currency,
              product,
              unit_amount: change.amount,
              recurring: { interval: item.price.recurring.interval },
            },
          },
        ],
        proration_behavior: 'none',
      };
      break;
    }
  }
  // One key for the call and its retries: a retry after a lost answer is replayed, not repeated.
  const idempotencyKey = `manage-${change.kind}-${randomUUID()}`;
  const updated = await callStripe(
    (timeout) =>
      stripe.subscriptions.update(
        subscriptionId,
        { ...params, expand: ['default_payment_method'] },
        { timeout, idempotencyKey },
      ),
    calls,
  ).catch((err) => {
    throw stripeFailure(err, logger, 'The payment provider could not change the donation; please try again');
  });

  const now = clock.now();
  const parsed = subscriptionObject.safeParse(updated);
  if (!parsed.success)
    throw new ApiError('payment_provider_error', 'The payment provider answered in a form we do not know');
  // Stripe's own time for the answer: its events are dated by the same clock. Our source id sorts
  // after any event id ("evt_") in the same second, in every collation ("z" > "e"; digits of one
  // length), and orders two of our changes within one second by when they were answered (a
  // tie-breaker, not business time: hence the wall clock).
  const date = Date.parse(updated.lastResponse?.headers?.date ?? '');
  const created = Number.isNaN(date) ? Math.floor(now.getTime() / 1000) : Math.floor(date / 1000);
  const statement = subscriptionSnapshotStatement(parsed.data, {
    created,
    sourceId: `zz${String(Date.now()).padStart(15, '0')}`,
    now,
  });
  const saved = await deps.db.transaction().execute(async (trx) => {
    await trx.executeQuery(compile(statement));
    await trx
      .insertInto('donor_actions')
      .values({
        id: randomUUID(),
        recurring_donation_id: row.id,
        action: change.kind,
        reason: change.kind === 'cancel' ? (change.reason ?? 'other') : null,
        pause_months: change.kind === 'pause' ? change.months : null,
        old_amount: change.kind === 'amount' ? row.amount : null,
        new_amount: change.kind === 'amount' ? change.amount : null,
        currency: row.currency,
        instead_of_cancel: (change.kind === 'pause' || change.kind === 'amount') && change.insteadOfCancel,
        created_at: now,
      })
      .execute();
    return trx.selectFrom('recurring_donations').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  });
  logger.info({ donationId: row.id, action: change.kind }, 'donor changed a recurring donation');
  return recurringView(saved, cardOf(updated.default_payment_method));
}

/** The card each live donation is charged to, from Stripe; null where Stripe cannot say now. */
export async function paymentMethodsOf(
  deps: Deps,
  donations: DonationRow[],
  logger: Logger,
): Promise<Map<string, PaymentMethodView | null>> {
  const cards = new Map<string, PaymentMethodView | null>();
  const stripe = deps.stripe;
  const calls = { deadlineMs: deps.config.STRIPE_TIMEOUT_MS, maxRetries: deps.config.STRIPE_MAX_RETRIES };
  await Promise.all(
    donations.map(async (d) => {
      cards.set(d.id, null);
      if (!stripe || !isLive(d)) return;
      try {
        const s = await callStripe(
          (timeout) =>
            stripe.subscriptions.retrieve(
              d.stripe_subscription_id,
              { expand: ['default_payment_method'] },
              { timeout },
            ),
          calls,
        );
        cards.set(d.id, cardOf(s.default_payment_method));
      } catch (err) {
        // The page still shows the donation; only the card is missing.
        stripeFailure(err, logger);
      }
    }),
  );
  return cards;
}

/** A Stripe Billing Portal session to update the card of one of the donor's donations: its URL. */
export async function paymentMethodSession(
  deps: Deps,
  supporterId: string,
  donationId: string,
  logger: Logger,
): Promise<string> {
  const row = await ownDonation(deps, supporterId, donationId);
  if (!row.stripe_customer_id) throw new ApiError('conflict', 'This donation has no card to update yet');
  const stripe = requireStripe(deps);
  const customer = row.stripe_customer_id;
  const session = await callStripe(
    (timeout) =>
      stripe.billingPortal.sessions.create(
        {
          customer,
          ...(deps.config.STRIPE_PORTAL_CONFIGURATION
            ? { configuration: deps.config.STRIPE_PORTAL_CONFIGURATION }
            : {}),
          return_url: `${deps.config.PUBLIC_URL}/manage`,
          // Back to /manage once the card is saved, rather than to the portal's own home page.
          flow_data: {
            type: 'payment_method_update',
            after_completion: { type: 'redirect', redirect: { return_url: `${deps.config.PUBLIC_URL}/manage` } },
          },
        },
        { timeout },
      ),
    { deadlineMs: deps.config.STRIPE_TIMEOUT_MS, maxRetries: deps.config.STRIPE_MAX_RETRIES },
  ).catch((err) => {
    throw stripeFailure(err, logger, 'The payment provider could not open the card update; please try again');
  });
  // The URL is a short-lived credential for the donor's Stripe customer: never logged.
  logger.info({ donationId: row.id }, 'donor opened the card update');
  return session.url;
}

import type { Frequency } from '../../db/schema.js';
import type { Fragment } from '../../db/sql-fragment.js';
import { METADATA_SOURCE, METADATA_SOURCE_KEY } from '../../src/checkout/stripe-params.js';
import type { Interval } from '../../src/ledger/recurring-donations.js';
import { linkOrphansQuery } from '../../src/ledger/supporters.js';
import type { HandlerContext } from '../handler.js';

/** Tagged at creation (src/checkout/stripe-params.ts): only our own sessions and subscriptions count. */
export const isOurs = (metadata: Record<string, string>) => metadata[METADATA_SOURCE_KEY] === METADATA_SOURCE;

export const toDate = (unixSeconds: number | null | undefined) =>
  unixSeconds == null ? null : new Date(unixSeconds * 1000);

export function recurringFrequency(metadata: Record<string, string>): 'monthly' | 'annual' | null {
  const f = metadata.frequency;
  return f === 'monthly' || f === 'annual' ? f : null;
}

export const intervalOf = (frequency: Frequency | null): Interval | null =>
  frequency === 'monthly' ? 'month' : frequency === 'annual' ? 'year' : null;

export const asInterval = (interval: string | null | undefined): Interval | null =>
  interval === 'month' || interval === 'year' ? interval : null;

export const campaignOf = (metadata: Record<string, string>) => metadata.campaign ?? null;

/** Lock keys, namespaced so an e-mail can never collide with a Stripe id. */
export const keys = {
  customer: (id: string | null) => (id ? `customer:${id}` : null),
  email: (email: string | null) => (email ? `email:${email.trim().toLowerCase()}` : null),
  paymentIntent: (id: string | null) => (id ? `pi:${id}` : null),
  subscription: (id: string | null) => (id ? `sub:${id}` : null),
  invoice: (id: string | null) => (id ? `invoice:${id}` : null),
  checkout: (id: string | null) => (id ? `checkout:${id}` : null),
};

/**
 * Runs the event's statement (which has a `supporter` CTE). When it names the supporter by e-mail
 * and a customer, a second statement in the same round trip gives this supporter the customer's
 * gifts and donations that arrived before any e-mail.
 */
export async function recordWithSupporter(
  ctx: HandlerContext,
  email: string | null,
  customerId: string | null,
  ctes: ReadonlyArray<Fragment | null>,
): Promise<void> {
  await ctx.effect(ctes, email && customerId ? linkOrphansQuery(email, customerId) : undefined);
}

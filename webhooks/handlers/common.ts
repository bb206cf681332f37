import type { Frequency } from '../../db/schema.js';
import { METADATA_SOURCE, METADATA_SOURCE_KEY } from '../../src/checkout/stripe-params.js';
import type { Cte, Ctes, EventStatement } from '../event-statement.js';
import type { Interval } from '../ledger/recurring-donations.js';
import { withOrphansLinked } from '../ledger/supporters.js';

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
 * When an event names its supporter by e-mail and a customer, the customer's gifts and donations
 * that arrived before any e-mail go to that supporter, in the same statement.
 */
export function withOrphansOf<R extends Ctes & { supporter: Cte<'id'> }>(
  statement: EventStatement<R>,
  email: string | null,
  customerId: string | null,
): EventStatement<R> {
  return email && customerId ? withOrphansLinked(statement, customerId) : statement;
}

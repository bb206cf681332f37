import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { eventsNaming, findPerson, ownedBy } from './person.js';

/** Everything held about one person, by the e-mail they gave (GDPR article 15). */
export interface SupporterRecord {
  /** The supporter with this e-mail first, then any that shares a Stripe customer with it. */
  supporters: Array<{ id: string; email: string | null; name: string | null; createdAt: string; updatedAt: string }>;
  stripeCustomers: string[];
  gifts: Array<Record<string, unknown>>;
  recurringDonations: Array<Record<string, unknown>>;
  reminders: Array<Record<string, unknown>>;
  /** Stored bodies of events not yet processed that name this person (kept for replay). */
  pendingEvents: Array<{ id: string; type: string; receivedAt: string }>;
}

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

/** Everything held about the person with this e-mail, or undefined when nothing is. */
export async function supporterRecord(db: Kysely<Database>, email: string): Promise<SupporterRecord | undefined> {
  const f = await findPerson(db, email);
  if (!f) return undefined;
  const gifts = await db
    .selectFrom('gifts')
    .selectAll()
    .where(ownedBy(f, 'gifts'))
    .orderBy('ledger_at')
    .orderBy('id')
    .execute();
  const donations = await db
    .selectFrom('recurring_donations')
    .selectAll()
    .where(ownedBy(f, 'recurring_donations'))
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const reminders = await db
    .selectFrom('reminders')
    .selectAll()
    .where('kind', '=', 'email')
    .where('email', 'in', f.emails)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const events = await db
    .selectFrom('stripe_events')
    .select(['id', 'type', 'received_at'])
    .where(eventsNaming(f))
    .where('processed_at', 'is', null)
    .orderBy('received_at')
    .execute();
  return {
    supporters: f.supporters.map((s) => ({
      id: s.id,
      email: s.email,
      name: s.name,
      createdAt: s.created_at.toISOString(),
      updatedAt: s.updated_at.toISOString(),
    })),
    stripeCustomers: f.customers,
    gifts: gifts.map((g) => ({
      id: g.id,
      frequency: g.frequency,
      amount: g.amount,
      currency: g.currency,
      status: g.status,
      refundedAmount: g.refunded_amount,
      paidAt: iso(g.paid_at),
      campaign: g.campaign,
      stripeCustomerId: g.stripe_customer_id,
      stripeCheckoutSessionId: g.stripe_checkout_session_id,
      stripePaymentIntentId: g.stripe_payment_intent_id,
      stripeInvoiceId: g.stripe_invoice_id,
      stripeChargeId: g.stripe_charge_id,
      stripeSubscriptionId: g.stripe_subscription_id,
      createdAt: iso(g.created_at),
    })),
    recurringDonations: donations.map((d) => ({
      id: d.id,
      stripeSubscriptionId: d.stripe_subscription_id,
      stripeCustomerId: d.stripe_customer_id,
      amount: d.amount,
      currency: d.currency,
      interval: d.interval,
      status: d.status,
      cancelAtPeriodEnd: d.cancel_at_period_end,
      startedAt: iso(d.started_at),
      canceledAt: iso(d.canceled_at),
      currentPeriodEnd: iso(d.current_period_end),
      lastPaymentAt: iso(d.last_payment_at),
      campaign: d.campaign,
      createdAt: iso(d.created_at),
    })),
    reminders: reminders.map((r) => ({
      id: r.id,
      status: r.status,
      email: r.email,
      remindAt: iso(r.remind_at),
      frequency: r.frequency,
      amount: r.amount,
      currency: r.currency,
      campaign: r.campaign,
      consentVersion: r.consent_version,
      consentedAt: iso(r.consented_at),
      createdAt: iso(r.created_at),
      sentAt: iso(r.sent_at),
      cancelledAt: iso(r.cancelled_at),
      convertedAt: iso(r.converted_at),
    })),
    pendingEvents: events.map((e) => ({ id: e.id, type: e.type, receivedAt: e.received_at.toISOString() })),
  };
}

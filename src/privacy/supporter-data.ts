import { type Kysely, sql } from 'kysely';
import type Stripe from 'stripe';
import type { Database } from '../../db/schema.js';
import { compile, sql as q } from '../../db/sql-fragment.js';
import { keys } from '../../webhooks/handlers/common.js';
import { subscriptionSnapshotQuery } from '../../webhooks/handlers/customer-subscription.js';
import { subscriptionObject } from '../../webhooks/stripe-objects.js';
import type { Deps } from '../deps.js';
import { lockIds, lockStatement } from '../ledger/lock-keys.js';
import { cancelSubscriptionNow, deleteCustomer } from '../stripe/account-changes.js';

/** Everything held about one person, by the e-mail they gave (GDPR article 15). */
export interface SupporterRecord {
  supporter: {
    id: string;
    email: string | null;
    name: string | null;
    createdAt: string;
    updatedAt: string;
  } | null;
  stripeCustomers: string[];
  gifts: Array<Record<string, unknown>>;
  recurringDonations: Array<Record<string, unknown>>;
  reminders: Array<Record<string, unknown>>;
  /** Stored bodies of events not yet processed that name this person (kept for replay). */
  pendingEvents: Array<{ id: string; type: string; receivedAt: string }>;
}

/** What an erasure did (GDPR article 17). */
export interface ErasureResult {
  supporterId: string | null;
  supporterErased: boolean;
  recurringCanceled: number;
  stripeCustomersDeleted: number;
  remindersErased: number;
  eventBodiesDropped: number;
}

/** A recurring donation Stripe may still charge. */
const LIVE = (status: string) => status !== 'canceled' && status !== 'incomplete_expired';

export class RecurringActive extends Error {
  constructor(readonly count: number) {
    super(
      `the supporter has ${count} recurring donation${count === 1 ? '' : 's'} that Stripe may still charge; ` +
        'cancel at Stripe first (cancelRecurring)',
    );
    this.name = 'RecurringActive';
  }
}

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
const normalised = (email: string) => email.trim().toLowerCase();

interface Found {
  email: string;
  supporter: Awaited<ReturnType<typeof findSupporter>>;
  customers: string[];
}

function findSupporter(db: Kysely<Database>, email: string) {
  return db
    .selectFrom('supporters')
    .select(['id', 'email', 'name', 'created_at', 'updated_at'])
    .where('email', '=', email)
    .executeTakeFirst();
}

async function find(db: Kysely<Database>, rawEmail: string): Promise<Found | undefined> {
  const email = normalised(rawEmail);
  const supporter = await findSupporter(db, email);
  const customers = supporter
    ? (
        await db
          .selectFrom('supporter_customers')
          .select('stripe_customer_id')
          .where('supporter_id', '=', supporter.id)
          .orderBy('stripe_customer_id')
          .execute()
      ).map((r) => r.stripe_customer_id)
    : [];
  const reminder = await db
    .selectFrom('reminders')
    .select('id')
    .where('kind', '=', 'email')
    .where('email', '=', email)
    .executeTakeFirst();
  if (!supporter && !reminder) return undefined;
  return { email, supporter, customers };
}

/** Gifts and donations of the supporter, and of their customers before an e-mail named them. */
function ownedBy<T extends 'gifts' | 'recurring_donations'>(f: Found, table: T) {
  const id = f.supporter?.id ?? null;
  return sql<boolean>`(${sql.ref(`${table}.supporter_id`)} = ${id}::uuid or (${sql.ref(`${table}.supporter_id`)} is null
    and ${sql.ref(`${table}.stripe_customer_id`)} = any(${f.customers}::text[])))`;
}

/** Failed events whose stored body names this e-mail or one of these customers. */
function eventsNaming(f: Found) {
  return sql<boolean>`(payload is not null and (strpos(lower(payload), ${f.email}) > 0
    or object_ids && ${f.customers}::text[]))`;
}

/** Everything held about the person with this e-mail, or undefined when nothing is. */
export async function supporterRecord(db: Kysely<Database>, email: string): Promise<SupporterRecord | undefined> {
  const f = await find(db, email);
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
    .where('email', '=', f.email)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const events = await db
    .selectFrom('stripe_events')
    .select(['id', 'type', 'received_at'])
    .where(eventsNaming(f))
    .orderBy('received_at')
    .execute();
  const s = f.supporter;
  return {
    supporter: s
      ? {
          id: s.id,
          email: s.email,
          name: s.name,
          createdAt: s.created_at.toISOString(),
          updatedAt: s.updated_at.toISOString(),
        }
      : null,
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

export interface ErasureOptions {
  cancelRecurring: boolean;
  deleteStripeCustomer: boolean;
}

/** Undefined when nothing is held for this e-mail. Throws RecurringActive, or a Stripe failure. */
export async function eraseSupporter(
  deps: Pick<Deps, 'db' | 'config' | 'clock'> & { stripe: Stripe | undefined },
  email: string,
  o: ErasureOptions,
  requireStripe: () => Stripe,
): Promise<ErasureResult | undefined> {
  const { db, config } = deps;
  const f = await find(db, email);
  if (!f) return undefined;
  const calls = { deadlineMs: config.STRIPE_TIMEOUT_MS, maxRetries: config.STRIPE_MAX_RETRIES };

  const live = (
    await db
      .selectFrom('recurring_donations')
      .select(['stripe_subscription_id', 'status'])
      .where(ownedBy(f, 'recurring_donations'))
      .execute()
  ).filter((d) => LIVE(d.status));
  let recurringCanceled = 0;
  if (live.length > 0 && !o.cancelRecurring) throw new RecurringActive(live.length);
  for (const d of live) {
    // Stripe first: the donor must not be charged again once their data is gone.
    const canceled = await cancelSubscriptionNow(requireStripe(), d.stripe_subscription_id, calls);
    if (!canceled) continue;
    const parsed = subscriptionObject.safeParse(canceled);
    if (parsed.success) {
      const now = deps.clock.now();
      const statement = subscriptionSnapshotQuery(parsed.data, {
        created: parsed.data.canceled_at ?? Math.floor(now.getTime() / 1000),
        sourceId: `api_cancel_${parsed.data.id}`,
        supporterId: q`${f.supporter?.id ?? null}::uuid`,
        now,
      });
      await db.executeQuery(compile(statement));
    }
    recurringCanceled++;
  }

  let stripeCustomersDeleted = 0;
  if (o.deleteStripeCustomer) {
    for (const customer of f.customers) {
      if (await deleteCustomer(requireStripe(), customer, calls)) stripeCustomersDeleted++;
    }
  }

  const now = deps.clock.now();
  return db.transaction().execute(async (trx) => {
    // The keys an event for this e-mail or these customers takes: one arriving now waits, then
    // finds the supporter erased, and cannot write the e-mail back.
    const locks = lockStatement(lockIds([keys.email(f.email), ...f.customers.map((c) => keys.customer(c))]));
    if (locks) await trx.executeQuery(locks);
    let supporterErased = false;
    if (f.supporter) {
      const erased = await trx
        .updateTable('supporters')
        .set({ email: null, name: null, name_version: null, erased_at: now, updated_at: now })
        .where('id', '=', f.supporter.id)
        .executeTakeFirst();
      supporterErased = Number(erased.numUpdatedRows) === 1;
    }
    const reminders = await trx
      .updateTable('reminders')
      .set({
        status: sql`case when status = 'pending' then 'cancelled' else status end`,
        cancelled_at: sql`case when status = 'pending' then ${now}::timestamptz else cancelled_at end`,
        closed_at: sql`coalesce(closed_at, ${now}::timestamptz)`,
        email: null,
        email_erased_at: now,
        updated_at: now,
      })
      .where('kind', '=', 'email')
      .where('email', '=', f.email)
      .executeTakeFirst();
    const events = await trx
      .updateTable('stripe_events')
      .set({ payload: null })
      .where(eventsNaming(f))
      .executeTakeFirst();
    return {
      supporterId: f.supporter?.id ?? null,
      supporterErased,
      recurringCanceled,
      stripeCustomersDeleted,
      remindersErased: Number(reminders.numUpdatedRows),
      eventBodiesDropped: Number(events.numUpdatedRows),
    };
  });
}

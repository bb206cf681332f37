import { type Kysely, sql } from 'kysely';
import type Stripe from 'stripe';
import { lockIds, lockStatement } from '../../db/advisory-locks.js';
import type { Database } from '../../db/schema.js';
import { compile } from '../../db/sql-fragment.js';
import { keys } from '../../webhooks/handlers/common.js';
import { subscriptionSnapshotStatement } from '../../webhooks/handlers/customer-subscription.js';
import { subscriptionObject } from '../../webhooks/stripe-objects.js';
import type { Deps } from '../deps.js';
import { cancelSubscriptionNow, deleteCustomer } from '../stripe/account-changes.js';
import { erasedEmailKey } from './keyed-hash.js';
import { eventsNaming, findPerson, ownedBy, type Person } from './person.js';

/** What an erasure did (GDPR article 17). */
export interface ErasureResult {
  /** The supporter rows erased: the one with the e-mail, and any that shares a Stripe customer with it. */
  supporterIds: string[];
  supportersErased: number;
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
      `the supporter has ${count} recurring donation${count === 1 ? '' : 's'} that Stripe may still charge: ` +
        `cancel ${count === 1 ? 'it' : 'them'} at Stripe first`,
    );
    this.name = 'RecurringActive';
  }
}

/** A payment under a new customer or subscription arrived while Stripe was being called: run it again. */
export class ErasureRaced extends Error {
  constructor() {
    super("the supporter's records changed while erasing (a payment arrived); nothing was erased: run it again");
    this.name = 'ErasureRaced';
  }
}

export interface ErasureOptions {
  cancelRecurring: boolean;
  deleteStripeCustomer: boolean;
}

const liveDonations = async (db: Kysely<Database>, p: Person) =>
  (
    await db
      .selectFrom('recurring_donations')
      .select(['stripe_subscription_id', 'status'])
      .where(ownedBy(p, 'recurring_donations'))
      .execute()
  )
    .filter((d) => LIVE(d.status))
    .map((d) => d.stripe_subscription_id);

/**
 * Erases everything held about the person with this e-mail, leaving the ledger whole: Stripe first
 * (cancelling recurring donations, deleting customers, as asked), then, in one transaction that
 * holds the keys every event for them takes, their supporter rows' e-mail and name, their
 * reminders and the stored event bodies that name them. Undefined when nothing is held; throws
 * RecurringActive, ErasureRaced, or a Stripe failure (before anything here is erased).
 */
export async function eraseSupporter(
  deps: Pick<Deps, 'db' | 'config' | 'clock' | 'keyedHash'>,
  email: string,
  o: ErasureOptions,
  requireStripe: () => Stripe,
): Promise<ErasureResult | undefined> {
  const { db, config } = deps;
  const before = await findPerson(db, email);
  if (!before) return undefined;
  const calls = { deadlineMs: config.STRIPE_TIMEOUT_MS, maxRetries: config.STRIPE_MAX_RETRIES };

  const live = await liveDonations(db, before);
  if (live.length > 0 && !o.cancelRecurring) throw new RecurringActive(live.length);
  let recurringCanceled = 0;
  for (const subscriptionId of live) {
    // Stripe first: the donor must not be charged again once their data is gone.
    const canceled = await cancelSubscriptionNow(requireStripe(), subscriptionId, calls);
    if (!canceled) continue;
    const parsed = subscriptionObject.safeParse(canceled);
    if (parsed.success) {
      const now = deps.clock.now();
      // Recorded at once, as its customer.subscription.deleted will record it again.
      const statement = subscriptionSnapshotStatement(parsed.data, {
        created: parsed.data.canceled_at ?? Math.floor(now.getTime() / 1000),
        sourceId: `api_cancel_${parsed.data.id}`,
        now,
      });
      await db.executeQuery(compile(statement));
    }
    recurringCanceled++;
  }
  let stripeCustomersDeleted = 0;
  if (o.deleteStripeCustomer) {
    for (const customer of before.customers) {
      if (await deleteCustomer(requireStripe(), customer, calls)) stripeCustomersDeleted++;
    }
  }

  const now = deps.clock.now();
  const digest = await deps.keyedHash.digester();
  return db.transaction().execute(async (trx) => {
    // The keys an event for these e-mails or customers takes: one arriving now waits, then finds
    // the supporter erased, and cannot write the e-mail back.
    const keyList = [...before.emails.map(keys.email), ...before.customers.map(keys.customer)];
    const locks = lockStatement(lockIds(keyList));
    if (locks) await trx.executeQuery(locks);
    // Looked at again under the locks: what Stripe was asked to do must still cover everything.
    const p = await findPerson(trx, email);
    if (!p) return { supporterIds: [], ...zero, recurringCanceled, stripeCustomersDeleted };
    const newSupporters = p.supporters.filter((s) => !before.supporters.some((b) => b.id === s.id));
    const newCustomers = p.customers.filter((c) => !before.customers.includes(c));
    const newlyLive = (await liveDonations(trx, p)).filter((id) => !live.includes(id));
    if (newSupporters.length + newCustomers.length + newlyLive.length > 0) throw new ErasureRaced();

    for (const s of p.supporters) {
      await trx
        .updateTable('supporters')
        .set({
          email: null,
          name: null,
          name_version: null,
          erased_at: now,
          erased_email_hash: s.email ? erasedEmailKey(digest, s.email) : null,
          updated_at: now,
        })
        .where('id', '=', s.id)
        .execute();
    }
    // Their manage links stop working and nothing queued for them is sent.
    if (p.supporters.length > 0) {
      await trx
        .deleteFrom('manage_links')
        .where(
          'supporter_id',
          'in',
          p.supporters.map((s) => s.id),
        )
        .execute();
    }
    const reminders = await trx
      .updateTable('reminders')
      .set({
        // One being sent now may still go out; it is never retried.
        status: sql`case when status in ('pending', 'sending') then 'cancelled' else status end`,
        cancelled_at: sql`case when status in ('pending', 'sending') then ${now}::timestamptz else cancelled_at end`,
        closed_at: sql`coalesce(closed_at, ${now}::timestamptz)`,
        claimed_until: null,
        email: null,
        email_erased_at: now,
        updated_at: now,
      })
      .where('kind', '=', 'email')
      .where('email', 'in', p.emails)
      .executeTakeFirst();
    const events = await trx
      .updateTable('stripe_events')
      .set({ payload: null })
      .where(eventsNaming(p))
      .executeTakeFirst();
    return {
      supporterIds: p.supporters.map((s) => s.id),
      supportersErased: p.supporters.length,
      recurringCanceled,
      stripeCustomersDeleted,
      remindersErased: Number(reminders.numUpdatedRows),
      eventBodiesDropped: Number(events.numUpdatedRows),
    };
  });
}

const zero = { supportersErased: 0, remindersErased: 0, eventBodiesDropped: 0 };

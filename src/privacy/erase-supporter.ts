import { sql } from 'kysely';
import type Stripe from 'stripe';
import { compile, sql as q } from '../../db/sql-fragment.js';
import { keys } from '../../webhooks/handlers/common.js';
import { subscriptionSnapshotQuery } from '../../webhooks/handlers/customer-subscription.js';
import { subscriptionObject } from '../../webhooks/stripe-objects.js';
import type { Deps } from '../deps.js';
import { lockIds, lockStatement } from '../ledger/lock-keys.js';
import { cancelSubscriptionNow, deleteCustomer } from '../stripe/account-changes.js';
import { eventsNaming, findPerson, ownedBy } from './person.js';

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
      `the supporter has ${count} recurring donation${count === 1 ? '' : 's'} that Stripe may still charge: ` +
        `cancel ${count === 1 ? 'it' : 'them'} at Stripe first`,
    );
    this.name = 'RecurringActive';
  }
}

export interface ErasureOptions {
  cancelRecurring: boolean;
  deleteStripeCustomer: boolean;
}

/** Undefined when nothing is held for this e-mail. Throws RecurringActive, or a Stripe failure. */
export async function eraseSupporter(
  deps: Pick<Deps, 'db' | 'config' | 'clock'>,
  email: string,
  o: ErasureOptions,
  requireStripe: () => Stripe,
): Promise<ErasureResult | undefined> {
  const { db, config } = deps;
  const f = await findPerson(db, email);
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

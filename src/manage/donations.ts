import type { Kysely, Selectable } from 'kysely';
import type { Database, Frequency, GiftStatus, RecurringDonationsTable } from '../../db/schema.js';

export type DonationRow = Selectable<RecurringDonationsTable>;

export interface PaymentMethodView {
  brand: string;
  last4: string;
}

/** A recurring donation as its donor sees it (GET /api/manage/donations, the /manage page). */
export interface RecurringView {
  id: string;
  frequency: Frequency | null;
  amount: number | null;
  currency: string | null;
  status: string;
  cancelAtPeriodEnd: boolean;
  paused: boolean;
  pausedUntil: string | null;
  nextPaymentAt: string | null;
  /** Until when a pending cancel lets it run (the end of the paid period). */
  endsAt: string | null;
  paymentMethod: PaymentMethodView | null;
}

export interface GiftView {
  paidAt: string | null;
  amount: number;
  currency: string;
  frequency: Frequency;
  status: GiftStatus;
  refundedAmount: number;
}

const ENDED = new Set(['canceled', 'incomplete_expired']);
/** Whether Stripe may still charge it, so the donor has something to change. */
export const isLive = (d: Pick<DonationRow, 'status'>) => !ENDED.has(d.status);

const frequencyOf = (interval: DonationRow['interval']): Frequency | null =>
  interval === 'month' ? 'monthly' : interval === 'year' ? 'annual' : null;

function addInterval(d: Date, interval: 'month' | 'year'): Date {
  const next = new Date(d);
  if (interval === 'month') next.setUTCMonth(next.getUTCMonth() + 1);
  else next.setUTCFullYear(next.getUTCFullYear() + 1);
  return next;
}

/**
 * When Stripe will next charge it: the end of the current period, or with a pause the first
 * period end after it lifts; none once ended, cancelling, or paused with no end.
 */
export function nextPaymentAt(d: DonationRow): Date | null {
  if (!isLive(d) || d.status === 'incomplete' || d.cancel_at_period_end || !d.current_period_end) return null;
  if (!d.paused) return d.current_period_end;
  if (!d.paused_until || !d.interval) return null;
  let at = d.current_period_end;
  for (let i = 0; i < 120 && at < d.paused_until; i++) at = addInterval(at, d.interval);
  return at;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function recurringView(d: DonationRow, paymentMethod: PaymentMethodView | null): RecurringView {
  return {
    id: d.id,
    frequency: frequencyOf(d.interval),
    amount: d.amount,
    currency: d.currency,
    status: d.status,
    cancelAtPeriodEnd: d.cancel_at_period_end,
    paused: d.paused,
    pausedUntil: d.paused ? iso(d.paused_until) : null,
    nextPaymentAt: iso(nextPaymentAt(d)),
    endsAt: d.cancel_at_period_end && isLive(d) ? iso(d.current_period_end) : null,
    paymentMethod,
  };
}

/** A supporter's recurring donations, newest first. */
export function donationsOf(db: Kysely<Database>, supporterId: string): Promise<DonationRow[]> {
  return db
    .selectFrom('recurring_donations')
    .selectAll()
    .where('supporter_id', '=', supporterId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
}

/** A donation id as we make them (a UUID); anything else is no donation, without asking the database. */
export const isDonationId = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);

/** One of the supporter's donations; undefined for anyone else's (the route answers 404 either way). */
export function donationOf(db: Kysely<Database>, supporterId: string, id: string): Promise<DonationRow | undefined> {
  return db
    .selectFrom('recurring_donations')
    .selectAll()
    .where('id', '=', id)
    .where('supporter_id', '=', supporterId)
    .executeTakeFirst();
}

/** A supporter's gifts that went through or are under way (not failed attempts), newest first. */
export async function giftsOf(db: Kysely<Database>, supporterId: string): Promise<GiftView[]> {
  const rows = await db
    .selectFrom('gifts')
    .select(['paid_at', 'amount', 'currency', 'frequency', 'status', 'refunded_amount'])
    .where('supporter_id', '=', supporterId)
    .where('payment_state', '!=', 'failed')
    .orderBy('ledger_at', 'desc')
    .orderBy('id')
    .limit(5000)
    .execute();
  return rows.map(giftViewOf);
}

const giftViewOf = (g: {
  paid_at: Date | null;
  amount: number;
  currency: string;
  frequency: Frequency;
  status: GiftStatus;
  refunded_amount: number;
}): GiftView => ({
  paidAt: iso(g.paid_at),
  amount: g.amount,
  currency: g.currency,
  frequency: g.frequency,
  status: g.status,
  refundedAmount: g.refunded_amount,
});

export interface Statement {
  year: number;
  gifts: Array<GiftView & { netAmount: number }>;
  /** Per currency: what was given, refunded, and what counts (given less refunds, nothing for a lost dispute). */
  totals: Array<{ currency: string; amount: number; refundedAmount: number; netAmount: number; count: number }>;
}

/** The year's paid gifts (UTC), oldest first, with totals per currency. */
export async function statementOf(db: Kysely<Database>, supporterId: string, year: number): Promise<Statement> {
  const rows = await db
    .selectFrom('gifts')
    .select(['paid_at', 'amount', 'currency', 'frequency', 'status', 'refunded_amount', 'net_amount'])
    .where('supporter_id', '=', supporterId)
    .where('payment_state', '=', 'succeeded')
    .where('paid_at', '>=', new Date(Date.UTC(year, 0, 1)))
    .where('paid_at', '<', new Date(Date.UTC(year + 1, 0, 1)))
    .orderBy('paid_at')
    .orderBy('id')
    .execute();
  const totals = new Map<string, Statement['totals'][number]>();
  for (const g of rows) {
    const t = totals.get(g.currency) ?? { currency: g.currency, amount: 0, refundedAmount: 0, netAmount: 0, count: 0 };
    t.amount += g.amount;
    t.refundedAmount += g.refunded_amount;
    t.netAmount += g.net_amount;
    t.count++;
    totals.set(g.currency, t);
  }
  return {
    year,
    gifts: rows.map((g) => ({ ...giftViewOf(g), netAmount: g.net_amount })),
    totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)),
  };
}

/** The years the supporter has paid gifts in, newest first (the page links a statement for each). */
export async function statementYears(db: Kysely<Database>, supporterId: string): Promise<number[]> {
  const rows = await db
    .selectFrom('gifts')
    .select((eb) =>
      eb.fn<number>('date_part', [eb.val('year'), eb.fn('timezone', [eb.val('UTC'), 'paid_at'])]).as('year'),
    )
    .distinct()
    .where('supporter_id', '=', supporterId)
    .where('payment_state', '=', 'succeeded')
    .where('paid_at', 'is not', null)
    .execute();
  return rows.map((r) => Number(r.year)).sort((a, b) => b - a);
}

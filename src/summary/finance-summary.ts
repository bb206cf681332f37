import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import { CANCEL_REASONS, type CancelReason } from '../manage/cancel-reasons.js';

export interface SummaryRange {
  from?: Date | undefined;
  to?: Date | undefined;
}

export interface CurrencySummary {
  currency: string;
  /** Net of refunds and lost disputes, paid in the range: the sum of the gifts export's counted rows. */
  received: number;
  payments: number;
  receivedThisMonth: number;
  receivedLastMonth: number;
  receivedYearToDate: number;
  refunded: number;
  refundedPayments: number;
  /** Payments in the range under an open or lost dispute (status disputed or dispute_lost). */
  disputes: number;
  disputesLost: number;
  disputedAmountLost: number;
  activeMonthlyDonors: number;
  activeAnnualDonors: number;
  /** Active monthly amounts plus active annual amounts / 12, rounded half up to the minor unit. */
  monthlyRecurringRevenue: number;
  checkouts: { created: number; completed: number; expired: number; open: number; conversionRate: number | null };
}

export interface FinanceSummary {
  from: string | null;
  to: string | null;
  generatedAt: string;
  currencies: CurrencySummary[];
  reminders: { open: number; created: number; sent: number; converted: number; cancelled: number };
  /** What donors did on /manage in the range (src/manage/actions.ts). */
  donorActions: DonorActionsSummary;
  /** The latest reconciliation against Stripe's event list, whatever the range; null before the first. */
  lastReconcile: LastReconcile | null;
}

export interface LastReconcile {
  startedAt: string;
  finishedAt: string | null;
  trigger: string;
  complete: boolean;
  window: { from: string; to: string };
  seen: number;
  alreadyRecorded: number;
  applied: number;
  failed: number;
}

export interface DonorActionsSummary {
  cancellations: { total: number; byReason: Record<CancelReason, number> };
  resumed: number;
  pauses: number;
  amountChanges: { up: number; down: number };
  /** Paused or lowered from the cancel page's offer, instead of cancelling. */
  savedByOffer: { total: number; paused: number; lowered: number };
}

const LIVE = ['active', 'trialing'];

function within(column: string, from: Date | undefined, to: Date | undefined): RawBuilder<boolean> {
  const c = sql.ref(column);
  const parts = [sql`${c} is not null`];
  if (from) parts.push(sql`${c} >= ${from}`);
  if (to) parts.push(sql`${c} < ${to}`);
  return sql<boolean>`(${sql.join(parts, sql` and `)})`;
}

const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);
const n = (v: unknown) => Number(v ?? 0);

/**
 * Figures per currency for a date range (on paid_at for money, created_at for checkouts and
 * reminders), plus this month, last month and year to date on the given clock (UTC months).
 */
export async function financeSummary(
  db: Kysely<Database>,
  range: SummaryRange,
  now: Date,
  configuredCurrencies: readonly string[],
): Promise<FinanceSummary> {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const thisMonth = new Date(Date.UTC(y, m, 1));
  const nextMonth = new Date(Date.UTC(y, m + 1, 1));
  const lastMonth = new Date(Date.UTC(y, m - 1, 1));
  const yearStart = new Date(Date.UTC(y, 0, 1));
  const inRange = range.from || range.to ? within('paid_at', range.from, range.to) : sql<boolean>`true`;

  const money = await sql<Record<string, unknown>>`
    select currency,
      sum(net_amount) filter (where ${inRange}) as received,
      count(*) filter (where ${inRange} and payment_state = 'succeeded') as payments,
      sum(net_amount) filter (where ${within('paid_at', thisMonth, nextMonth)}) as this_month,
      sum(net_amount) filter (where ${within('paid_at', lastMonth, thisMonth)}) as last_month,
      sum(net_amount) filter (where ${within('paid_at', yearStart, nextMonth)}) as year_to_date,
      sum(refunded_amount) filter (where ${inRange}) as refunded,
      count(*) filter (where ${inRange} and refunded_amount > 0) as refunded_payments,
      count(*) filter (where ${inRange} and dispute_state in ('open', 'lost')) as disputes,
      count(*) filter (where ${inRange} and dispute_state = 'lost') as disputes_lost,
      sum(amount - least(refunded_amount, amount)) filter (where ${inRange} and dispute_state = 'lost') as dispute_lost_amount
    from gifts group by currency`.execute(db);

  const recurring = await sql<Record<string, unknown>>`
    select currency,
      count(*) filter (where interval = 'month') as monthly,
      count(*) filter (where interval = 'year') as annual,
      sum(amount) filter (where interval = 'month') as monthly_sum,
      sum(amount) filter (where interval = 'year') as annual_sum
    from recurring_donations
    where status in (${sql.join(LIVE)}) and currency is not null and amount is not null
    group by currency`.execute(db);

  const checkouts = await sql<Record<string, unknown>>`
    select currency, count(*) as created,
      count(*) filter (where status = 'complete') as completed,
      count(*) filter (where status = 'expired') as expired,
      count(*) filter (where status = 'open') as open
    from checkout_sessions where ${within('created_at', range.from, range.to)}
    group by currency`.execute(db);

  const reminders = await sql<Record<string, unknown>>`
    select count(*) filter (where status = 'pending') as open,
      count(*) filter (where ${within('created_at', range.from, range.to)}) as created,
      count(*) filter (where ${within('sent_at', range.from, range.to)}) as sent,
      count(*) filter (where ${within('converted_at', range.from, range.to)}) as converted,
      count(*) filter (where ${within('cancelled_at', range.from, range.to)}) as cancelled
    from reminders`.execute(db);

  const actions = await sql<Record<string, unknown>>`
    select count(*) filter (where action = 'cancel') as cancellations,
      ${sql.join(
        CANCEL_REASONS.map(
          (r) => sql`count(*) filter (where action = 'cancel' and reason = ${r}) as ${sql.ref(`reason_${r}`)}`,
        ),
      )},
      count(*) filter (where action = 'resume') as resumed,
      count(*) filter (where action = 'pause') as pauses,
      count(*) filter (where action = 'amount' and new_amount > old_amount) as up,
      count(*) filter (where action = 'amount' and new_amount < old_amount) as down,
      count(*) filter (where action = 'pause' and instead_of_cancel) as saved_paused,
      count(*) filter (where action = 'amount' and instead_of_cancel) as saved_lowered
    from donor_actions where ${within('created_at', range.from, range.to)}`.execute(db);

  const lastRun = await db
    .selectFrom('reconcile_runs')
    .selectAll()
    .where('dry_run', '=', false)
    .orderBy('started_at', 'desc')
    .limit(1)
    .executeTakeFirst();

  const byCurrency = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [String(r.currency), r]));
  const moneyRows = byCurrency(money.rows);
  const recurringRows = byCurrency(recurring.rows);
  const checkoutRows = byCurrency(checkouts.rows);
  const currencies = [
    ...new Set([...configuredCurrencies, ...moneyRows.keys(), ...recurringRows.keys(), ...checkoutRows.keys()]),
  ].sort();

  const r = reminders.rows[0] ?? {};
  return {
    from: range.from?.toISOString() ?? null,
    to: range.to?.toISOString() ?? null,
    generatedAt: now.toISOString(),
    currencies: currencies.map((currency) => {
      const g = moneyRows.get(currency) ?? {};
      const rec = recurringRows.get(currency) ?? {};
      const co = checkoutRows.get(currency) ?? {};
      return {
        currency,
        received: n(g.received),
        payments: n(g.payments),
        receivedThisMonth: n(g.this_month),
        receivedLastMonth: n(g.last_month),
        receivedYearToDate: n(g.year_to_date),
        refunded: n(g.refunded),
        refundedPayments: n(g.refunded_payments),
        disputes: n(g.disputes),
        disputesLost: n(g.disputes_lost),
        disputedAmountLost: n(g.dispute_lost_amount),
        activeMonthlyDonors: n(rec.monthly),
        activeAnnualDonors: n(rec.annual),
        monthlyRecurringRevenue: Math.floor((12 * n(rec.monthly_sum) + n(rec.annual_sum) + 6) / 12),
        checkouts: {
          created: n(co.created),
          completed: n(co.completed),
          expired: n(co.expired),
          open: n(co.open),
          conversionRate: ratio(n(co.completed), n(co.created)),
        },
      };
    }),
    reminders: {
      open: n(r.open),
      created: n(r.created),
      sent: n(r.sent),
      converted: n(r.converted),
      cancelled: n(r.cancelled),
    },
    donorActions: donorActionsOf(actions.rows[0] ?? {}),
    lastReconcile: lastRun
      ? {
          startedAt: lastRun.started_at.toISOString(),
          finishedAt: lastRun.finished_at?.toISOString() ?? null,
          trigger: lastRun.trigger,
          complete: lastRun.complete,
          window: { from: lastRun.window_from.toISOString(), to: lastRun.window_to.toISOString() },
          seen: lastRun.seen,
          alreadyRecorded: lastRun.already_recorded,
          applied: lastRun.applied,
          failed: lastRun.failed,
        }
      : null,
  };
}

function donorActionsOf(a: Record<string, unknown>): DonorActionsSummary {
  return {
    cancellations: {
      total: n(a.cancellations),
      byReason: Object.fromEntries(CANCEL_REASONS.map((r) => [r, n(a[`reason_${r}`])])) as Record<CancelReason, number>,
    },
    resumed: n(a.resumed),
    pauses: n(a.pauses),
    amountChanges: { up: n(a.up), down: n(a.down) },
    savedByOffer: {
      total: n(a.saved_paused) + n(a.saved_lowered),
      paused: n(a.saved_paused),
      lowered: n(a.saved_lowered),
    },
  };
}

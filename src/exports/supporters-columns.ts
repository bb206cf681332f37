import type { ExportFilters } from './filters.js';

export const RECURRING_STATUSES = [
  'active',
  'trialing',
  'past_due',
  'unpaid',
  'paused',
  'incomplete',
  'incomplete_expired',
  'canceled',
  'none',
] as const;

export const SUPPORTER_COLUMNS = [
  'supporter_id',
  'email',
  'name',
  'currency',
  'gifts_count',
  'lifetime_amount',
  'first_gift_at',
  'last_gift_at',
  'recurring_status',
  'recurring_frequency',
  'recurring_amount',
  'stripe_customer_id',
  'created_at',
] as const;

/** Text people typed: always quoted, in this path and in COPY's (force_quote). */
export const SUPPORTER_TYPED_COLUMNS = ['email', 'name'] as const;

interface SupporterRow {
  id: string;
  email: string;
  name: string | null;
  stripe_customer_ids: string[];
  created_at: Date;
  currency: string;
  gifts_count: number;
  lifetime: number;
  first_at: Date | null;
  last_at: Date | null;
  frequencies: string[];
  recurring_status: string | null;
  recurring_interval: string | null;
  recurring_amount: number | null;
}

const _FREQUENCY_OF_INTERVAL: Record<string, string> = { month: 'monthly', year: 'annual' };

/** The row's filters: from/to on the last gift, frequency given at, recurring status, currency. */
function _keep(r: SupporterRow, f: ExportFilters): boolean {
  if (f.from && (!r.last_at || r.last_at < f.from)) return false;
  if (f.to && (!r.last_at || r.last_at >= f.to)) return false;
  if (f.currency && !f.currency.includes(r.currency)) return false;
  if (f.status && !f.status.includes(r.recurring_status ?? 'none')) return false;
  if (f.frequency && !r.frequencies.some((x) => (f.frequency as string[]).includes(x))) return false;
  return true;
}

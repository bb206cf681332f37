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
  'cancel_reason',
  'paused_until',
  'stripe_customer_id',
  'created_at',
] as const;

/** Text people typed: always quoted, in this path and in COPY's (force_quote). */
export const SUPPORTER_TYPED_COLUMNS = ['email', 'name'] as const;

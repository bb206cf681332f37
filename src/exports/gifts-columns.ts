import type { GiftStatus } from '../../db/schema.js';

export const GIFT_STATUSES: readonly GiftStatus[] = [
  'pending',
  'succeeded',
  'failed',
  'refunded',
  'partially_refunded',
  'disputed',
  'dispute_lost',
];

export const GIFT_COLUMNS = [
  'gift_id',
  'supporter_id',
  'email',
  'frequency',
  'amount',
  'currency',
  'status',
  'refunded_amount',
  'paid_at',
  'campaign',
  'stripe_checkout_session_id',
  'stripe_payment_intent_id',
  'stripe_invoice_id',
] as const;

/** Text people typed: always quoted, in this path and in COPY's (force_quote). */
export const GIFT_TYPED_COLUMNS = ['email', 'campaign'] as const;

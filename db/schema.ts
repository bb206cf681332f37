import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

export type Frequency = 'once' | 'monthly' | 'annual';
export type CheckoutStatus = 'open' | 'complete' | 'expired';

export interface CheckoutSessionsTable {
  id: string;
  stripe_session_id: string;
  frequency: Frequency;
  amount: number;
  currency: string;
  campaign: string | null;
  status: ColumnType<CheckoutStatus, CheckoutStatus | undefined, CheckoutStatus>;
  livemode: boolean;
  created_at: Date;
  expires_at: Date;
  updated_at: Date;
}

export interface IdempotencyKeysTable {
  scope: string;
  key_hash: string;
  request_hash: string;
  resource_id: string;
  response_status: number | null;
  /** JSON written as a string, read back parsed. */
  response_body: ColumnType<unknown, string | null, string | null>;
  locked_until: Date;
  created_at: Date;
}

export interface Database {
  checkout_sessions: CheckoutSessionsTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type CheckoutSession = Selectable<CheckoutSessionsTable>;
export type NewCheckoutSession = Insertable<CheckoutSessionsTable>;
export type CheckoutSessionUpdate = Updateable<CheckoutSessionsTable>;
export type IdempotencyKey = Selectable<IdempotencyKeysTable>;

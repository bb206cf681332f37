import type { ColumnType, GeneratedAlways, Insertable, Selectable } from 'kysely';

export type Frequency = 'once' | 'monthly' | 'annual';
export type CheckoutStatus = 'open' | 'complete' | 'expired';
export type PaymentState = 'pending' | 'succeeded' | 'failed';
export type DisputeState = 'none' | 'open' | 'won' | 'lost';
export type GiftStatus =
  | 'pending'
  | 'succeeded'
  | 'failed'
  | 'refunded'
  | 'partially_refunded'
  | 'disputed'
  | 'dispute_lost';
export type EventOutcome = 'pending' | 'processed' | 'ignored' | 'failed';

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
  completed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  expired_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The donation box's random reader id, to close that reader's deferral when they give. */
  reader_id: ColumnType<string | null, string | null | undefined, string | null>;
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

export interface StripeEventsTable {
  id: string;
  type: string;
  api_version: string | null;
  created: Date;
  livemode: boolean;
  /**
   * The body exactly as received, kept only while the event is not processed (failed, for replay),
   * and at most EVENT_PAYLOAD_RETENTION_DAYS; null once processed or ignored.
   */
  payload: string | null;
  /** The ids of the Stripe objects the event names (its object and what that references). */
  object_ids: ColumnType<string[], string[] | undefined, string[]>;
  received_at: Date;
  processed_at: Date | null;
  outcome: EventOutcome;
  error: string | null;
  attempts: ColumnType<number, number | undefined, number>;
}

export interface SupportersTable {
  id: string;
  /** Null once erased (the row stays, so the ledger and its totals stay exact). */
  email: string | null;
  name: string | null;
  name_version: string | null;
  stripe_customer_ids: ColumnType<string[], string[] | undefined, string[]>;
  created_at: Date;
  updated_at: Date;
  erased_at: Nullable<Date>;
  /** A keyed hash of the erased e-mail, for ERASURE_GUARD_DAYS (src/privacy/erase-supporter.ts). */
  erased_email_hash: Nullable<string>;
}

/** Which supporter a Stripe customer belongs to (one customer can have two: the donor changed e-mail). */
export interface SupporterCustomersTable {
  stripe_customer_id: string;
  supporter_id: string;
}

export interface RecurringDonationsTable {
  id: string;
  supporter_id: string | null;
  supporter_version: ColumnType<string | null, string | null | undefined, string | null>;
  stripe_customer_id: string | null;
  stripe_subscription_id: string;
  checkout_session_id: string | null;
  amount: number | null;
  currency: string | null;
  interval: 'month' | 'year' | null;
  /** Stripe's subscription status: incomplete, active, past_due, canceled, ... */
  status: string;
  /** Version strings: see migration 2026_11_28_2230; the newest event wins. */
  status_version: string | null;
  snapshot_version: string | null;
  invoice_version: string | null;
  started_at: Date | null;
  canceled_at: Date | null;
  cancel_at_period_end: ColumnType<boolean, boolean | undefined, boolean>;
  current_period_end: Date | null;
  last_payment_at: Date | null;
  failed_payment_attempts: ColumnType<number, number | undefined, number>;
  campaign: string | null;
  created_at: Date;
  updated_at: Date;
  /** Stripe's pause_collection: set while collection is paused, until `paused_until` (null: until resumed). */
  paused: ColumnType<boolean, boolean | undefined, boolean>;
  paused_until: Nullable<Date>;
  /** The code a donor chose when cancelling (src/manage/actions.ts), while the cancel stands. */
  cancel_reason: Nullable<string>;
}

export interface GiftsTable {
  id: string;
  supporter_id: string | null;
  stripe_customer_id: string | null;
  frequency: Frequency;
  amount: number;
  currency: string;
  payment_state: PaymentState;
  refunded_amount: ColumnType<number, number | undefined, number>;
  dispute_state: ColumnType<DisputeState, DisputeState | undefined, DisputeState>;
  /** Derived in the database from payment_state, refunded_amount and dispute_state. */
  status: GeneratedAlways<GiftStatus>;
  /** The money this payment counts for in totals: 0 unless succeeded, minus refunds, 0 once a dispute is lost. */
  net_amount: GeneratedAlways<number>;
  stripe_checkout_session_id: string | null;
  stripe_payment_intent_id: string | null;
  stripe_invoice_id: string | null;
  stripe_charge_id: string | null;
  stripe_subscription_id: string | null;
  campaign: string | null;
  paid_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** coalesce(paid_at, created_at): the export order. */
  ledger_at: GeneratedAlways<Date>;
}

export interface PaymentAdjustmentsTable {
  stripe_payment_intent_id: string;
  stripe_charge_id: string | null;
  stripe_invoice_id: string | null;
  amount_refunded: ColumnType<number, number | undefined, number>;
  dispute_state: ColumnType<DisputeState, DisputeState | undefined, DisputeState>;
  updated_at: Date;
}

export type ReminderStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'cancelled' | 'converted';

type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface RemindersTable {
  id: string;
  kind: 'email' | 'deferral';
  email: Nullable<string>;
  reader_id: Nullable<string>;
  remind_at: Date;
  frequency: Nullable<Frequency>;
  amount: Nullable<number>;
  currency: Nullable<string>;
  campaign: Nullable<string>;
  consent_version: Nullable<string>;
  consented_at: Nullable<Date>;
  status: ReminderStatus;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Nullable<Date>;
  claimed_until: Nullable<Date>;
  last_error: Nullable<string>;
  cancel_token_hash: Nullable<string>;
  sent_at: Nullable<Date>;
  cancelled_at: Nullable<Date>;
  converted_at: Nullable<Date>;
  closed_at: Nullable<Date>;
  email_erased_at: Nullable<Date>;
  created_at: Date;
  updated_at: Date;
}

export interface RateLimitCountersTable {
  /** The limit's name and a keyed hash of what it counts (an IP address, an e-mail), never the value. */
  bucket: string;
  window_start: Date;
  /** The end of the window: the row is deleted then. */
  expires_at: ColumnType<Date, Date | undefined, Date>;
  count: number;
}

/** Keys generated once and shared by every instance (the keyed hash of rate limits, unless RATE_LIMIT_SECRET is set). */
export interface ServerSecretsTable {
  name: string;
  secret: string;
  created_at: Date;
}

export type StaffRole = 'finance' | 'admin';

export interface StaffTokensTable {
  id: string;
  name: string;
  role: StaffRole;
  token_hash: string;
  token_hint: string;
  created_at: Date;
  last_used_at: Nullable<Date>;
  revoked_at: Nullable<Date>;
}

export interface AuditLogTable {
  id: string;
  token_id: string | null;
  token_name: string;
  endpoint: string;
  filters: ColumnType<Record<string, unknown>, string, string>;
  row_count: Nullable<number>;
  completed: ColumnType<boolean, boolean | undefined, boolean>;
  /** The staff member's address; cleared after AUDIT_IP_RETENTION_DAYS. */
  client_ip: string | null;
  created_at: Date;
}

export type ManageLinkPurpose = 'request' | 'payment_failed' | 'statement';
export type ManageLinkStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'skipped';

/** The outbox of links e-mailed to donors (migration 2026_12_06_0100): no address, only the supporter. */
export interface ManageLinksTable {
  id: string;
  supporter_id: string;
  purpose: ManageLinkPurpose;
  stripe_invoice_id: Nullable<string>;
  statement_year: Nullable<number>;
  status: ManageLinkStatus;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Nullable<Date>;
  claimed_until: Nullable<Date>;
  last_error: Nullable<string>;
  /** SHA-256 of the token in the e-mail; cleared once expired. */
  token_hash: Nullable<string>;
  expires_at: Nullable<Date>;
  sent_at: Nullable<Date>;
  created_at: Date;
  updated_at: Date;
}

export type DonorAction = 'cancel' | 'resume' | 'pause' | 'amount';

export interface DonorActionsTable {
  id: string;
  recurring_donation_id: string;
  action: DonorAction;
  reason: Nullable<string>;
  pause_months: Nullable<number>;
  old_amount: Nullable<number>;
  new_amount: Nullable<number>;
  currency: Nullable<string>;
  instead_of_cancel: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Date;
}

/** A reconciliation against Stripe's event list (src/stripe/reconcile.ts). */
export interface ReconcileRunsTable {
  id: string;
  trigger: 'cli' | 'schedule';
  dry_run: boolean;
  window_from: Date;
  window_to: Date;
  started_at: Date;
  finished_at: Nullable<Date>;
  complete: ColumnType<boolean, boolean | undefined, boolean>;
  seen: ColumnType<number, number | undefined, number>;
  already_recorded: ColumnType<number, number | undefined, number>;
  applied: ColumnType<number, number | undefined, number>;
  failed: ColumnType<number, number | undefined, number>;
  error: Nullable<string>;
}

/** Progress of `stripe import` (src/stripe/import.ts). */
export interface ImportRunsTable {
  id: string;
  /** What the run imports: since and match, as text; a run with the same scope resumes it. */
  scope: string;
  stage: 'subscriptions' | 'sessions' | 'done';
  /** The last object of the stage's list done (lists run newest first). */
  cursor: Nullable<string>;
  seen: ColumnType<number, number | undefined, number>;
  adopted: ColumnType<number, number | undefined, number>;
  started_at: Date;
  updated_at: Date;
  finished_at: Nullable<Date>;
}

export interface Database {
  checkout_sessions: CheckoutSessionsTable;
  idempotency_keys: IdempotencyKeysTable;
  stripe_events: StripeEventsTable;
  supporters: SupportersTable;
  supporter_customers: SupporterCustomersTable;
  recurring_donations: RecurringDonationsTable;
  gifts: GiftsTable;
  payment_adjustments: PaymentAdjustmentsTable;
  reminders: RemindersTable;
  rate_limit_counters: RateLimitCountersTable;
  server_secrets: ServerSecretsTable;
  staff_tokens: StaffTokensTable;
  audit_log: AuditLogTable;
  manage_links: ManageLinksTable;
  donor_actions: DonorActionsTable;
  reconcile_runs: ReconcileRunsTable;
  import_runs: ImportRunsTable;
}

export type NewCheckoutSession = Insertable<CheckoutSessionsTable>;
export type Reminder = Selectable<RemindersTable>;
export type StaffToken = Selectable<StaffTokensTable>;

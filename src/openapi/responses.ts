import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';
import { CANCEL_REASONS } from '../manage/cancel-reasons.js';

// What the JSON routes answer, as zod schemas: the OpenAPI document's response schemas
// (src/openapi/document.ts), checked against real answers by test/openapi.test.ts.

const iso = z.string().describe('ISO 8601 instant, UTC');
const minor = z.number().int().describe("integer in the currency's minor unit");
const count = z.number().int();
const frequency = z.enum(['once', 'monthly', 'annual']);
const codes = Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]];

export const errorBody = z.object({
  error: z.object({ code: z.enum(codes), message: z.string(), field: z.string().optional(), requestId: z.string() }),
});

const perFrequency = <T extends z.ZodType>(t: T) => z.object({ once: t, monthly: t, annual: t });
export const donationOptions = z.object({
  frequencies: z.array(frequency),
  currencies: z.array(
    z.object({
      currency: z.string(),
      minimum: minor,
      maximum: minor,
      defaultAmount: perFrequency(minor),
      presets: perFrequency(z.array(minor)),
    }),
  ),
});

export const checkoutSession = z.object({
  id: z.string(),
  url: z.string(),
  frequency,
  amount: minor,
  currency: z.string(),
});
export const reminderCreated = z.object({ id: z.string(), remindAt: iso });
export const deferral = z.object({ deferredUntil: iso.nullable() });
export const reminderCancelled = z.object({ cancelled: z.literal(true) });
export const webhookReceived = z.object({
  received: z.literal(true),
  outcome: z.enum(['processed', 'duplicate', 'ignored']),
});

export const linkRequested = z.object({ sent: z.literal(true) });
export const recurringView = z.object({
  id: z.string(),
  frequency: frequency.nullable(),
  amount: minor.nullable(),
  currency: z.string().nullable(),
  status: z.string(),
  cancelAtPeriodEnd: z.boolean(),
  paused: z.boolean(),
  pausedUntil: iso.nullable(),
  nextPaymentAt: iso.nullable(),
  endsAt: iso.nullable(),
  paymentMethod: z.object({ brand: z.string(), last4: z.string() }).nullable(),
});
const giftView = z.object({
  paidAt: iso.nullable(),
  amount: minor,
  currency: z.string(),
  frequency,
  status: z.string(),
  refundedAmount: minor,
});
export const donorDonations = z.object({ recurring: z.array(recurringView), gifts: z.array(giftView) });
export const portalSession = z.object({ url: z.string() });
export const statement = z.object({
  newsroom: z.string(),
  footer: z.string().nullable(),
  year: count,
  gifts: z.array(giftView.extend({ netAmount: minor })),
  totals: z.array(z.object({ currency: z.string(), amount: minor, refundedAmount: minor, netAmount: minor, count })),
});

export const summary = z.object({
  from: iso.nullable(),
  to: iso.nullable(),
  generatedAt: iso,
  currencies: z.array(
    z.object({
      currency: z.string(),
      received: minor,
      payments: count,
      receivedThisMonth: minor,
      receivedLastMonth: minor,
      receivedYearToDate: minor,
      refunded: minor,
      refundedPayments: count,
      disputes: count,
      disputesLost: count,
      disputedAmountLost: minor,
      activeMonthlyDonors: count,
      activeAnnualDonors: count,
      monthlyRecurringRevenue: minor,
      checkouts: z.object({
        created: count,
        completed: count,
        expired: count,
        open: count,
        conversionRate: z.number().nullable(),
      }),
    }),
  ),
  reminders: z.object({ open: count, created: count, sent: count, converted: count, cancelled: count }),
  donorActions: z.object({
    cancellations: z.object({
      total: count,
      byReason: z.object(Object.fromEntries(CANCEL_REASONS.map((r) => [r, count]))),
    }),
    resumed: count,
    pauses: count,
    amountChanges: z.object({ up: count, down: count }),
    savedByOffer: z.object({ total: count, paused: count, lowered: count }),
  }),
  lastReconcile: z
    .object({
      startedAt: iso,
      finishedAt: iso.nullable(),
      trigger: z.string(),
      complete: z.boolean(),
      window: z.object({ from: iso, to: iso }),
      seen: count,
      alreadyRecorded: count,
      applied: count,
      failed: count,
    })
    .nullable(),
});

export const auditEntries = z.object({
  entries: z.array(
    z.object({
      id: z.string(),
      tokenName: z.string(),
      endpoint: z.string(),
      filters: z.record(z.string(), z.unknown()),
      rowCount: count.nullable(),
      completed: z.boolean(),
      clientIp: z.string().nullable(),
      at: iso,
    }),
  ),
});

const staffToken = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(['finance', 'admin']),
  hint: z.string(),
  createdAt: iso,
  lastUsedAt: iso.nullable(),
  revokedAt: iso.nullable(),
});
export const staffTokens = z.object({ tokens: z.array(staffToken) });
export const staffTokenCreated = staffToken.extend({ token: z.string().describe('shown once') });
export const staffTokenRevoked = staffToken;

export const supporterRecord = z.object({
  supporters: z.array(
    z.object({
      id: z.string(),
      email: z.string().nullable(),
      name: z.string().nullable(),
      createdAt: iso,
      updatedAt: iso,
    }),
  ),
  stripeCustomers: z.array(z.string()),
  gifts: z.array(z.record(z.string(), z.unknown())),
  recurringDonations: z.array(z.record(z.string(), z.unknown())),
  reminders: z.array(z.record(z.string(), z.unknown())),
  pendingEvents: z.array(z.object({ id: z.string(), type: z.string(), receivedAt: iso })),
});
export const erasureResult = z.object({
  supporterIds: z.array(z.string()),
  supportersErased: count,
  recurringCanceled: count,
  stripeCustomersDeleted: count,
  remindersErased: count,
  eventBodiesDropped: count,
});

import { z } from 'zod';

// The fields of each Stripe object (API 2026-10-28.endive) that the handlers read, and nothing else:
// payloads are untrusted until they parse, and anything else in them is ignored.

/** An expandable reference: `"cus_123"` in events, `{ id: "cus_123", ... }` when expanded. */
const ref = z
  .union([z.string(), z.object({ id: z.string() })])
  .nullable()
  .optional()
  .transform((v) => (v == null ? null : typeof v === 'string' ? v : v.id));

const metadata = z
  .record(z.string(), z.string())
  .nullable()
  .optional()
  .transform((m) => m ?? {});

const unix = z.number().int();
const nullableText = z
  .string()
  .nullable()
  .optional()
  .transform((v) => v ?? null);

export const checkoutSessionObject = z.object({
  id: z.string().startsWith('cs_'),
  mode: z.enum(['payment', 'subscription', 'setup']),
  status: z.enum(['open', 'complete', 'expired']).nullable().optional(),
  payment_status: z.enum(['paid', 'unpaid', 'no_payment_required']),
  amount_total: z.number().int().nullable().optional(),
  currency: nullableText,
  customer: ref,
  customer_email: nullableText,
  customer_details: z
    .object({ email: nullableText, name: nullableText })

    .nullable()
    .optional()
    .transform((d) => d ?? { email: null, name: null }),
  payment_intent: ref,
  subscription: ref,
  metadata,
  client_reference_id: nullableText,
  created: unix,
});
export type CheckoutSessionObject = z.infer<typeof checkoutSessionObject>;

export const invoiceObject = z.object({
  id: z.string().startsWith('in_'),
  customer: ref,
  customer_email: nullableText,
  customer_name: nullableText,
  currency: z.string(),
  amount_paid: z.number().int(),
  attempt_count: z
    .number()
    .int()
    .nullable()
    .optional()
    .transform((v) => v ?? 0),
  billing_reason: nullableText,
  status_transitions: z.object({ paid_at: unix.nullable().optional() }).nullable().optional(),
  parent: z
    .object({
      subscription_details: z.object({ subscription: ref, metadata }).nullable().optional(),
    })

    .nullable()
    .optional(),
  lines: z
    .object({
      data: z.array(
        z.object({ amount: z.number().int().optional(), period: z.object({ start: unix, end: unix }).optional() }),
      ),
    })

    .optional(),
  created: unix,
});
export type InvoiceObject = z.infer<typeof invoiceObject>;

export const subscriptionObject = z.object({
  id: z.string().startsWith('sub_'),
  status: z.string(),
  customer: ref,
  metadata,
  cancel_at_period_end: z.boolean().optional().default(false),
  canceled_at: unix.nullable().optional(),
  ended_at: unix.nullable().optional(),
  start_date: unix.nullable().optional(),
  /** Set while collection is paused (cleared by sending it empty). */
  pause_collection: z.object({ resumes_at: unix.nullable().optional() }).nullable().optional(),
  cancellation_details: z
    .object({ comment: z.string().nullable().optional(), feedback: z.string().nullable().optional() })
    .nullable()
    .optional(),
  items: z.object({
    data: z
      .array(
        z.object({
          current_period_end: unix.nullable().optional(),
          price: z.object({
            unit_amount: z.number().int().nullable().optional(),
            currency: z.string(),
            recurring: z.object({ interval: z.string() }).nullable().optional(),
          }),
        }),
      )
      .min(1),
  }),
});
export type SubscriptionObject = z.infer<typeof subscriptionObject>;

export const chargeObject = z.object({
  id: z.string().startsWith('ch_').or(z.string().startsWith('py_')),
  amount: z.number().int(),
  amount_refunded: z.number().int(),
  currency: z.string(),
  customer: ref,
  payment_intent: ref,
});
export type ChargeObject = z.infer<typeof chargeObject>;

export const disputeObject = z.object({
  id: z.string().startsWith('dp_').or(z.string().startsWith('du_')),
  charge: ref,
  payment_intent: ref,
  amount: z.number().int(),
  currency: z.string(),
  status: z.string(),
});
export type DisputeObject = z.infer<typeof disputeObject>;

/**
 * Parses a webhook body. NUL characters are dropped from every string: PostgreSQL text cannot hold
 * them, and a reader typing one into a name field must not make the event impossible to record.
 */
export function parseEventJson(raw: string): unknown {
  // JSON can only carry a NUL escaped; the reviver is slow, so it runs only for a body that has one.
  if (!/\\u0000/i.test(raw)) return JSON.parse(raw);
  return JSON.parse(raw, (_key, value) => (typeof value === 'string' ? value.replaceAll('\u0000', '') : value));
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The event envelope; data.object is parsed by the handler for its type. */
export const eventEnvelope = z.object({
  id: z.string().startsWith('evt_'),
  type: z.string().min(1),
  created: unix,
  livemode: z.boolean(),
  api_version: z.string().nullable().optional(),
  // Only checked to be an object: its handler's schema reads it, and copying every field here cost more than the rest of the parse.
  data: z.object({ object: z.custom<Record<string, unknown>>(isObject, 'data.object must be an object') }),
});
export type EventEnvelope = z.infer<typeof eventEnvelope>;

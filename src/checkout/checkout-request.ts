import { z } from 'zod';
import type { Frequency } from '../../db/schema.js';
import { formatMinorUnits } from '../currencies.js';
import { type DonationOptions, FREQUENCIES, findCurrency } from '../donation-options.js';
import { invalid } from '../errors.js';
import type { KeyedHash } from '../privacy/keyed-hash.js';

export interface CheckoutRequest {
  frequency: Frequency;
  amount: number;
  currency: string;
  email?: string | undefined;
  campaign?: string | undefined;
  successUrl?: string | undefined;
  cancelUrl?: string | undefined;
  /** The donation box's reader id: closes that reader's deferral when the checkout completes. */
  readerId?: string | undefined;
}

export const optionalText = (max: number, name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .trim()
    .max(max, { error: `${name} must be at most ${max} characters` })
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), { error: `${name} must not contain control characters` })
    .optional()
    .transform((s) => (s === '' ? undefined : s));

/** The gift a reader chose: shared by checkout, reminders and the donation page form. */
export const giftChoiceShape = {
  frequency: z.enum(FREQUENCIES, { error: `frequency must be one of ${FREQUENCIES.join(', ')}` }),
  amount: z
    .number({ error: "amount must be a whole number in the currency's minor unit (500 = 5.00 USD)" })
    .int({ error: "amount must be a whole number in the currency's minor unit (500 = 5.00 USD)" }),
  currency: z
    .string({ error: 'currency must be a three-letter ISO 4217 code such as USD' })
    .trim()
    .toLowerCase()
    .regex(/^[a-z]{3}$/, { error: 'currency must be a three-letter ISO 4217 code such as USD' }),
};

export const emailField = z
  .string({ error: 'email must be a string' })
  .trim()
  .max(254, { error: 'email must be at most 254 characters' })
  .pipe(z.email({ error: 'email is not a valid e-mail address' }))
  .transform((e) => e.toLowerCase())
  .optional();

export const campaignField = optionalText(100, 'campaign');

/** A random id the donation box keeps in the browser: no personal data. */
export const readerIdField = z
  .string({ error: 'readerId must be a string' })
  .regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'readerId must be 16 to 128 letters, digits, - or _' });

export const checkoutBody = z.object({
  ...giftChoiceShape,
  email: emailField,
  campaign: campaignField,
  successUrl: optionalText(2048, 'successUrl'),
  cancelUrl: optionalText(2048, 'cancelUrl'),
  readerId: readerIdField.optional(),
});

/** Range-checks an amount against the configured currency; throws a 400 naming the field. */
export function checkGiftAmount(options: DonationOptions, currency: string, amount: number): void {
  const c = findCurrency(options, currency);
  if (!c) {
    const known = options.currencies.map((x) => x.currency.toUpperCase()).join(', ');
    throw invalid('currency', `currency must be one of ${known}`);
  }
  const code = currency.toUpperCase();
  if (amount < c.minimum) {
    throw invalid('amount', `amount must be at least ${formatMinorUnits(c.minimum, currency)} ${code}`);
  }
  if (amount > c.maximum) {
    throw invalid('amount', `amount must be at most ${formatMinorUnits(c.maximum, currency)} ${code}`);
  }
}

/** The URL as the browser will read it (`url.href`), so Stripe redirects to what was checked. */
function checkReturnUrl(
  field: string,
  value: string | undefined,
  allowedOrigins: readonly string[],
): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(field, `${field} must be an absolute http(s) URL`);
  }
  if (!/^https?:$/.test(url.protocol)) throw invalid(field, `${field} must be an absolute http(s) URL`);
  if (!allowedOrigins.includes(url.origin)) {
    throw invalid(field, `${field} must be on an allowed return origin (ALLOWED_RETURN_ORIGINS)`);
  }
  // Stripe fills in its placeholder only as written; a path would have it percent-encoded.
  return url.href.replaceAll('%7BCHECKOUT_SESSION_ID%7D', '{CHECKOUT_SESSION_ID}');
}

/** Turns a zod failure into the one 400 shape, naming the first failing field. */
export function zodFailure(error: z.ZodError, body: Record<string, unknown>): Error {
  const issue = error.issues[0];
  const field = issue?.path.length ? String(issue.path[0]) : undefined;
  const missing = field !== undefined && issue?.path.length === 1 && body[field] === undefined;
  return invalid(field, missing ? `${field} is required` : (issue?.message ?? 'invalid request'));
}

export function parseCheckoutRequest(
  body: Record<string, unknown>,
  options: DonationOptions,
  allowedReturnOrigins: readonly string[],
): CheckoutRequest {
  const parsed = checkoutBody.safeParse(body);
  if (!parsed.success) throw zodFailure(parsed.error, body);
  const r = parsed.data;
  checkGiftAmount(options, r.currency, r.amount);
  return {
    ...r,
    successUrl: checkReturnUrl('successUrl', r.successUrl, allowedReturnOrigins),
    cancelUrl: checkReturnUrl('cancelUrl', r.cancelUrl, allowedReturnOrigins),
  };
}

/**
 * Stable across key order and case differences the parser normalises away. Keyed, because the
 * request holds the reader's e-mail: an idempotency record must not let anyone confirm a guess.
 */
export function requestFingerprint(request: object, keyed: KeyedHash): Promise<string> {
  const entries = Object.entries(request)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return keyed.digest('idempotency', JSON.stringify(entries));
}

import { z } from 'zod';
import type { Frequency } from '../../db/schema.js';
import {
  campaignField,
  checkGiftAmount,
  emailField,
  giftChoiceShape,
  optionalText,
  readerIdField,
  zodFailure,
} from '../checkout/checkout-request.js';
import type { Config } from '../config.js';
import { findCurrency } from '../donation-options.js';
import { invalid } from '../errors.js';

export { readerIdField };

export const reminderBody = z.object({
  email: emailField,
  readerId: readerIdField.optional(),
  remindAt: z.string({ error: 'remindAt must be an ISO date such as 2027-01-15' }).max(40).optional(),
  frequency: giftChoiceShape.frequency.optional(),
  amount: giftChoiceShape.amount.optional(),
  currency: giftChoiceShape.currency.optional(),
  campaign: campaignField,
  consent: z.boolean({ error: 'consent must be true or false' }).optional(),
  consentVersion: optionalText(50, 'consentVersion'),
});

export interface ReminderRequest {
  email: string | undefined;
  readerId: string | undefined;
  remindAt: Date;
  frequency: Frequency | undefined;
  amount: number | undefined;
  currency: string | undefined;
  campaign: string | undefined;
  consentVersion: string | undefined;
}

const DAY = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A day ("2027-01-15", sent at 09:00 UTC) or an instant; from tomorrow (UTC) to one year ahead.
 */
function parseRemindAt(value: string | undefined, now: Date, defaultDays: number): Date {
  if (value === undefined) return new Date(now.getTime() + defaultDays * DAY);
  const at = DATE_ONLY.test(value)
    ? new Date(`${value}T09:00:00Z`)
    : DATE_TIME.test(value)
      ? new Date(value)
      : undefined;
  // Date would roll 2027-02-30 over to March: the calendar day must survive the round trip.
  if (!at || Number.isNaN(at.getTime()) || (DATE_ONLY.test(value) && at.toISOString().slice(0, 10) !== value)) {
    throw invalid('remindAt', 'remindAt must be an ISO date such as 2027-01-15');
  }
  const startOfTomorrow = Math.floor(now.getTime() / DAY) * DAY + DAY;
  if (at.getTime() < startOfTomorrow || at.getTime() > now.getTime() + 366 * DAY) {
    throw invalid('remindAt', 'remindAt must be from tomorrow to one year ahead');
  }
  return at;
}

export function parseReminderRequest(
  raw: Record<string, unknown>,
  config: Pick<Config, 'donationOptions' | 'REMINDER_DEFAULT_DAYS'>,
  now: Date,
): ReminderRequest {
  const parsed = reminderBody.safeParse(raw);
  if (!parsed.success) throw zodFailure(parsed.error, raw);
  const r = parsed.data;
  if (!r.email && !r.readerId) throw invalid('email', 'email or readerId is required');
  if (r.email && r.consent !== true) {
    throw invalid('consent', 'consent must be true to receive a reminder e-mail');
  }
  if (r.amount !== undefined && r.currency === undefined) throw invalid('currency', 'currency is required with amount');
  if (r.currency !== undefined) {
    if (r.amount !== undefined) checkGiftAmount(config.donationOptions, r.currency, r.amount);
    else if (!findCurrency(config.donationOptions, r.currency)) checkGiftAmount(config.donationOptions, r.currency, 0);
  }
  return {
    email: r.email,
    readerId: r.readerId,
    remindAt: parseRemindAt(r.remindAt, now, config.REMINDER_DEFAULT_DAYS),
    frequency: r.frequency,
    amount: r.amount,
    currency: r.currency,
    campaign: r.campaign,
    consentVersion: r.email ? r.consentVersion : undefined,
  };
}

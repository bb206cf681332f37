import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Frequency } from '../db/schema.js';
import { STRIPE_MAXIMUM_AMOUNT, STRIPE_MINIMUM_CHARGE } from './currencies.js';

export const FREQUENCIES = ['once', 'monthly', 'annual'] as const satisfies readonly Frequency[];

export interface CurrencyOptions {
  currency: string;
  minimum: number;
  maximum: number;
  /** The amount pre-selected for each frequency. */
  defaultAmount: Record<Frequency, number>;
  presets: Record<Frequency, number[]>;
}

export interface DonationOptions {
  frequencies: readonly Frequency[];
  currencies: CurrencyOptions[];
}

const DEFAULT_PRESETS: Record<Frequency, number[]> = {
  once: [500, 1000, 2500, 5000],
  monthly: [200, 500, 1000, 2000],
  annual: [2500, 5000, 10000, 20000],
};
const DEFAULT_AMOUNT: Record<Frequency, number> = { once: 1000, monthly: 500, annual: 5000 };
const DEFAULT_MINIMUM = 200;
const DEFAULT_MAXIMUM = 1_000_000;

const amount = z.number().int().positive().max(STRIPE_MAXIMUM_AMOUNT);
const perFrequency = <T extends z.ZodType>(t: T) => z.object({ once: t, monthly: t, annual: t }).strict();

const currencyEntry = z
  .object({
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
      .transform((c) => c.toLowerCase()),
    minimum: amount.default(DEFAULT_MINIMUM),
    maximum: amount.default(DEFAULT_MAXIMUM),
    defaultAmount: perFrequency(amount).default(DEFAULT_AMOUNT),
    presets: perFrequency(z.array(amount).min(1).max(8)).default(DEFAULT_PRESETS),
  })
  .strict();

export const donationOptionsFileSchema = z.object({ currencies: z.array(currencyEntry).min(1) }).strict();

export class DonationOptionsError extends Error {}

/** Checks what zod cannot: the floor Stripe imposes, and presets inside the allowed range. */
export function validateDonationOptions(options: DonationOptions): DonationOptions {
  const seen = new Set<string>();
  for (const c of options.currencies) {
    if (seen.has(c.currency)) throw new DonationOptionsError(`currency ${c.currency} is listed twice`);
    seen.add(c.currency);
    const floor = STRIPE_MINIMUM_CHARGE[c.currency];
    if (floor === undefined) {
      throw new DonationOptionsError(`currency ${c.currency} is not one we know Stripe's minimum charge for`);
    }
    if (c.minimum < floor) {
      throw new DonationOptionsError(
        `currency ${c.currency}: minimum ${c.minimum} is below Stripe's minimum charge of ${floor}`,
      );
    }
    if (c.maximum < c.minimum) throw new DonationOptionsError(`currency ${c.currency}: maximum is below minimum`);
    for (const f of options.frequencies) {
      for (const a of [...c.presets[f], c.defaultAmount[f]]) {
        if (a < c.minimum || a > c.maximum) {
          throw new DonationOptionsError(
            `currency ${c.currency}: ${f} amount ${a} is outside ${c.minimum}..${c.maximum}`,
          );
        }
      }
    }
  }
  return options;
}

/** The built-in amounts for each listed currency (DONATION_CURRENCIES). */
export function defaultDonationOptions(currencies: readonly string[]): DonationOptions {
  return validateDonationOptions({
    frequencies: FREQUENCIES,
    currencies: currencies.map((currency) => currencyEntry.parse({ currency })),
  });
}

/** Parses the JSON options file (DONATION_OPTIONS_FILE); errors name the offending path. */
export function loadDonationOptionsFile(path: string): DonationOptions {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DonationOptionsError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = donationOptionsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DonationOptionsError(`${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return validateDonationOptions({ frequencies: FREQUENCIES, currencies: parsed.data.currencies });
}

export function findCurrency(options: DonationOptions, currency: string): CurrencyOptions | undefined {
  return options.currencies.find((c) => c.currency === currency.toLowerCase());
}

import { currencyExponent } from '../currencies.js';

/** "$5", "$7.50", "¥500", "5,000 KWD"-style text for readers; whole amounts without decimals. */
export function moneyText(amountMinor: number, currency: string, locale = 'en'): string {
  const exponent = currencyExponent(currency);
  const major = amountMinor / 10 ** exponent;
  const whole = amountMinor % 10 ** exponent === 0;
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: whole ? 0 : exponent,
    maximumFractionDigits: exponent,
  }).format(major);
}

/** The same amount with all its decimals, for confirmations ("$5.00"). */
export function moneyTextExact(amountMinor: number, currency: string, locale = 'en'): string {
  const exponent = currencyExponent(currency);
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  }).format(amountMinor / 10 ** exponent);
}

/**
 * A reader's typed amount ("7.50", "7,50", "1 000") in minor units; undefined when it is not a
 * plain positive number with at most the currency's decimals.
 */
export function parseTypedAmount(text: string, currency: string): number | undefined {
  const exponent = currencyExponent(currency);
  const cleaned = text
    .trim()
    .replace(/[\s\u00a0']/g, '')
    .replace(/^[^\d]+/, '');
  const match = /^(\d{1,9})(?:[.,](\d+))?$/.exec(cleaned);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) return undefined;
  return Number(match[1]) * 10 ** exponent + Number(fraction.padEnd(exponent, '0') || '0');
}

import { html, raw } from 'hono/html';
import type { Frequency } from '../../db/schema.js';
import type { Config } from '../config.js';
import { currencyExponent } from '../currencies.js';
import { findCurrency } from '../donation-options.js';
import { DONATE_SCRIPT } from './donate-script.js';
import { page } from './layout.js';
import { moneyText } from './money-text.js';
import { CAPTCHA_WIDGET } from './page-security.js';

export type DonateField = 'frequency' | 'amount' | 'currency' | 'email' | 'form' | 'remindEmail' | 'consent' | 'remind';

export interface DonateView {
  config: Pick<
    Config,
    | 'donationOptions'
    | 'NEWSROOM_NAME'
    | 'PAYMENT_METHODS_NOTE'
    | 'REMINDER_CONSENT_VERSION'
    | 'CAPTCHA_PROVIDER'
    | 'CAPTCHA_SITE_KEY'
  >;
  nonce: string;
  embed: boolean;
  currency: string;
  frequency: Frequency;
  /** A preset to pre-select (minor units). */
  amount?: number | undefined;
  /** What the reader typed in "Other amount", kept when the page comes back with an error. */
  otherAmount?: string | undefined;
  campaign?: string | undefined;
  email?: string | undefined;
  remindEmail?: string | undefined;
  idempotencyKey: string;
  errors: Partial<Record<DonateField, string>>;
  notice?: string | undefined;
  remindOpen?: boolean;
}

const FREQUENCY_LABEL: Record<Frequency, string> = { once: 'Once', monthly: 'Monthly', annual: 'Annual' };
const WHEN = [
  ['week', 'Next week'],
  ['month', 'Next month'],
  ['quarter', 'In three months'],
] as const;

const invalidAttr = (message: string | undefined) => (message ? 'true' : 'false');

/**
 * The provider's challenge, when CAPTCHA_PROVIDER and CAPTCHA_SITE_KEY are set (it needs
 * JavaScript): one in each form that needs it, checkout and the reminder sign-up; the provider's
 * script once, with the first.
 */
function captchaWidget(v: DonateView, withScript: boolean) {
  const provider = v.config.CAPTCHA_PROVIDER;
  if (!provider || !v.config.CAPTCHA_SITE_KEY) return '';
  const w = CAPTCHA_WIDGET[provider];
  return html`<div class="${w.className}" data-sitekey="${v.config.CAPTCHA_SITE_KEY}"></div>${
    withScript
      ? html`
<script src="${w.script}" async defer></script>`
      : ''
  }`;
}

export function donatePage(v: DonateView) {
  const options = v.config.donationOptions;
  const currency = findCurrency(options, v.currency) ?? options.currencies[0]!;
  const presets = currency.presets[v.frequency];
  const selected = v.otherAmount ? undefined : (v.amount ?? currency.defaultAmount[v.frequency]);
  const symbol = moneyText(0, currency.currency).replace(/[\d.,\s]/g, '') || currency.currency.toUpperCase();
  const min = moneyText(currency.minimum, currency.currency);
  const max = moneyText(currency.maximum, currency.currency);
  const e = v.errors;
  // The script reads the options from here, so the box and the API never disagree on numbers.
  const optionsJson = JSON.stringify({
    frequencies: options.frequencies,
    currencies: options.currencies.map((c) => ({ ...c, exponent: currencyExponent(c.currency) })),
    embed: v.embed,
  }).replace(/</g, '\\u003c');

  return page(
    { title: `Support ${v.config.NEWSROOM_NAME}`, nonce: v.nonce, embed: v.embed, script: DONATE_SCRIPT },
    html`<h1>Support independent journalism</h1>
<p class="lede">Readers keep ${v.config.NEWSROOM_NAME} independent. Give once, monthly or annually, starting from just ${moneyText(currency.minimum, currency.currency)}.</p>
<p class="alert" role="alert" id="form-error">${e.form ?? ''}</p>
<form id="donate" method="post" action="/donate" novalidate${v.embed ? html` target="_top"` : ''}>
<input type="hidden" name="idempotency_key" value="${v.idempotencyKey}">
<input type="hidden" name="campaign" value="${v.campaign ?? ''}">
${v.embed ? html`<input type="hidden" name="embed" value="1">` : ''}
<fieldset>
<legend>How often</legend>
<div class="choices">
${(['once', 'monthly', 'annual'] as const).map(
  (f) =>
    html`<label class="choice"><input type="radio" name="frequency" value="${f}"${f === v.frequency ? html` checked` : ''}><span>${FREQUENCY_LABEL[f]}</span></label>`,
)}
</div>
</fieldset>
<fieldset>
<legend>Amount</legend>
<div class="choices" id="presets">
${presets.map(
  (a) =>
    html`<label class="choice"><input type="radio" name="amount" value="${a}"${a === selected ? html` checked` : ''}><span>${moneyText(a, currency.currency)}</span></label>`,
)}
</div>
<label class="field" for="other-amount">Other amount</label>
<div class="money"><span id="currency-symbol" aria-hidden="true">${symbol}</span>
<input type="text" id="other-amount" name="other_amount" inputmode="decimal" autocomplete="off" value="${v.otherAmount ?? ''}" aria-describedby="amount-hint amount-error" aria-invalid="${invalidAttr(e.amount)}"></div>
<p class="hint" id="amount-hint">From ${min} to ${max}.</p>
<p class="error" id="amount-error" role="alert">${e.amount ?? ''}</p>
</fieldset>
<label class="field" for="currency">Currency</label>
<select id="currency" name="currency" aria-describedby="currency-error">
${options.currencies.map(
  (c) =>
    html`<option value="${c.currency}"${c.currency === currency.currency ? html` selected` : ''}>${c.currency.toUpperCase()}</option>`,
)}
</select>
<p class="error" id="currency-error" role="alert">${e.currency ?? ''}</p>
<label class="field" for="email">E-mail <span class="hint">(optional, for your receipt)</span></label>
<input type="email" id="email" name="email" autocomplete="email" value="${v.email ?? ''}" aria-describedby="email-error" aria-invalid="${invalidAttr(e.email)}">
<p class="error" id="email-error" role="alert">${e.email ?? ''}</p>
${captchaWidget(v, true)}
<button type="submit" class="primary" id="continue">Continue</button>
<p class="methods">${v.config.PAYMENT_METHODS_NOTE}</p>
</form>
<p class="notice" role="status" id="notice">${v.notice ?? ''}</p>
<details id="later"${v.remindOpen ? html` open` : ''}>
<summary>Not ready to support today? Remind me later.</summary>
<form id="remind" method="post" action="/donate/remind" novalidate>
<input type="hidden" name="frequency" value="${v.frequency}">
<input type="hidden" name="amount" value="${selected ?? ''}">
<input type="hidden" name="currency" value="${currency.currency}">
<input type="hidden" name="campaign" value="${v.campaign ?? ''}">
<input type="hidden" name="consent_version" value="${v.config.REMINDER_CONSENT_VERSION}">
${v.embed ? html`<input type="hidden" name="embed" value="1">` : ''}
<label class="field" for="remind-email">Your e-mail</label>
<input type="email" id="remind-email" name="email" autocomplete="email" value="${v.remindEmail ?? ''}" aria-describedby="remind-email-error" aria-invalid="${invalidAttr(e.remindEmail)}">
<p class="error" id="remind-email-error" role="alert">${e.remindEmail ?? ''}</p>
<fieldset>
<legend>When</legend>
<div class="choices">
${WHEN.map(
  ([value, label]) =>
    html`<label class="choice"><input type="radio" name="when" value="${value}"${value === 'month' ? html` checked` : ''}><span>${label}</span></label>`,
)}
</div>
</fieldset>
<label class="check"><input type="checkbox" id="consent" name="consent" value="1" aria-describedby="consent-error"><span>Send me one reminder e-mail. My address is deleted afterwards.</span></label>
<p class="error" id="consent-error" role="alert">${e.consent ?? ''}</p>
<p class="error" id="remind-error" role="alert">${e.remind ?? ''}</p>
${captchaWidget(v, false)}
<button type="submit" class="secondary">Remind me</button>
</form>
<form id="not-now" method="post" action="/donate/not-now">
${v.embed ? html`<input type="hidden" name="embed" value="1">` : ''}
<button type="submit" class="link">Not now, ask me again next month</button>
</form>
</details>
<script type="application/json" id="options" nonce="${v.nonce}">${raw(optionsJson)}</script>`,
  );
}

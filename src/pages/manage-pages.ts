import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Frequency } from '../../db/schema.js';
import { CANCEL_REASON_WORDS, CANCEL_REASONS } from '../manage/cancel-reasons.js';
import type { GiftView, RecurringView, Statement } from '../manage/donations.js';
import { page } from './layout.js';
import { moneyTextExact } from './money-text.js';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const EVERY: Record<Frequency, string> = { once: 'once', monthly: 'every month', annual: 'every year' };
const dateText = (iso: string | null) =>
  iso
    ? new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
        new Date(iso),
      )
    : '';
const brandText = (brand: string) =>
  ({ visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover' })[brand] ??
  brand.charAt(0).toUpperCase() + brand.slice(1);

/** What the donation is, in words: "$5.00 every month". */
export function donationWords(d: Pick<RecurringView, 'amount' | 'currency' | 'frequency'>): string {
  const money = d.amount !== null && d.currency ? moneyTextExact(d.amount, d.currency) : 'A donation';
  return d.frequency ? `${money} ${EVERY[d.frequency]}` : money;
}

/** Where it stands, in words: next payment, paused, ending, ended. */
export function donationState(d: RecurringView): string {
  if (d.status === 'canceled' || d.status === 'incomplete_expired') return 'Ended.';
  if (d.cancelAtPeriodEnd)
    return d.endsAt ? `Cancelled: no more payments. It ends on ${dateText(d.endsAt)}.` : 'Cancelled: no more payments.';
  if (d.paused) return d.pausedUntil ? `Paused until ${dateText(d.pausedUntil)}.` : 'Paused.';
  if (d.status === 'past_due' || d.status === 'unpaid') return 'The last payment did not go through.';
  if (d.status === 'incomplete') return 'Waiting for the first payment.';
  return d.nextPaymentAt ? `Next payment on ${dateText(d.nextPaymentAt)}.` : 'Active.';
}

const STATUS_WORDS: Record<GiftView['status'], string> = {
  pending: 'processing',
  succeeded: 'received',
  failed: 'failed',
  refunded: 'refunded',
  partially_refunded: 'partly refunded',
  disputed: 'disputed',
  dispute_lost: 'reversed',
};

function frame(nonce: string, title: string, body: Html, script?: string) {
  return page({ title, nonce, ...(script ? { script } : {}) }, body);
}

/** GET /manage without a session: ask for the e-mail. */
export function linkRequestPage(o: {
  nonce: string;
  newsroom: string;
  sent?: boolean;
  expired?: boolean;
  signedOut?: boolean;
  error?: string;
  email?: string;
  ttlWords: string;
}) {
  const notice = o.sent
    ? `If we hold gifts for that address, a link is on its way. It works for ${o.ttlWords}.`
    : o.signedOut
      ? 'You are signed out. The link you used no longer works.'
      : '';
  return frame(
    o.nonce,
    'Manage your donations',
    html`<h1>Manage your donations</h1>
<p class="lede">Change, pause or cancel a donation to ${o.newsroom}, update your card, or see what you have given. Enter the e-mail address you gave with, and we will send you a link. No password needed.</p>
${o.expired ? html`<p class="alert" role="alert">That link has expired or is no longer valid. Ask for a new one below.</p>` : ''}
<p class="notice" role="status">${notice}</p>
<form method="post" action="/manage" novalidate>
<label class="field" for="email">E-mail address</label>
<input id="email" name="email" type="email" autocomplete="email" required value="${o.email ?? ''}"${o.error ? raw(' aria-invalid="true" aria-describedby="email-error"') : ''}>
<p class="error" id="email-error">${o.error ?? ''}</p>
<button class="primary" type="submit">E-mail me a link</button>
</form>`,
  );
}

/**
 * Where a mailed link lands: the token is in a cookie now, and this page replaces itself with
 * the next one (a refresh replaces the history entry, so the token's URL does not stay there).
 * A page rather than a redirect: a SameSite=Strict cookie set on a redirect from a mail client's
 * link would not be sent on the redirected request.
 */
export function landingPage(nonce: string, next: string) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=${next}">
<title>Opening your donations</title><style nonce="${nonce}">body{font-family:system-ui,sans-serif;padding:1.5rem}</style></head>
<body><p><a href="${next}">Continue to your donations</a></p></body></html>`;
}

function recurringCard(d: RecurringView, o: { currencyStep: string }) {
  const live = d.status !== 'canceled' && d.status !== 'incomplete_expired';
  const failing = d.status === 'past_due' || d.status === 'unpaid';
  const base = `/manage/recurring/${d.id}`;
  return html`<section class="card" aria-labelledby="d-${d.id}">
<h2 id="d-${d.id}">${donationWords(d)}</h2>
<p>${donationState(d)}</p>
${failing ? html`<p class="alert" role="alert">Your card may have expired or been replaced. Update it to keep your donation going.</p>` : ''}
${d.paymentMethod ? html`<p class="hint">Paid with ${brandText(d.paymentMethod.brand)} ending ${d.paymentMethod.last4}.</p>` : ''}
${
  live
    ? html`<div class="actions">
<form method="post" action="${base}/payment-method"><button class="secondary" type="submit">Update card</button></form>
${
  d.cancelAtPeriodEnd || d.paused
    ? html`<form method="post" action="${base}/resume"><button type="submit">${d.cancelAtPeriodEnd ? 'Keep my donation' : 'Resume now'}</button></form>`
    : ''
}
</div>
${
  d.cancelAtPeriodEnd
    ? ''
    : html`<details><summary>Change the amount</summary>
<form method="post" action="${base}/amount">
<label class="field" for="amount-${d.id}">New amount (${(d.currency ?? '').toUpperCase()}), from the next payment</label>
<input id="amount-${d.id}" name="amount" type="text" inputmode="decimal" autocomplete="off" placeholder="${o.currencyStep}" required>
<button type="submit">Change amount</button>
</form></details>
<details><summary>Pause</summary>
<form method="post" action="${base}/pause">
<label class="field" for="months-${d.id}">Pause for</label>
<select id="months-${d.id}" name="months"><option value="1">1 month</option><option value="2">2 months</option><option value="3">3 months</option></select>
<button type="submit">Pause</button>
</form></details>
<p><a href="${base}/cancel">Cancel this donation</a></p>`
}`
    : ''
}
</section>`;
}

/** GET /manage with a session: the donor's donations, gifts and statements. */
export function dashboardPage(o: {
  nonce: string;
  newsroom: string;
  recurring: RecurringView[];
  gifts: GiftView[];
  years: number[];
  signedInAs: string;
  notice?: string;
  error?: string;
}) {
  return frame(
    o.nonce,
    'Your donations',
    html`<h1>Your donations to ${o.newsroom}</h1>
<p class="hint">Signed in as ${o.signedInAs}. Not you? Sign out at the bottom of the page.</p>
<p class="notice" role="status">${o.notice ?? ''}</p>
<p class="alert" role="alert">${o.error ?? ''}</p>
${o.recurring.length === 0 ? html`<p>You have no monthly or annual donation with us.</p>` : o.recurring.map((d) => recurringCard(d, { currencyStep: d.currency && d.amount !== null ? moneyTextExact(d.amount, d.currency).replace(/[^\d.,]/g, '') : '' }))}
<h2>What you have given</h2>
${
  o.gifts.length === 0
    ? html`<p>No gifts yet.</p>`
    : html`<table><thead><tr><th scope="col">Date</th><th scope="col">Amount</th><th scope="col">Status</th></tr></thead><tbody>
${o.gifts.map(
  (g) =>
    html`<tr><td>${dateText(g.paidAt) || 'pending'}</td><td>${moneyTextExact(g.amount, g.currency)}${g.frequency === 'once' ? '' : html` <span class="hint">(${g.frequency})</span>`}</td><td>${STATUS_WORDS[g.status]}${g.refundedAmount > 0 && g.status === 'partially_refunded' ? ` (${moneyTextExact(g.refundedAmount, g.currency)})` : ''}</td></tr>`,
)}
</tbody></table>`
}
${o.years.length > 0 ? html`<h2>Statements</h2><ul>${o.years.map((y) => html`<li><a href="/manage/statement?year=${y}">Your ${y} statement</a></li>`)}</ul>` : ''}
<form method="post" action="/manage/sign-out"><button class="link" type="submit">Sign out</button></form>`,
  );
}

/** Before a cancel: pause or a lower amount offered first, the reason asked, the cancel always there. */
export function cancelPage(o: { nonce: string; donation: RecurringView; lower: number[] }) {
  const d = o.donation;
  const base = `/manage/recurring/${d.id}`;
  return frame(
    o.nonce,
    'Cancel your donation',
    html`<h1>Cancel ${donationWords(d)}?</h1>
<p class="lede">Every reader who pays keeps this journalism free for those who cannot. If now is a hard time, you can pause or give less instead.</p>
<section class="card"><h2>Take a break</h2>
<form method="post" action="${base}/pause"><input type="hidden" name="instead_of_cancel" value="1">
<div class="actions">${[1, 2, 3].map((m) => html`<button class="secondary" type="submit" name="months" value="${m}">Pause ${m} month${m === 1 ? '' : 's'}</button>`)}</div>
</form></section>
${
  o.lower.length > 0 && d.currency
    ? html`<section class="card"><h2>Give less</h2>
<form method="post" action="${base}/amount"><input type="hidden" name="instead_of_cancel" value="1">
<div class="actions">${o.lower.map((a) => html`<button class="secondary" type="submit" name="amount_minor" value="${a}">${moneyTextExact(a, d.currency!)} ${d.frequency ? EVERY[d.frequency] : ''}</button>`)}</div>
</form></section>`
    : ''
}
<section class="card"><h2>Cancel</h2>
<form method="post" action="${base}/cancel">
<fieldset><legend>Would you tell us why? (optional)</legend>
${CANCEL_REASONS.map((r) => html`<label class="check"><input type="radio" name="reason" value="${r}"> ${CANCEL_REASON_WORDS[r]}</label>`)}
</fieldset>
<label class="field" for="comment">Anything else? (optional)</label>
<input id="comment" name="comment" type="text" maxlength="500" autocomplete="off">
<button class="primary" type="submit">Cancel my donation</button>
</form>
<p class="hint">No more payments will be taken. What you have given stays given.</p>
</section>
<p><a href="/manage">Keep my donation</a></p>`,
  );
}

const PRINT_SCRIPT = `document.getElementById('print')?.addEventListener('click',()=>window.print())`;

/** The year's statement: a page that prints well (and saves as PDF from the browser's print). */
export function statementPage(o: { nonce: string; newsroom: string; footer: string; statement: Statement }) {
  const s = o.statement;
  return frame(
    o.nonce,
    `${s.year} statement`,
    html`<p class="no-print"><a href="/manage">Back to your donations</a></p>
<h1>${o.newsroom}: your gifts in ${s.year}</h1>
${
  s.gifts.length === 0
    ? html`<p>No gifts were received from you in ${s.year}.</p>`
    : html`<table><thead><tr><th scope="col">Date</th><th scope="col">Gift</th><th scope="col">Refunded</th><th scope="col">Counts</th></tr></thead><tbody>
${s.gifts.map((g) => html`<tr><td>${dateText(g.paidAt)}</td><td>${moneyTextExact(g.amount, g.currency)}</td><td>${g.refundedAmount ? moneyTextExact(g.refundedAmount, g.currency) : ''}</td><td>${moneyTextExact(g.netAmount, g.currency)}</td></tr>`)}
</tbody><tfoot>${s.totals.map((t) => html`<tr><th scope="row">Total (${t.currency.toUpperCase()}, ${t.count} gift${t.count === 1 ? '' : 's'})</th><td>${moneyTextExact(t.amount, t.currency)}</td><td>${t.refundedAmount ? moneyTextExact(t.refundedAmount, t.currency) : ''}</td><td class="total">${moneyTextExact(t.netAmount, t.currency)}</td></tr>`)}</tfoot></table>`
}
${o.footer ? html`<p class="footer">${o.footer}</p>` : ''}
<p class="hint no-print">Dates are in UTC. To keep a copy, print this page or save it as PDF from your browser's print dialogue.</p>
<p class="no-print"><button id="print" class="secondary" type="button">Print</button></p>`,
    PRINT_SCRIPT,
  );
}

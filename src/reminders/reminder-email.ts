import type { Reminder } from '../../db/schema.js';
import type { Config } from '../config.js';
import { formatMinorUnits } from '../currencies.js';
import type { OutgoingMail } from './mailer.js';

const FREQUENCY_WORDS = { once: 'once', monthly: 'every month', annual: 'every year' } as const;

export const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The donation page with the reader's earlier choice pre-filled. */
export function donateLink(
  config: Pick<Config, 'DONATE_URL'>,
  r: Pick<Reminder, 'amount' | 'currency' | 'frequency' | 'campaign'>,
) {
  const url = new URL(config.DONATE_URL);
  if (r.amount !== null) url.searchParams.set('amount', String(r.amount));
  if (r.currency !== null) url.searchParams.set('currency', r.currency);
  if (r.frequency !== null) url.searchParams.set('frequency', r.frequency);
  if (r.campaign !== null) url.searchParams.set('campaign', r.campaign);
  return url.toString();
}

export function cancelLink(config: Pick<Config, 'PUBLIC_URL'>, token: string) {
  return `${config.PUBLIC_URL}/reminders/cancel?token=${encodeURIComponent(token)}`;
}

export function reminderEmail(
  config: Pick<Config, 'DONATE_URL' | 'PUBLIC_URL' | 'NEWSROOM_NAME'>,
  r: Reminder,
  token: string,
): OutgoingMail {
  const name = config.NEWSROOM_NAME;
  const donate = donateLink(config, r);
  const cancel = cancelLink(config, token);
  const choice =
    r.amount !== null && r.currency !== null
      ? `${formatMinorUnits(r.amount, r.currency)} ${r.currency.toUpperCase()}${r.frequency ? ` ${FREQUENCY_WORDS[r.frequency]}` : ''}`
      : null;
  const ask = choice ? `Give ${choice}` : 'Support us';
  const text = [
    'Hello,',
    '',
    `You asked us to remind you about supporting ${name}. Independent journalism exists because readers like you pay for it.`,
    '',
    `${ask}: ${donate}`,
    '',
    'This is the only reminder we will send. If you would rather not have it, cancel it and we will delete your e-mail address:',
    cancel,
    '',
    `${name}`,
  ].join('\n');
  const html = `<!doctype html><html lang="en"><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111;max-width:36rem;margin:auto;padding:1rem">
<p>Hello,</p>
<p>You asked us to remind you about supporting ${escapeHtml(name)}. Independent journalism exists because readers like you pay for it.</p>
<p><a href="${escapeHtml(donate)}" style="display:inline-block;background:#0b57d0;color:#fff;padding:.75rem 1.25rem;border-radius:.375rem;text-decoration:none;font-weight:600">${escapeHtml(ask)}</a></p>
<p style="font-size:.875rem;color:#444">This is the only reminder we will send. If you would rather not have it, <a href="${escapeHtml(cancel)}">cancel it and we will delete your e-mail address</a>.</p>
<p>${escapeHtml(name)}</p>
</body></html>`;
  return {
    to: r.email!,
    subject: `Your reminder to support ${name}`,
    text,
    html,
    headers: { 'List-Unsubscribe': `<${cancel}>` },
  };
}

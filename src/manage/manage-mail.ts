import type { ManageLinkPurpose } from '../../db/schema.js';
import type { Config } from '../config.js';
import type { OutgoingMail } from '../reminders/mailer.js';
import { escapeHtml } from '../reminders/reminder-email.js';

/** Where a mailed link lands: /manage takes the token out of the URL at once (src/routes/manage-pages.ts). */
export function manageLink(config: Pick<Config, 'PUBLIC_URL'>, token: string, statementYear?: number | null) {
  const url = new URL(`${config.PUBLIC_URL}/manage`);
  url.searchParams.set('token', token);
  if (statementYear) url.searchParams.set('statement', String(statementYear));
  return url.toString();
}

interface Wording {
  subject: string;
  lead: string;
  button: string;
}

const wording = (name: string, purpose: ManageLinkPurpose, year: number | null | undefined): Wording =>
  purpose === 'payment_failed'
    ? {
        subject: `Your donation to ${name}: a payment did not go through`,
        lead: `Your last payment to ${name} did not go through, often because a card has expired or been replaced. You can update your card, pause or change your donation here:`,
        button: 'Update my card',
      }
    : purpose === 'statement'
      ? {
          subject: `Your ${year} statement of gifts to ${name}`,
          lead: `Your statement of the gifts you made to ${name} in ${year} is ready to view and print:`,
          button: `View my ${year} statement`,
        }
      : {
          subject: `Manage your donations to ${name}`,
          lead: `Here is the link you asked for, to see and manage your donations to ${name}:`,
          button: 'Manage my donations',
        };

/**
 * The mail that carries a manage link. It says nothing about amounts or dates: a mailbox may be
 * read by others, and the link itself expires.
 */
export function manageLinkEmail(
  config: Pick<Config, 'PUBLIC_URL' | 'NEWSROOM_NAME'>,
  to: string,
  purpose: ManageLinkPurpose,
  token: string,
  validFor: string,
  statementYear?: number | null,
): OutgoingMail {
  const name = config.NEWSROOM_NAME;
  const link = manageLink(config, token, statementYear);
  const w = wording(name, purpose, statementYear);
  const unasked = purpose === 'request' ? 'If you did not ask for it, you can ignore this e-mail.' : '';
  const text = [
    'Hello,',
    '',
    w.lead,
    link,
    '',
    `The link works for ${validFor}; after that you can ask for a new one at ${config.PUBLIC_URL}/manage.`,
    ...(unasked ? [unasked] : []),
    '',
    'Please do not forward this e-mail: the link opens your donations without a password.',
    '',
    name,
  ].join('\n');
  const html = `<!doctype html><html lang="en"><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111;max-width:36rem;margin:auto;padding:1rem">
<p>Hello,</p>
<p>${escapeHtml(w.lead)}</p>
<p><a href="${escapeHtml(link)}" style="display:inline-block;background:#0b57d0;color:#fff;padding:.75rem 1.25rem;border-radius:.375rem;text-decoration:none;font-weight:600">${escapeHtml(w.button)}</a></p>
<p style="font-size:.875rem;color:#444">The link works for ${escapeHtml(validFor)}; after that you can ask for a new one at <a href="${escapeHtml(config.PUBLIC_URL)}/manage">${escapeHtml(config.PUBLIC_URL)}/manage</a>. ${escapeHtml(unasked)}</p>
<p style="font-size:.875rem;color:#444">Please do not forward this e-mail: the link opens your donations without a password.</p>
<p>${escapeHtml(name)}</p>
</body></html>`;
  return { to, subject: w.subject, text, html };
}

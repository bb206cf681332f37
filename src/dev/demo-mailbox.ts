// DEVELOPMENT TOOL: `npm run demo` without SMTP_URL keeps its mail here, prints it to the console
// and shows it at /dev/mail, so a manage link can be followed on one machine. Never in the server.
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Mailer, OutgoingMail } from '../reminders/mailer.js';

const KEEP = 20;

export class DemoMailbox implements Mailer {
  readonly mails: Array<OutgoingMail & { at: Date }> = [];

  constructor(private readonly print: (text: string) => void) {}

  async send(mail: OutgoingMail): Promise<void> {
    this.mails.unshift({ ...mail, at: new Date() });
    this.mails.length = Math.min(this.mails.length, KEEP);
    this.print(`\n--- demo mail to ${mail.to}: ${mail.subject}\n${mail.text}\n---\n`);
  }

  close(): void {}

  /** GET /dev/mail: the latest mails, newest first, as plain text with their links clickable. */
  routes() {
    return new Hono().get('/dev/mail', (c) => {
      c.header('Cache-Control', 'no-store');
      return c.html(html`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Demo mail</title></head>
<body style="font-family:system-ui,sans-serif;max-width:44rem;margin:auto;padding:1rem">
<h1>Demo mail</h1><p>What the demo would have e-mailed, newest first (the last ${KEEP}).</p>
${this.mails.length === 0 ? html`<p>No mail yet.</p>` : ''}
${this.mails.map(
  (m) => html`<article style="border-top:1px solid #ccc;padding:.5rem 0">
<h2 style="font-size:1.1rem">${m.subject}</h2><p>To ${m.to}, ${m.at.toISOString()}</p>
<pre style="white-space:pre-wrap">${linked(m.text)}</pre></article>`,
)}
</body></html>`);
    });
  }
}

/** The text with its URLs as links (escaped first, by the html tag). */
function linked(text: string) {
  return text
    .split(/(https?:\/\/\S+)/)
    .map((part, i) => (i % 2 === 1 ? html`<a href="${part}">${part}</a>` : html`${part}`));
}

import { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import type { Deps } from '../deps.js';
import { ApiError, invalid } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { refuseCrossSite } from '../http/cross-site.js';
import { readForm } from '../http/form-body.js';
import { readJsonObject } from '../http/json-body.js';
import { page } from '../pages/layout.js';
import { pageSecurity } from '../pages/page-security.js';
import { hashToken } from '../privacy/token-hash.js';
import { readerIdField } from '../reminders/reminder-request.js';
import { cancelReminder, deferredUntil } from '../reminders/reminders-queries.js';
import { signUpForReminder } from '../reminders/sign-up.js';

const tokenField = z.string().regex(/^[A-Za-z0-9_-]{20,100}$/);
export const cancelRequest = z.object({ token: z.string().min(1) });

const notFound = () => new ApiError('not_found', 'This cancel link is not valid');

export function reminderRoutes(deps: Deps) {
  const { config, db, clock } = deps;

  async function cancel(token: unknown): Promise<boolean> {
    const parsed = tokenField.safeParse(token);
    if (!parsed.success) return false;
    return cancelReminder(db, hashToken(parsed.data), clock.now());
  }

  return (
    new Hono<AppEnv>()
      .post('/api/reminders', async (c) => {
        const row = await signUpForReminder(
          deps,
          await readJsonObject(c, config.API_BODY_LIMIT_BYTES),
          clientIp(c, config.TRUST_PROXY),
        );
        return c.json({ id: row.id, remindAt: row.remind_at.toISOString() }, 201);
      })
      .get('/api/reminders/deferral', async (c) => {
        const readerId = readerIdField.safeParse(c.req.query('readerId'));
        if (!readerId.success) {
          throw invalid('readerId', readerId.error.issues[0]?.message ?? 'readerId is required');
        }
        const until = await deferredUntil(db, readerId.data, clock.now());
        c.header('Cache-Control', 'no-store');
        return c.json({ deferredUntil: until ? until.toISOString() : null });
      })
      .post('/api/reminders/cancel', async (c) => {
        const body = await readJsonObject(c, config.API_BODY_LIMIT_BYTES);
        const parsed = cancelRequest.safeParse(body);
        if (!parsed.success) throw invalid('token', 'token is required');
        if (!(await cancel(parsed.data.token))) throw notFound();
        return c.json({ cancelled: true });
      })
      // The link in the e-mail: a page with a button, so a mail scanner fetching the link cancels nothing.
      .use('/reminders/cancel', pageSecurity(config), refuseCrossSite(config))
      .get('/reminders/cancel', (c) => {
        const token = c.req.query('token') ?? '';
        return c.html(
          page(
            { title: 'Cancel your reminder', nonce: c.get('nonce') },
            html`<h1>Cancel your reminder?</h1>
<p>We will not send the reminder, and we will delete your e-mail address.</p>
<form method="post" action="/reminders/cancel">
<input type="hidden" name="token" value="${token}">
<button type="submit">Cancel my reminder</button>
</form>`,
          ),
        );
      })
      .post('/reminders/cancel', async (c) => {
        const form = await readForm(c);
        const done = await cancel(form.token);
        return c.html(
          done
            ? page(
                { title: 'Reminder cancelled', nonce: c.get('nonce') },
                html`<h1>Your reminder is cancelled</h1><p>We have deleted your e-mail address. Thank you for reading.</p>`,
              )
            : page(
                { title: 'Link not valid', nonce: c.get('nonce') },
                html`<h1>This link is not valid</h1><p class="muted">It may have been mistyped. Nothing was changed.</p>`,
              ),
          done ? 200 : 404,
        );
      })
  );
}

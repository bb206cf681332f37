import { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import type { Deps } from '../deps.js';
import { ApiError, invalid } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { readJsonObject } from '../http/json-body.js';
import { page } from '../pages/layout.js';
import { hashed, hit } from '../rate-limit/fixed-window.js';
import { parseReminderRequest, readerIdField } from '../reminders/reminder-request.js';
import { cancelReminder, deferredUntil, upsertReminder } from '../reminders/reminders-queries.js';
import { hashToken } from '../reminders/send-due.js';

const tokenField = z.string().regex(/^[A-Za-z0-9_-]{20,100}$/);

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
        const now = clock.now();
        const request = parseReminderRequest(await readJsonObject(c), config, now);
        const window = config.REMINDER_RATE_LIMIT_WINDOW_SECONDS;
        await hit(
          db,
          [
            {
              bucket: `reminder:ip:${clientIp(c, config.TRUST_PROXY)}`,
              max: config.REMINDER_RATE_LIMIT_PER_IP,
              windowSeconds: window,
            },
            ...(request.email
              ? [
                  {
                    bucket: `reminder:email:${hashed(request.email)}`,
                    max: config.REMINDER_RATE_LIMIT_PER_EMAIL,
                    windowSeconds: window,
                  },
                ]
              : []),
          ],
          now,
        );
        const row = await upsertReminder(db, request, config.REMINDER_CONSENT_VERSION, now);
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
        const body = await readJsonObject(c);
        if (typeof body.token !== 'string' || body.token === '') throw invalid('token', 'token is required');
        if (!(await cancel(body.token))) throw notFound();
        return c.json({ cancelled: true });
      })
      // The link in the e-mail: a page with a button, so a mail scanner fetching the link cancels nothing.
      .get('/reminders/cancel', (c) => {
        const token = c.req.query('token') ?? '';
        c.header('Cache-Control', 'no-store');
        c.header('Referrer-Policy', 'no-referrer');
        return c.html(
          page(
            'Cancel your reminder',
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
        const form = await c.req.parseBody();
        const done = await cancel(form.token);
        c.header('Cache-Control', 'no-store');
        return c.html(
          done
            ? page(
                'Reminder cancelled',
                html`<h1>Your reminder is cancelled</h1><p>We have deleted your e-mail address. Thank you for reading.</p>`,
              )
            : page(
                'Link not valid',
                html`<h1>This link is not valid</h1><p class="muted">It may have been mistyped. Nothing was changed.</p>`,
              ),
          done ? 200 : 404,
        );
      })
  );
}

import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import type { Deps } from '../deps.js';
import { ApiError, invalid } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { readJsonObject } from '../http/json-body.js';
import { changeDonation, paymentMethodSession, paymentMethodsOf } from '../manage/actions.js';
import { CHANGE_KINDS, type ChangeKind, parseChange } from '../manage/change-request.js';
import { donationsOf, giftsOf, recurringView, statementOf } from '../manage/donations.js';
import { countSupporterUse, requestManageLink, supporterForToken } from '../manage/links.js';

const unauthorized = () =>
  new ApiError('unauthorized', 'The manage link is not valid or has expired; ask for a new one', undefined, {
    'WWW-Authenticate': 'Bearer realm="reader-donations manage"',
  });

/** `Authorization: Bearer <manage token>`: the supporter it was mailed to, while valid. */
function requireManageToken(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    const found = match ? await supporterForToken(deps.db, match[1], deps.clock.now()) : undefined;
    if (!found) throw unauthorized();
    await countSupporterUse(deps, found.supporterId, deps.clock.now());
    c.set('supporterId', found.supporterId);
    c.header('Cache-Control', 'no-store');
    await next();
  };
}

export const paymentMethodRequest = z
  .object({ recurringId: z.string({ error: 'recurringId is required' }).max(100) })
  .strict();

export const yearField = z.coerce
  .number({ error: 'year must be a year such as 2026' })
  .int('year must be a year such as 2026')
  .min(2000, 'year must be 2000 or later')
  .max(2100, 'year must be 2100 or earlier');

/** A year from the query, or this year by the service's clock. */
export function parseYear(value: string | undefined, now: Date): number {
  if (value === undefined || value === '') return now.getUTCFullYear();
  const parsed = yearField.safeParse(value);
  if (!parsed.success) throw invalid('year', parsed.error.issues[0]?.message ?? 'year is not valid');
  return parsed.data;
}

/** The JSON side of donor self-service (docs/api.md, "Donors"). */
export function manageRoutes(deps: Deps) {
  const { config } = deps;
  const app = new Hono<AppEnv>();

  app.post('/api/manage/links', async (c) => {
    const body = await readJsonObject(c, config.API_BODY_LIMIT_BYTES);
    await requestManageLink(deps, body, clientIp(c, config.TRUST_PROXY));
    deps.linkMail.kick();
    return c.json({ sent: true }, 202);
  });

  app.use('/api/manage/*', async (c, next) =>
    c.req.path === '/api/manage/links' ? next() : requireManageToken(deps)(c, next),
  );

  app.get('/api/manage/donations', async (c) => {
    const supporterId = c.get('supporterId');
    const [donations, gifts] = await Promise.all([donationsOf(deps.db, supporterId), giftsOf(deps.db, supporterId)]);
    const cards = await paymentMethodsOf(deps, donations, c.get('logger'));
    return c.json({ recurring: donations.map((d) => recurringView(d, cards.get(d.id) ?? null)), gifts });
  });

  app.post('/api/manage/recurring/:id/:action', async (c) => {
    const action = c.req.param('action');
    if (!CHANGE_KINDS.includes(action as ChangeKind)) throw new ApiError('not_found', 'No such action');
    const body = await readJsonObject(c, config.API_BODY_LIMIT_BYTES);
    const change = parseChange(action as ChangeKind, body);
    const view = await changeDonation(deps, c.get('supporterId'), c.req.param('id'), change, c.get('logger'));
    return c.json(view);
  });

  app.post('/api/manage/payment-method', async (c) => {
    const body = await readJsonObject(c, config.API_BODY_LIMIT_BYTES);
    const parsed = paymentMethodRequest.safeParse(body);
    if (!parsed.success) throw invalid('recurringId', parsed.error.issues[0]?.message ?? 'recurringId is required');
    const url = await paymentMethodSession(deps, c.get('supporterId'), parsed.data.recurringId, c.get('logger'));
    return c.json({ url });
  });

  app.get('/api/manage/statement', async (c) => {
    const year = parseYear(c.req.query('year'), deps.clock.now());
    const statement = await statementOf(deps.db, c.get('supporterId'), year);
    return c.json({ newsroom: config.NEWSROOM_NAME, footer: config.STATEMENT_FOOTER || null, ...statement });
  });

  return app;
}

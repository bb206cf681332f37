import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { finishAudit, startAudit } from '../audit/audit-log.js';
import { emailField, zodFailure } from '../checkout/checkout-request.js';
import { requireStripe, stripeFailure } from '../checkout/create-checkout.js';
import type { Deps } from '../deps.js';
import { ApiError } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { readJsonObject } from '../http/json-body.js';
import { eraseSupporter, RecurringActive } from '../privacy/erase-supporter.js';
import { supporterRecord } from '../privacy/supporter-record.js';
import { requireStaff } from '../staff/require-staff.js';

const lookup = z.strictObject({ email: emailField.unwrap() });

const erasure = z.strictObject({
  email: emailField.unwrap(),
  cancelRecurring: z.boolean({ error: 'cancelRecurring must be true or false' }).optional().default(false),
  deleteStripeCustomer: z.boolean({ error: 'deleteStripeCustomer must be true or false' }).optional().default(false),
});

const notFound = () => new ApiError('not_found', 'Nothing is held for that e-mail address');

/**
 * A supporter's own data, for requests under GDPR articles 15 (access) and 17 (erasure): admin
 * only, and audited by token and supporter id, never by the e-mail.
 */
export function adminSupporterRoutes(deps: Deps) {
  const { db, clock, config } = deps;

  const audit = (c: Context<AppEnv>, filters: Record<string, unknown>) =>
    startAudit(db, {
      tokenId: c.get('staff').id,
      tokenName: c.get('staff').name,
      endpoint: c.req.path,
      filters,
      clientIp: clientIp(c, config.TRUST_PROXY),
      at: clock.now(),
    });

  return new Hono<AppEnv>()
    .get('/admin/supporters', requireStaff(deps, 'admin'), async (c) => {
      const query = c.req.query();
      const parsed = lookup.safeParse(query);
      if (!parsed.success) throw zodFailure(parsed.error, query);
      const record = await supporterRecord(db, parsed.data.email);
      const auditId = await audit(c, { supporterId: record?.supporter?.id ?? null, found: record !== undefined });
      if (!record) {
        await finishAudit(db, auditId, 0, true);
        throw notFound();
      }
      await finishAudit(db, auditId, 1, true);
      return c.json(record);
    })
    .post('/admin/supporters/erase', requireStaff(deps, 'admin'), async (c) => {
      const body = await readJsonObject(c, config.API_BODY_LIMIT_BYTES);
      const parsed = erasure.safeParse(body);
      if (!parsed.success) throw zodFailure(parsed.error, body);
      const { email, ...options } = parsed.data;
      const record = await supporterRecord(db, email);
      if (!record) throw notFound();
      const auditId = await audit(c, { supporterId: record.supporter?.id ?? null, ...options });
      const logger = c.get('logger');
      try {
        const result = await eraseSupporter(deps, email, options, () => requireStripe(deps));
        if (!result) throw notFound();
        await finishAudit(db, auditId, 1, true);
        logger.info({ ...result, by: c.get('staff').id }, 'supporter erased');
        return c.json(result);
      } catch (err) {
        if (err instanceof RecurringActive) {
          throw new ApiError('recurring_active', `${err.message} (cancelRecurring: true)`, 'cancelRecurring');
        }
        throw stripeFailure(
          err,
          logger,
          'The payment provider did not complete the request; the supporter is not erased yet. Try again: what Stripe did already is not done twice',
        );
      }
    });
}

import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { zodFailure } from '../checkout/checkout-request.js';
import { requireStripe, stripeFailure } from '../checkout/create-checkout.js';
import type { Deps } from '../deps.js';
import { ApiError } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { readJsonObject } from '../http/json-body.js';
import { ErasureRaced, RecurringActive } from '../privacy/erase-supporter.js';
import { accessRequest, erasureRequest, LOOKUP_EMAIL } from '../privacy/requests.js';
import { requireStaff } from '../staff/require-staff.js';

const email = z
  .string({ error: 'email is required' })
  .trim()
  .toLowerCase()
  .max(320, { error: 'email must be at most 320 characters' })
  .regex(LOOKUP_EMAIL, { error: 'email is not an e-mail address' });

export const lookup = z.strictObject({ email });

export const erasure = z.strictObject({
  email,
  cancelRecurring: z.boolean({ error: 'cancelRecurring must be true or false' }).optional().default(false),
  deleteStripeCustomer: z.boolean({ error: 'deleteStripeCustomer must be true or false' }).optional().default(false),
});

const notFound = () => new ApiError('not_found', 'Nothing is held for that e-mail address');

/**
 * A supporter's own data, for requests under GDPR articles 15 (access) and 17 (erasure): admin
 * only, and audited by token and supporter id, never by the e-mail.
 */
export function adminSupporterRoutes(deps: Deps) {
  const { config } = deps;
  const requester = (c: Context<AppEnv>) => ({
    tokenId: c.get('staff').id,
    tokenName: c.get('staff').name,
    clientIp: clientIp(c, config.TRUST_PROXY),
    endpoint: c.req.path,
  });

  return new Hono<AppEnv>()
    .get('/admin/supporters', requireStaff(deps, 'admin'), async (c) => {
      const query = c.req.query();
      const parsed = lookup.safeParse(query);
      if (!parsed.success) throw zodFailure(parsed.error, query);
      const record = await accessRequest(deps, parsed.data.email, requester(c));
      if (!record) throw notFound();
      return c.json(record);
    })
    .post('/admin/supporters/erase', requireStaff(deps, 'admin'), async (c) => {
      const body = await readJsonObject(c, config.API_BODY_LIMIT_BYTES);
      const parsed = erasure.safeParse(body);
      if (!parsed.success) throw zodFailure(parsed.error, body);
      const { email, ...options } = parsed.data;
      const logger = c.get('logger');
      try {
        const result = await erasureRequest(deps, email, options, requester(c), () => requireStripe(deps));
        if (!result) throw notFound();
        logger.info({ ...result, by: c.get('staff').id }, 'supporter erased');
        return c.json(result);
      } catch (err) {
        if (err instanceof RecurringActive) {
          throw new ApiError('recurring_active', `${err.message} (cancelRecurring: true)`, 'cancelRecurring');
        }
        if (err instanceof ErasureRaced) throw new ApiError('conflict', err.message);
        throw stripeFailure(
          err,
          logger,
          'The payment provider did not complete the request; the supporter is not erased yet. Try again: what Stripe did already is not done twice',
        );
      }
    });
}

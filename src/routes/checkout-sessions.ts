import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { requireStripe } from '../checkout/create-checkout.js';
import { startCheckout } from '../checkout/start-checkout.js';
import type { Deps } from '../deps.js';
import { invalid } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { readJsonObject } from '../http/json-body.js';

function idempotencyKeyHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 255 || !/^[\x21-\x7e]+$/.test(value)) {
    throw invalid('Idempotency-Key', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return value;
}

export function checkoutSessionRoutes(deps: Deps) {
  return new Hono<AppEnv>().post('/api/checkout-sessions', async (c) => {
    requireStripe(deps);
    const idempotencyKey = idempotencyKeyHeader(c.req.header('Idempotency-Key'));
    const body = await readJsonObject(c, deps.config.API_BODY_LIMIT_BYTES);
    const { status, body: session } = await startCheckout(deps, {
      body,
      idempotencyKey,
      captchaToken: body.captchaToken,
      ip: clientIp(c, deps.config.TRUST_PROXY),
      logger: c.get('logger'),
    });
    return c.json(session, status);
  });
}

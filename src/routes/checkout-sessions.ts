import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { parseCheckoutRequest } from '../checkout/checkout-request.js';
import { createCheckout, requireStripe } from '../checkout/create-checkout.js';
import type { Deps } from '../deps.js';
import { invalid } from '../errors.js';
import { readJsonObject } from '../http/json-body.js';

function idempotencyKeyHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 255 || !/^[\x21-\x7e]+$/.test(value)) {
    throw invalid('Idempotency-Key', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return value;
}

export function checkoutSessionRoutes(deps: Deps) {
  const { config } = deps;
  const returnOrigins = [new URL(config.PUBLIC_URL).origin, ...config.ALLOWED_RETURN_ORIGINS];
  return new Hono<AppEnv>().post('/api/checkout-sessions', async (c) => {
    requireStripe(deps);
    const key = idempotencyKeyHeader(c.req.header('Idempotency-Key'));
    const request = parseCheckoutRequest(await readJsonObject(c), config.donationOptions, returnOrigins);
    const { status, body } = await createCheckout(deps, request, key, c.get('logger'));
    return c.json(body, status);
  });
}

import { Hono } from 'hono';
import type { AppEnv } from '../src/app-env.js';
import type { Deps } from '../src/deps.js';
import { ApiError } from '../src/errors.js';
import { readBody } from '../src/http/raw-body.js';
import { storeUnreadable } from './events-store.js';
import { EventProcessingError, processEvent } from './process-event.js';
import { SignatureError, verifyStripeSignature } from './signature.js';
import { eventEnvelope, parseEventJson } from './stripe-objects.js';

export function webhookRoutes(deps: Deps) {
  const { config } = deps;
  const tooLarge = (): never => {
    throw new ApiError('payload_too_large', `webhook body must be at most ${config.WEBHOOK_BODY_LIMIT_BYTES} bytes`);
  };
  return new Hono<AppEnv>().post('/webhooks/stripe', async (c) => {
    if (config.STRIPE_WEBHOOK_SECRET.length === 0) {
      throw new ApiError('webhook_unconfigured', 'Webhooks are not configured: set STRIPE_WEBHOOK_SECRET');
    }
    // The raw bytes, before anything decodes or parses them: the signature covers exactly these.
    const bytes = await readBody(c, config.WEBHOOK_BODY_LIMIT_BYTES, tooLarge);
    try {
      verifyStripeSignature(
        bytes,
        c.req.header('stripe-signature'),
        config.STRIPE_WEBHOOK_SECRET,
        Math.floor(deps.clock.now().getTime() / 1000),
        config.WEBHOOK_TOLERANCE_SECONDS,
      );
    } catch (err) {
      if (err instanceof SignatureError) {
        c.get('logger').warn({ problem: err.problem }, 'webhook signature rejected');
        throw new ApiError('invalid_signature', err.message, 'Stripe-Signature');
      }
      throw err;
    }
    const raw = bytes.toString('utf8');
    // Signed, so it came from Stripe's side: answered 2xx even when unreadable, or Stripe retries it
    // for three days; kept as ignored with the reason for whoever looks.
    const unreadable = async (reason: string) => {
      const id = await storeUnreadable(deps.db, raw, deps.clock.now(), reason);
      c.get('logger').warn({ eventId: id, reason }, 'signed webhook body is not a Stripe event; ignored');
      return c.json({ received: true, outcome: 'ignored' as const });
    };
    let json: unknown;
    try {
      json = parseEventJson(raw);
    } catch {
      return unreadable('not valid JSON');
    }
    const event = eventEnvelope.safeParse(json);
    if (!event.success) {
      const fields = [...new Set(event.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ');
      return unreadable(`not a Stripe event (${fields})`);
    }
    try {
      const outcome = await processEvent(deps, event.data, raw);
      return c.json({ received: true, outcome });
    } catch (err) {
      if (err instanceof EventProcessingError) {
        throw new ApiError('event_processing_failed', 'The event could not be recorded; Stripe will retry it');
      }
      throw err;
    }
  });
}

// DEVELOPMENT TOOL: POST /v1/subscriptions/:id as Stripe applies it, for the fields donors change.
import { stripeId } from './objects.js';

type Json = Record<string, any>;

export interface UpdateError {
  status: number;
  error: { type: string; message: string; param?: string; code?: string };
}

const invalid = (message: string, param?: string): UpdateError => ({
  status: 400,
  error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) },
});

const FEEDBACK = new Set([
  'customer_service',
  'low_quality',
  'missing_features',
  'other',
  'switched_service',
  'too_complex',
  'too_expensive',
  'unused',
]);
const PAUSE_BEHAVIORS = new Set(['void', 'keep_as_draft', 'mark_uncollectible']);

/**
 * Applies an update to `sub` in place and answers the previous values of what changed (the
 * event's `data.previous_attributes`), or Stripe's error, leaving `sub` untouched.
 */
export function applySubscriptionUpdate(sub: Json, p: Json, now: number): { previous: Json } | UpdateError {
  const known = new Set([
    'cancel_at_period_end',
    'cancellation_details',
    'pause_collection',
    'items',
    'proration_behavior',
    'metadata',
    'expand',
    'default_payment_method',
  ]);
  for (const key of Object.keys(p)) if (!known.has(key)) return invalid(`Received unknown parameter: ${key}`, key);
  if (
    sub.status === 'canceled' &&
    Object.keys(p).some((k) => !['cancellation_details', 'metadata', 'expand'].includes(k))
  ) {
    return invalid('A canceled subscription can only update its cancellation_details and metadata.');
  }
  const next = structuredClone(sub);
  const item = next.items.data[0];
  if (p.cancel_at_period_end !== undefined) {
    if (p.cancel_at_period_end !== 'true' && p.cancel_at_period_end !== 'false') {
      return invalid('Invalid boolean', 'cancel_at_period_end');
    }
    next.cancel_at_period_end = p.cancel_at_period_end === 'true';
    next.cancel_at = next.cancel_at_period_end ? item.current_period_end : null;
    next.canceled_at = next.cancel_at_period_end ? now : null;
    next.cancellation_details = next.cancel_at_period_end
      ? { ...next.cancellation_details, reason: 'cancellation_requested' }
      : { comment: null, feedback: null, reason: null };
  }
  if (p.cancellation_details !== undefined) {
    const d = p.cancellation_details as Json;
    if (d.feedback !== undefined && d.feedback !== '' && !FEEDBACK.has(d.feedback)) {
      return invalid(`Invalid cancellation_details[feedback]: ${d.feedback}`, 'cancellation_details[feedback]');
    }
    if (typeof d.comment === 'string' && d.comment.length > 5000) {
      return invalid('cancellation_details[comment] is too long', 'cancellation_details[comment]');
    }
    next.cancellation_details = {
      reason: next.cancellation_details?.reason ?? null,
      comment: d.comment === undefined ? (next.cancellation_details?.comment ?? null) : d.comment || null,
      feedback: d.feedback === undefined ? (next.cancellation_details?.feedback ?? null) : d.feedback || null,
    };
  }
  if (p.pause_collection !== undefined) {
    if (p.pause_collection === '') next.pause_collection = null;
    else {
      const pc = p.pause_collection as Json;
      if (!PAUSE_BEHAVIORS.has(pc.behavior))
        return invalid('Invalid pause_collection[behavior]', 'pause_collection[behavior]');
      const resumesAt = pc.resumes_at === undefined ? null : Number(pc.resumes_at);
      if (resumesAt !== null && !(resumesAt > now)) {
        return invalid('pause_collection[resumes_at] must be in the future', 'pause_collection[resumes_at]');
      }
      next.pause_collection = { behavior: pc.behavior, resumes_at: resumesAt };
    }
  }
  if (p.items !== undefined) {
    const change = (p.items as Json[])[0];
    if (!change || change.id !== item.id) return invalid(`No such subscription item: '${change?.id}'`, 'items[0][id]');
    const pd = change.price_data as Json | undefined;
    if (pd) {
      if (!pd.product)
        return invalid('Missing required param: items[0][price_data][product].', 'items[0][price_data][product]');
      if (pd.product_data) return invalid('Received unknown parameter: items[0][price_data][product_data]');
      const amount = Number(pd.unit_amount);
      if (!Number.isInteger(amount) || amount < 0)
        return invalid('Invalid integer', 'items[0][price_data][unit_amount]');
      if (!pd.recurring?.interval) return invalid('Missing required param: items[0][price_data][recurring].');
      if (String(pd.currency).toLowerCase() !== next.currency) {
        return invalid('The price currency must match the subscription currency.', 'items[0][price_data][currency]');
      }
      item.price = {
        id: stripeId('price'),
        object: 'price',
        currency: String(pd.currency).toLowerCase(),
        product: pd.product,
        unit_amount: amount,
        unit_amount_decimal: String(amount),
        recurring: { interval: pd.recurring.interval, interval_count: 1, usage_type: 'licensed' },
        type: 'recurring',
      };
    }
  }
  if (p.default_payment_method !== undefined) next.default_payment_method = p.default_payment_method || null;
  if (p.metadata !== undefined) next.metadata = { ...next.metadata, ...(p.metadata as Json) };

  const previous: Json = {};
  for (const key of Object.keys(next)) {
    if (JSON.stringify(next[key]) !== JSON.stringify(sub[key])) previous[key] = sub[key] ?? null;
  }
  Object.assign(sub, next);
  return { previous };
}

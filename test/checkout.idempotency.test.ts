import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countRows, expectError } from './support/assertions.js';
import { createTestContext, postJson, type TestContext } from './support/harness.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const gift = { frequency: 'monthly', amount: 500, currency: 'usd', campaign: 'newsletter' };
const create = (body: unknown, key: string) =>
  postJson(ctx.app, '/api/checkout-sessions', body, { 'Idempotency-Key': key });

describe('Idempotency-Key on POST /api/checkout-sessions', () => {
  it('the same key and body answer the same session, with one Stripe create', async () => {
    const first = await create(gift, 'box-1');
    expect(first.status).toBe(201);
    const second = await create({ ...gift, currency: 'USD' }, 'box-1');
    expect(second.status).toBe(201);
    expect(await second.json()).toEqual(await first.json());
    expect(ctx.stripe.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(1);
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(1);
  });

  it('the same key with another body -> 409 idempotency_key_reused', async () => {
    expect((await create(gift, 'box-2')).status).toBe(201);
    await expectError(
      await create({ ...gift, amount: 1000 }, 'box-2'),
      409,
      'idempotency_key_reused',
      'Idempotency-Key',
    );
    expect(ctx.stripe.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(1);
  });

  it('different keys make different sessions', async () => {
    await create(gift, 'a');
    await create(gift, 'b');
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(2);
  });

  it('concurrent requests with one key create one session; the others replay it or are told to retry', async () => {
    ctx.stripe.failNext({ delayMs: 200 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => create(gift, 'race')));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    for (const r of answers.filter((a) => a.status === 409)) {
      await expectError(r, 409, 'idempotency_request_in_progress', 'Idempotency-Key');
    }
    expect(ctx.stripe.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(1);
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(1);
  });

  it('a retry after a failed attempt reuses the Stripe idempotency key and succeeds', async () => {
    ctx.stripe.failNext({ status: 500 });
    await expectError(await create(gift, 'retry-me'), 502, 'payment_provider_error');
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(0);
    ctx.clock.advance(5_000);
    const retried = await create(gift, 'retry-me');
    expect(retried.status).toBe(201);
    const keys = ctx.stripe.requestsTo('POST', '/v1/checkout/sessions').map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(1);
  });

  it('a retry after a timeout gets the session Stripe made meanwhile, not a second one', async () => {
    ctx.rebuild({ STRIPE_TIMEOUT_MS: '200' });
    // Stripe creates the session but answers after we have given up.
    ctx.stripe.failNext({ delayMs: 500 });
    await expectError(await create(gift, 'slow'), 504, 'payment_provider_timeout');
    await new Promise((r) => setTimeout(r, 400));
    ctx.clock.advance(60_000);
    const retried = await create(gift, 'slow');
    expect(retried.status).toBe(201);
    expect(retried.headers.get('content-type')).toMatch(/json/);
    expect(ctx.stripe.sessions.size).toBe(1);
    const [session] = ctx.stripe.sessions.keys();
    expect((await retried.json()).id).toBe(session);
    ctx.rebuild();
  });

  it('a key older than IDEMPOTENCY_KEY_TTL_HOURS may be used for a new request', async () => {
    expect((await create(gift, 'old')).status).toBe(201);
    ctx.clock.advance(25 * 3600_000);
    const reused = await create({ ...gift, amount: 2000 }, 'old');
    expect(reused.status).toBe(201);
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(2);
  });
});

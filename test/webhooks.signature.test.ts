import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectError } from './support/assertions.js';
import { createTestContext, TEST_NOW, type TestContext } from './support/harness.js';
import { type Served, serveApp } from './support/http-server.js';
import { checkoutSession, deliver, event, signedHeader } from './support/stripe-events.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const NOW = Date.parse(TEST_NOW) / 1000;
const sample = () =>
  event(
    'checkout.session.completed',
    checkoutSession({
      id: 'cs_test_sig',
      mode: 'payment',
      paymentStatus: 'paid',
      amount: 500,
      email: 'reader@example.org',
      customer: 'cus_sig',
      paymentIntent: 'pi_sig',
    }),
    { created: NOW - 5 },
  );

async function storedEvents() {
  return ctx.database.db.selectFrom('stripe_events').selectAll().execute();
}

describe('POST /webhooks/stripe: signature', () => {
  it('accepts an event signed as Stripe signs it', async () => {
    const res = await deliver(ctx.app, sample(), { timestamp: NOW });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: 'processed' });
    expect(await storedEvents()).toHaveLength(1);
  });

  it.each([
    ['a missing header', { header: null }, /missing/],
    ['a malformed header', { header: 'not-a-signature' }, /no timestamp or no v1/],
    ['a header without v1', { header: `t=${NOW}` }, /no timestamp or no v1/],
    ['the wrong secret', { secret: 'whsec_someone_else' }, /No Stripe-Signature matches/],
    ['a timestamp 301 s old', { timestampOffset: -301 }, /tolerance/],
    ['a timestamp 301 s ahead', { timestampOffset: 301 }, /tolerance/],
  ])('rejects %s with 400 and stores nothing', async (_name, o, message) => {
    const opts = o as { header?: string | null; secret?: string; timestampOffset?: number };
    const res = await deliver(ctx.app, sample(), {
      timestamp: NOW + (opts.timestampOffset ?? 0),
      ...(opts.secret ? { secret: opts.secret } : {}),
      ...(opts.header !== undefined ? { header: opts.header } : {}),
    });
    const error = await expectError(res, 400, 'invalid_signature', 'Stripe-Signature');
    expect(error.message).toMatch(message);
    expect(await storedEvents()).toHaveLength(0);
  });

  it('rejects a body changed after signing', async () => {
    const payload = JSON.stringify(sample());
    const header = signedHeader(payload, undefined, NOW);
    const tampered = payload.replace('"amount_total":500', '"amount_total":50000');
    expect(tampered).not.toBe(payload);
    await expectError(
      await deliver(ctx.app, tampered, { timestamp: NOW, header }),
      400,
      'invalid_signature',
      'Stripe-Signature',
    );
    expect(await storedEvents()).toHaveLength(0);
  });

  it('accepts the old and the new secret during a rotation, and any matching v1 entry', async () => {
    ctx.rebuild({ STRIPE_WEBHOOK_SECRET: 'whsec_new_secret,whsec_test_secret' });
    expect((await deliver(ctx.app, sample(), { timestamp: NOW, secret: 'whsec_test_secret' })).status).toBe(200);
    expect((await deliver(ctx.app, sample(), { timestamp: NOW, secret: 'whsec_new_secret' })).status).toBe(200);
    // Stripe signs with both secrets while a roll is under way: two v1 entries, one of them ours.
    const payload = JSON.stringify(sample());
    const v1 = (secret: string) => createHmac('sha256', secret).update(`${NOW}.${payload}`).digest('hex');
    const header = `t=${NOW},v1=${v1('whsec_unknown')},v1=${v1('whsec_new_secret')}`;
    expect((await deliver(ctx.app, payload, { timestamp: NOW, header })).status).toBe(200);
    ctx.rebuild();
  });

  it('answers 503 when no secret is configured: verification is never skipped', async () => {
    ctx.rebuild({ STRIPE_WEBHOOK_SECRET: undefined });
    const error = await expectError(await deliver(ctx.app, sample(), { timestamp: NOW }), 503, 'webhook_unconfigured');
    expect(error.message).toContain('STRIPE_WEBHOOK_SECRET');
    expect(await storedEvents()).toHaveLength(0);
    ctx.rebuild();
  });

  it('answers 413 for a body over 1 MB', async () => {
    const big = sample();
    big.data.object.metadata = { ...big.data.object.metadata, padding: 'x'.repeat(1_100_000) };
    await expectError(await deliver(ctx.app, big, { timestamp: NOW }), 413, 'payload_too_large');
    expect(await storedEvents()).toHaveLength(0);
  });

  it('acknowledges a signed body that is not a Stripe event, recorded as ignored with the reason and without the body', async () => {
    for (const body of ['{"hello":"world"}', 'not json', '{"hello":"world"}']) {
      const res = await deliver(ctx.app, body, { timestamp: NOW });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true, outcome: 'ignored' });
    }
    const rows = await ctx.database.db
      .selectFrom('stripe_events')
      .select(['id', 'type', 'outcome', 'error', 'payload'])
      .orderBy('error')
      .execute();
    // The same body twice is one row.
    expect(rows).toEqual([
      {
        id: expect.stringMatching(/^unreadable_[0-9a-f]{32}$/),
        type: 'unreadable',
        outcome: 'ignored',
        error: 'not a Stripe event (id, type, created, livemode, data)',
        payload: null,
      },
      {
        id: expect.stringMatching(/^unreadable_[0-9a-f]{32}$/),
        type: 'unreadable',
        outcome: 'ignored',
        error: 'not valid JSON',
        payload: null,
      },
    ]);
  });
});

describe('POST /webhooks/stripe over a real HTTP server (the body read from Node directly)', () => {
  let served: Served;
  let url: string;
  beforeAll(async () => {
    served = await serveApp(ctx.app);
    url = `${served.base}/webhooks/stripe`;
  });
  afterAll(() => served.close());

  const post = (payload: string, body: BodyInit = payload) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signedHeader(payload, undefined, NOW) },
      body,
      duplex: 'half',
    } as RequestInit);

  it('records a signed event, multi-byte text intact', async () => {
    const e = sample();
    e.data.object.customer_details = { ...e.data.object.customer_details, name: 'Анна Смирнова 🌻' };
    const res = await post(JSON.stringify(e));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, outcome: 'processed' });
    const supporter = await ctx.database.db.selectFrom('supporters').select('name').executeTakeFirst();
    expect(supporter?.name).toBe('Анна Смирнова 🌻');
  });

  it('answers 413 past the limit, declared or streamed without a length, and stores nothing', async () => {
    const big = sample();
    big.data.object.metadata = { ...big.data.object.metadata, padding: 'x'.repeat(1_100_000) };
    const payload = JSON.stringify(big);
    await expectError(await post(payload), 413, 'payload_too_large');
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(payload);
        for (let i = 0; i < bytes.length; i += 64_000) controller.enqueue(bytes.subarray(i, i + 64_000));
        controller.close();
      },
    });
    await expectError(await post(payload, chunked), 413, 'payload_too_large');
    expect(await storedEvents()).toHaveLength(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeEmulator } from '../src/dev/stripe-emulator/server.js';
import { freshDataDir } from './support/data-dir.js';
import { oneOff } from './support/histories.js';
import { childEnv, logLines, runTs, startServer } from './support/processes.js';
import { signedHeader } from './support/stripe-events.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

const WEBHOOK_SECRET = 'whsec_faults';

describe('PostgreSQL going away and coming back (a real server behind a TCP proxy)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let stripe: StripeEmulator;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await TcpProxy.forDatabase(database.url).start();
    stripe = await new StripeEmulator().start();
    env = childEnv({
      DATABASE_URL: proxy.databaseUrl(database.url),
      DATABASE_CONNECT_TIMEOUT_MS: '500',
      DATABASE_STARTUP_TIMEOUT_MS: '20000',
      STRIPE_SECRET_KEY: 'sk_test_faults',
      STRIPE_API_URL: stripe.url,
      STRIPE_MAX_RETRIES: '0',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      REMINDER_SWEEP_INTERVAL_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await proxy.stop();
    await stripe.stop();
    await database.close();
  });

  it('while the database is away: health 503, webhooks 5xx (Stripe retries), checkout 503; then it recovers by itself', async () => {
    const server = await startServer(env);
    try {
      const checkout = () =>
        fetch(`${server.url}/api/checkout-sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ frequency: 'once', amount: 500, currency: 'usd' }),
        });
      const [e] = oneOff(1, Math.floor(Date.now() / 1000)).events;
      const payload = JSON.stringify(e);
      const webhook = () =>
        fetch(`${server.url}/webhooks/stripe`, {
          method: 'POST',
          headers: { 'stripe-signature': signedHeader(payload, WEBHOOK_SECRET, Math.floor(Date.now() / 1000)) },
          body: payload,
        });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);

      proxy.cut();
      expect((await fetch(`${server.url}/health`)).status).toBe(503);
      const hook = await webhook();
      expect(hook.status).toBeGreaterThanOrEqual(500);
      const co = await checkout();
      expect(co.status).toBe(503);
      expect((await co.json()).error.code).toBe('database_unavailable');

      proxy.restore();
      let health = 0;
      for (let i = 0; i < 50 && health !== 200; i++) {
        health = (await fetch(`${server.url}/health`)).status;
        if (health !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(health).toBe(200);
      expect((await checkout()).status).toBe(201);
      // Stripe's retry of the webhook now lands, exactly once.
      expect((await webhook()).status).toBe(200);
      const gifts = await database.db.selectFrom('gifts').selectAll().execute();
      expect(gifts).toHaveLength(1);
    } finally {
      const code = await server.stop();
      expect(code, server.output()).toBe(0);
    }
  });

  it('a database that stops answering without closing the connection: 503 within the query timeout, then normal service', async () => {
    const server = await startServer({
      ...env,
      DATABASE_QUERY_TIMEOUT_MS: '1000',
      DATABASE_STATEMENT_TIMEOUT_MS: '800',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    try {
      const checkout = () =>
        fetch(`${server.url}/api/checkout-sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ frequency: 'once', amount: 500, currency: 'usd' }),
        });
      const [e] = oneOff(2, Math.floor(Date.now() / 1000)).events;
      const payload = JSON.stringify(e);
      const webhook = () =>
        fetch(`${server.url}/webhooks/stripe`, {
          method: 'POST',
          headers: { 'stripe-signature': signedHeader(payload, WEBHOOK_SECRET, Math.floor(Date.now() / 1000)) },
          body: payload,
        });
      const timed = async (request: () => Promise<Response>) => {
        const started = Date.now();
        const res = await request();
        return { status: res.status, body: await res.text(), ms: Date.now() - started };
      };
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await checkout()).status).toBe(201);

      // Seen: with the connection swallowed, requests hung for as long as the socket stayed open.
      proxy.blackhole();
      const health = await timed(() => fetch(`${server.url}/health`));
      expect(health.status).toBe(503);
      expect(health.ms).toBeLessThan(4000);
      const co = await timed(checkout);
      expect(co.status).toBe(503);
      expect(JSON.parse(co.body).error.code).toBe('database_unavailable');
      expect(co.ms).toBeLessThan(4000);
      // With an Idempotency-Key (as the page sends one), the failed attempt's clean-up waits no longer.
      const keyed = await timed(() =>
        fetch(`${server.url}/api/checkout-sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'dead-connection-1' },
          body: JSON.stringify({ frequency: 'once', amount: 500, currency: 'usd' }),
        }),
      );
      expect(keyed.status).toBe(503);
      expect(keyed.ms).toBeLessThan(4000);
      const hook = await timed(webhook);
      expect(hook.status).toBe(500);
      expect(hook.ms).toBeLessThan(6000);

      proxy.restore();
      const statuses: number[] = [];
      for (let i = 0; i < 40 && statuses.slice(-3).join() !== '200,200,200'; i++) {
        statuses.push((await fetch(`${server.url}/health`)).status);
      }
      expect(statuses.slice(-3)).toEqual([200, 200, 200]);
      expect((await checkout()).status).toBe(201);
      expect((await webhook()).status).toBe(200);
      expect(
        await database.db
          .selectFrom('gifts')
          .select('id')
          .where('stripe_checkout_session_id', '=', 'cs_test_once2')
          .execute(),
      ).toHaveLength(1);
    } finally {
      const code = await server.stop();
      expect(code, server.output()).toBe(0);
    }
  });

  it('at start-up it waits, with backoff, for a database that comes up late', async () => {
    proxy.cut();
    setTimeout(() => proxy.restore(), 1500);
    const started = Date.now();
    const server = await startServer(env);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it('and gives up with one clear line when it never comes', async () => {
    proxy.cut();
    const result = await runTs('src/server.ts', [], { ...env, DATABASE_STARTUP_TIMEOUT_MS: '1000' });
    proxy.restore();
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^reader-donations: error: could not reach PostgreSQL at 127\.0\.0\.1:\d+\/rd_test_\w+ within 1\.0 s/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('SIGTERM', () => {
  /** A server on its own embedded database, whose next two Stripe calls take 1.5 s each. */
  async function serverWithSlowStripe(stripe: StripeEmulator, extra: Record<string, string> = {}) {
    const server = await startServer(
      childEnv({
        DATA_DIR: freshDataDir('rd-term-'),
        STRIPE_SECRET_KEY: 'sk_test_term',
        STRIPE_API_URL: stripe.url,
        REMINDER_SWEEP_INTERVAL_SECONDS: '0',
        ...extra,
      }),
    );
    stripe.failNext({ delayMs: 1500 }, 2);
    return server;
  }
  const checkout = (url: string, signal?: AbortSignal) =>
    fetch(`${url}/api/checkout-sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ frequency: 'once', amount: 500, currency: 'usd' }),
      ...(signal ? { signal } : {}),
    });

  it('finishes a request in flight, then exits 0', async () => {
    const stripe = await new StripeEmulator().start();
    const server = await serverWithSlowStripe(stripe);
    try {
      const inFlight = checkout(server.url);
      await new Promise((r) => setTimeout(r, 300));
      const exit = server.stop();
      const res = await inFlight;
      expect(res.status).toBe(201);
      // The client keeps the connection alive; the server closes it once idle instead of waiting
      // for the client to let go (about 3 s here), so the process is gone well before that.
      const answered = performance.now();
      expect(await exit).toBe(0);
      expect(performance.now() - answered).toBeLessThan(1500);
    } finally {
      await stripe.stop();
    }
  });

  it('lets a handler whose client hung up finish before closing the database', async () => {
    const stripe = await new StripeEmulator().start();
    const server = await serverWithSlowStripe(stripe, { LOG_LEVEL: 'info' });
    try {
      const client = new AbortController();
      const abandoned = checkout(server.url, client.signal).catch((err: unknown) => err);
      await new Promise((r) => setTimeout(r, 300));
      client.abort();
      await abandoned;
      expect(await server.stop()).toBe(0);
      // The handler ran to the end: its session was created and recorded, and nothing met a closed pool.
      expect(stripe.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(1);
      const lines = logLines(server.output());
      expect(
        lines.some((l) => l.msg === 'request' && l.status === 201),
        server.output(),
      ).toBe(true);
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await stripe.stop();
    }
  });

  it('a request that arrives on a kept-alive connection while stopping also finishes before the database closes', async () => {
    const stripe = await new StripeEmulator().start();
    const server = await serverWithSlowStripe(stripe, { LOG_LEVEL: 'info' });
    const { connect } = await import('node:net');
    const { port } = new URL(server.url);
    const body = JSON.stringify({ frequency: 'once', amount: 500, currency: 'usd' });
    const request = `POST /api/checkout-sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    try {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {}); // the server may close it first; what matters is what it ran
      await new Promise((r) => socket.once('connect', r));
      // The first answer arrives while stopping; the second request follows on the same connection at
      // once, then its client goes away before Stripe answers.
      const firstAnswer = new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write(request);
      await new Promise((r) => setTimeout(r, 300));
      const exit = server.stop();
      await firstAnswer;
      socket.write(request);
      await new Promise((r) => setTimeout(r, 300));
      socket.destroy();
      expect(await exit).toBe(0);
      const lines = logLines(server.output());
      // Every request that reached Stripe ran to its end. (On a loaded machine the second request can
      // miss the 50 ms before its idle connection is closed; then there is one of each.)
      const calls = stripe.requestsTo('POST', '/v1/checkout/sessions').length;
      expect(calls).toBeGreaterThanOrEqual(1);
      expect(
        lines.filter((l) => l.msg === 'request' && l.status === 201),
        server.output(),
      ).toHaveLength(calls);
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await stripe.stop();
    }
  });
});

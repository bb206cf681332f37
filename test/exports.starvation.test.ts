import { connect, type Socket } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/connect.js';
import { createApp } from '../src/app.js';
import { buildDeps } from '../src/build-deps.js';
import { fixedClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { StripeEmulator } from '../src/dev/stripe-emulator/server.js';
import { createLogger } from '../src/logger.js';
import { createStaffToken } from '../src/staff/tokens.js';
import { baseEnv, TEST_NOW } from './support/harness.js';
import { oneOff } from './support/histories.js';
import { type Served, serveApp } from './support/http-server.js';
import { signedHeader } from './support/stripe-events.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

const GIFTS = 120_000;

/**
 * Seen: ten gifts.csv downloads reading at 2 KB/s held ten pool connections; /health answered 503,
 * checkout 503 after 5 s, a webhook 500 after 10 s. On PostgreSQL the service reaches its database
 * through a TCP relay, as across a network.
 */
describe('exports cannot starve the service', () => {
  let database: TestDatabase;
  let proxy: TcpProxy | undefined;
  let stripe: StripeEmulator;
  let served: Served;
  let token: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    database = await createTestDatabase();
    await sql`insert into gifts (id, frequency, amount, currency, payment_state, paid_at, created_at, updated_at)
      select md5(i::text)::uuid, 'once', 500 + i % 1000, 'usd', 'succeeded',
        timestamptz '2026-01-01' + i * interval '1 second', now(), now()
      from generate_series(1, ${GIFTS}::int) i`.execute(database.db);
    stripe = await new StripeEmulator().start();
    const env = {
      ...baseEnv(stripe.url),
      EXPORT_CONCURRENCY: '2',
      EXPORT_STALL_TIMEOUT_MS: '4000',
      LOG_LEVEL: 'silent',
    };
    proxy = await TcpProxy.forDatabase(database.url).start();
    const handle = openDatabase({
      url: proxy.databaseUrl(database.url),
      poolSize: 4,
      connectTimeoutMs: 5000,
      exportConnections: 2,
    });
    const deps = buildDeps(
      loadConfig(env),
      handle,
      fixedClock(TEST_NOW),
      createLogger(process.env.DBG ? 'debug' : 'silent'),
    );
    token = (await createStaffToken(database.db, 'Finance', 'finance', new Date(TEST_NOW))).token;
    served = await serveApp(createApp(deps));
    close = async () => {
      await served.close();
      await handle.close();
    };
  });
  afterAll(async () => {
    await close();
    await proxy?.stop();
    await stripe.stop();
    await database.close();
  });

  /** A download whose client asks and then reads nothing. */
  function stalledDownload(): Promise<Socket> {
    const { port } = new URL(served.base);
    return new Promise((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`GET /admin/exports/gifts.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
        socket.pause();
        resolve(socket);
      });
    });
  }

  /** What the socket still gets, up to its end: bytes, and gift rows (each has ",once,"). */
  const rest = (socket: Socket) =>
    new Promise<{ bytes: number; rows: number }>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        resolve({ bytes: text.length, rows: text.split(',once,').length - 1 });
      });
      socket.resume();
    });

  it('two stalled downloads hold two export slots; the third waits for none; checkout, webhooks and health go on; the stalled are cut off', {
    timeout: 120_000,
  }, async () => {
    // A HEAD (which Hono serves with the GET route) starts no export and holds no slot.
    for (let i = 0; i < 3; i++) {
      const head = await fetch(`${served.base}/admin/exports/gifts.csv`, {
        method: 'HEAD',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(head.status).toBe(200);
    }
    const sockets = [await stalledDownload(), await stalledDownload()];
    // Both have started (each writes its audit row first) and sent what the connection would take.
    const started = () =>
      database.db.selectFrom('audit_log').select('id').where('endpoint', '=', '/admin/exports/gifts.csv').execute();
    for (let i = 0; i < 100 && (await started()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await started()).toHaveLength(2);

    const busy = await fetch(`${served.base}/admin/exports/gifts.csv`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('30');
    expect((await busy.json()).error.code).toBe('export_busy');

    const timed = async (request: Promise<Response>) => {
      const started = Date.now();
      const res = await request;
      await res.arrayBuffer();
      return { status: res.status, ms: Date.now() - started };
    };
    const [e] = oneOff(1, Date.parse(TEST_NOW) / 1000).events;
    const payload = JSON.stringify(e);
    const now = Date.parse(TEST_NOW) / 1000;
    const results = await Promise.all([
      timed(fetch(`${served.base}/health`)),
      timed(
        fetch(`${served.base}/api/checkout-sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ frequency: 'once', amount: 500, currency: 'usd' }),
        }),
      ),
      timed(
        fetch(`${served.base}/webhooks/stripe`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': signedHeader(payload, undefined, now) },
          body: payload,
        }),
      ),
    ]);
    // Waiting behind the exports would mean a pool connection's wait (DATABASE_CONNECT_TIMEOUT_MS,
    // 5 s) and then a 503; the bound only tells that apart, on a loaded machine too.
    expect(results.map((r) => r.status)).toEqual([200, 201, 200]);
    for (const r of results) expect(r.ms).toBeLessThan(4000);

    // Past EXPORT_STALL_TIMEOUT_MS the stalled downloads are cut off, short of the whole file.
    const audited = () =>
      database.db
        .selectFrom('audit_log')
        .select(['row_count', 'completed'])
        .where('endpoint', '=', '/admin/exports/gifts.csv')
        .where('row_count', 'is not', null)
        .execute();
    for (let i = 0; i < 200 && (await audited()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const received = await Promise.all(sockets.map(rest));
    const audit = await audited();
    expect(audit).toHaveLength(2);
    for (const row of audit) expect(row.completed).toBe(false);
    // Seen: a cut-off export's audit row said 0 rows. It says what went to the connection: at least
    // what the client got, and no more than that plus what was still in the server's buffers.
    const counted = audit.map((a) => a.row_count!).sort((a, b) => a - b);
    const got = received.map((r) => r.rows).sort((a, b) => a - b);
    for (const [i, rows] of got.entries()) {
      expect(rows).toBeGreaterThan(0);
      expect(rows).toBeLessThan(GIFTS);
      expect(counted[i]! + 1).toBeGreaterThanOrEqual(rows);
      expect(counted[i]! - rows).toBeLessThan(2000);
    }

    // Their slots and connections are back: a download that reads gets the whole file.
    const whole = await fetch(`${served.base}/admin/exports/gifts.csv`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(whole.status).toBe(200);
    // The header, every gift (the webhook's too), and the empty string after the last CRLF.
    const lines = (await whole.text()).split('\r\n');
    expect(lines).toHaveLength(1 + GIFTS + 1 + 1);
  });
});

import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientNetwork, normaliseAddress } from '../src/http/client-ip.js';
import { smtpTls } from '../src/reminders/smtp-tls.js';
import { countRows, expectError } from './support/assertions.js';
import { createTestContext, postJson, TEST_NOW, type TestContext } from './support/harness.js';
import { bearer, parseCsv, staffToken } from './support/staff.js';
import { charge, deliver, dispute, event, WEBHOOK_SECRET } from './support/stripe-events.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ TRUST_PROXY: '1', REMINDER_RATE_LIMIT_PER_IP: '3' });
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const NOW = Date.parse(TEST_NOW) / 1000;
const reminders = () => ctx.database.db.selectFrom('reminders').selectAll().orderBy('created_at').execute();
const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  ctx.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });

describe('cross-site requests', () => {
  const remind = { email: 'target@example.org', consent: '1', when: 'week' };

  it.each([
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['Origin: null from a foreign context', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
    ['no Origin, Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
  ])('every form route refuses %s with 403 cross_site_request, and records nothing', async (_, headers) => {
    // Seen: POST /donate/remind with Origin: https://evil.example answered 200 and queued a reminder.
    for (const [path, fields] of [
      ['/donate/remind', remind],
      ['/donate/not-now', {}],
      ['/donate', { frequency: 'once', amount: '500', currency: 'usd' }],
      ['/reminders/cancel', { token: 'x'.repeat(43) }],
    ] as const) {
      await expectError(await form(path, fields, headers), 403, 'cross_site_request');
    }
    expect(await reminders()).toEqual([]);
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(0);
    expect(ctx.stripe.requests).toEqual([]);
  });

  it.each([
    ['this service', { origin: 'https://donate.newsroom.test' }],
    ['an allowed origin', { origin: 'https://news.example' }],
    ['our own page under a referrer policy that hides it', { origin: 'null', 'sec-fetch-site': 'same-origin' }],
    ['a server or curl (no Origin, no Sec-Fetch-Site)', {}],
  ])('a form post from %s goes through', async (_, headers) => {
    expect((await form('/donate/remind', remind, { ...headers, 'x-forwarded-for': '198.51.100.4' })).status).toBe(200);
    expect((await reminders()).map((r) => r.email)).toEqual(['target@example.org']);
  });

  it('JSON routes take JSON only: 415 unsupported_media_type, nothing recorded', async () => {
    // Seen: POST /api/reminders with Content-Type: text/plain from a foreign origin answered 201.
    const admin = await staffToken(ctx, 'admin');
    for (const [path, body, headers] of [
      ['/api/reminders', { email: 'target@example.org', consent: true }, {}],
      ['/api/checkout-sessions', { frequency: 'once', amount: 500, currency: 'usd' }, {}],
      ['/api/reminders/cancel', { token: 'x'.repeat(43) }, {}],
      ['/admin/tokens', { name: 'x', role: 'admin' }, bearer(admin)],
      ['/admin/supporters/erase', { email: 'target@example.org' }, bearer(admin)],
    ] as const) {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const res = await ctx.app.request(path, {
          method: 'POST',
          headers: { 'content-type': type, origin: 'https://evil.example', ...headers },
          body: JSON.stringify(body),
        });
        await expectError(res, 415, 'unsupported_media_type');
      }
    }
    expect(await reminders()).toEqual([]);
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(0);
    // With its charset, JSON is JSON.
    const ok = await postJson(
      ctx.app,
      '/api/reminders',
      { email: 'target@example.org', consent: true },
      {
        'content-type': 'application/json; charset=utf-8',
      },
    );
    expect(ok.status).toBe(201);
  });

  it('a malformed multipart body on a form route is a 400, not a 500', async () => {
    const res = await ctx.app.request('/donate/remind', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zzz' },
      body: '--zzz\r\nContent-Disposition: form-data; name="email"\r\n\r\nbroken',
    });
    await expectError(res, 400, 'invalid_request');
  });
});

describe('reminders', () => {
  it('a later sign-up may move the date, never the consent on record', async () => {
    const signUp = (consentVersion: string, remindAt: string) =>
      postJson(ctx.app, '/api/reminders', { email: 'Reader@example.org', consent: true, consentVersion, remindAt });
    expect((await signUp('box-1', '2026-12-10')).status).toBe(201);
    ctx.clock.advance(3_600_000);
    expect((await signUp('box-2', '2026-12-20')).status).toBe(201);
    const [row] = await reminders();
    expect(row).toMatchObject({ consent_version: 'box-1', consented_at: new Date(TEST_NOW) });
    expect(row?.remind_at).toEqual(new Date('2026-12-20T09:00:00Z'));
  });
});

describe('rate-limit identity', () => {
  const signUp = (ip: string, n: number) =>
    postJson(ctx.app, '/api/reminders', { readerId: `reader-${n}-0123456789ab` }, { 'x-forwarded-for': ip });
  const counters = () => ctx.database.db.selectFrom('rate_limit_counters').selectAll().execute();

  it('IPv6 clients count per /64: six addresses of one /64 pass a limit of 3 no more', async () => {
    const statuses: number[] = [];
    for (let n = 1; n <= 6; n++) statuses.push((await signUp(`2001:db8:1:2::${n}`, n)).status);
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429]);
    expect((await signUp('2001:db8:1:3::1', 7)).status).toBe(201);
  });

  it('one address written four ways is one counter; ports are dropped; IPv4-mapped IPv6 is its IPv4', async () => {
    for (const [n, ip] of ['2001:DB8::9', '2001:db8:0:0:0:0:0:9', '[2001:db8::9]:443'].entries()) {
      expect((await signUp(ip, n)).status).toBe(201);
    }
    expect((await signUp('2001:0db8:0000::0009', 3)).status).toBe(429);
    expect(await counters()).toHaveLength(1);
    await ctx.reset();
    for (const [n, ip] of ['192.0.2.5:1', '192.0.2.5:2', '::ffff:c000:205'].entries()) {
      expect((await signUp(ip, n)).status).toBe(201);
    }
    expect((await signUp('::ffff:192.0.2.5', 3)).status).toBe(429);
    expect(await counters()).toHaveLength(1);
  });

  it('a forwarded hop that is not an IP address is ignored in favour of the socket address', async () => {
    expect((await signUp('not-an-address', 1)).status).toBe(201);
    expect((await signUp('203.0.113.9, <script>', 2)).status).toBe(201);
    // In-process requests have no socket: both counted as the one unknown client, not as what they claimed.
    expect(await counters()).toHaveLength(1);
    expect(normaliseAddress('not-an-address')).toBeUndefined();
  });

  it.each([
    ['192.0.2.5', '192.0.2.5', '192.0.2.5'],
    ['192.0.2.5:8080', '192.0.2.5', '192.0.2.5'],
    ['::ffff:c000:205', '192.0.2.5', '192.0.2.5'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '2001:db8::/64'],
    ['fe80::1%eth0', 'fe80::1', 'fe80::/64'],
    ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff', '2001:db8:aaaa:bbbb::/64'],
  ])('%s is %s, counted as %s', (raw, address, network) => {
    expect(normaliseAddress(raw)).toBe(address);
    expect(clientNetwork(address)).toBe(network);
  });
});

describe('webhooks', () => {
  it('the signature is checked on the raw bytes, not on their UTF-8 decoding', async () => {
    // A name with a byte that is not UTF-8: decoded, it becomes U+FFFD, and an HMAC over the
    // decoded text would not match what Stripe signed.
    const e = event('customer.created', { id: 'cus_bytes', object: 'customer', name: 'NAME' }, { created: NOW });
    const [before, after] = JSON.stringify(e).split('NAME');
    const bytes = Buffer.concat([Buffer.from(before!), Buffer.from([0x41, 0xff, 0x42]), Buffer.from(after!)]);
    const sign = (payload: Buffer | string) =>
      `t=${NOW},v1=${createHmac('sha256', WEBHOOK_SECRET).update(`${NOW}.`).update(payload).digest('hex')}`;
    const post = (signature: string) =>
      ctx.app.request('/webhooks/stripe', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body: bytes,
      });
    expect((await post(sign(bytes))).status).toBe(200);
    await expectError(await post(sign(bytes.toString('utf8'))), 400, 'invalid_signature', 'Stripe-Signature');
  });

  it("another shop's refund and dispute are ignored: nothing recorded (seen: recorded, with a Stripe call each)", async () => {
    ctx.stripe.paymentIntents.set('pi_shop', { id: 'pi_shop', object: 'payment_intent', metadata: { order: '7' } });
    const refund = event(
      'charge.refunded',
      charge({ id: 'ch_shop', paymentIntent: 'pi_shop', customer: 'cus_shop', amount: 900, amountRefunded: 900 }),
      { created: NOW },
    );
    const opened = event(
      'charge.dispute.created',
      dispute({ id: 'dp_shop', charge: 'ch_shop', paymentIntent: 'pi_shop', amount: 900, status: 'needs_response' }),
      { created: NOW },
    );
    for (const e of [refund, opened]) {
      expect(await (await deliver(ctx.app, e, { timestamp: NOW })).json()).toEqual({
        received: true,
        outcome: 'ignored',
      });
    }
    expect(await ctx.database.db.selectFrom('payment_adjustments').selectAll().execute()).toEqual([]);
    const reasons = await ctx.database.db.selectFrom('stripe_events').select('error').execute();
    expect(reasons).toEqual([
      { error: 'payment not made through reader-donations' },
      { error: 'payment not made through reader-donations' },
    ]);
  });
});

describe('staff access', () => {
  it('token create, list and revoke are audited; refused staff requests log the client address', async () => {
    const admin = await staffToken(ctx, 'admin', 'Ops');
    const headers = { ...bearer(admin), 'x-forwarded-for': '198.51.100.20' };
    const created = await postJson(ctx.app, '/admin/tokens', { name: 'Laptop', role: 'finance' }, headers);
    const { id } = await created.json();
    await ctx.app.request('/admin/tokens', { headers });
    await ctx.app.request(`/admin/tokens/${id}/revoke`, { method: 'POST', headers });
    const audit = await ctx.database.db
      .selectFrom('audit_log')
      .select(['endpoint', 'filters', 'client_ip', 'token_name'])
      .orderBy('created_at')
      .execute();
    expect(audit.map((a) => a.endpoint).sort()).toEqual([
      '/admin/tokens',
      '/admin/tokens',
      `/admin/tokens/${id}/revoke`,
    ]);
    expect(audit.every((a) => a.client_ip === '198.51.100.20' && a.token_name === 'Ops')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain('rdt_');

    ctx.logs.length = 0;
    await ctx.app.request('/admin/summary', { headers: { 'x-forwarded-for': '203.0.113.66' } });
    const finance = await staffToken(ctx, 'finance');
    await ctx.app.request('/admin/audit', { headers: { ...bearer(finance), 'x-forwarded-for': '203.0.113.67' } });
    const refused = ctx.logs.filter((l) => l.msg === 'staff access refused');
    expect(refused.map((l) => l.clientIp)).toEqual(['203.0.113.66', '203.0.113.67']);
    expect(JSON.stringify(refused)).not.toContain('rdt_');
  });
});

describe('checkout', () => {
  it('sends Stripe the return URLs in their normalised form', async () => {
    const res = await postJson(ctx.app, '/api/checkout-sessions', {
      frequency: 'once',
      amount: 500,
      currency: 'usd',
      successUrl: 'HTTPS://News.Example/a/../thanks/{CHECKOUT_SESSION_ID}',
      cancelUrl: 'https://news.example:443/give again',
    });
    expect(res.status).toBe(201);
    const [request] = ctx.stripe.requestsTo('POST', '/v1/checkout/sessions');
    expect(request?.params.success_url).toBe('https://news.example/thanks/{CHECKOUT_SESSION_ID}');
    expect(request?.params.cancel_url).toBe('https://news.example/give%20again');
  });
});

describe('exports that end, with every row once', () => {
  it('pages on the database’s own precision: rows it timestamped itself, microseconds apart, each come once', async () => {
    // Seen: 3,000 supporters written by the database made a capped read of supporters.csv 113,112 rows.
    const n = 3000;
    await sql`insert into supporters (id, email, name, stripe_customer_ids, created_at, updated_at)
      select md5('s' || i)::uuid, 'reader' || i || '@example.org', null, '{}',
        timestamptz '2026-01-01 00:00:00.123' + (i % 7) * interval '1 microsecond', now()
      from generate_series(1, ${n}::int) i`.execute(ctx.database.db);
    await sql`insert into gifts (id, supporter_id, frequency, amount, currency, payment_state, paid_at, created_at, updated_at)
      select md5('g' || i)::uuid, md5('s' || i)::uuid, 'once', 500, 'usd', 'succeeded',
        timestamptz '2026-02-01 00:00:00.456' + (i % 5) * interval '1 microsecond', now(), now()
      from generate_series(1, ${n}::int) i`.execute(ctx.database.db);
    await sql`insert into reminders (id, kind, reader_id, remind_at, status, created_at, updated_at)
      select md5('r' || i)::uuid, 'deferral', 'reader-' || i, now(), 'pending',
        timestamptz '2026-03-01 00:00:00.789' + (i % 3) * interval '1 microsecond', now()
      from generate_series(1, ${n}::int) i`.execute(ctx.database.db);
    const finance = await staffToken(ctx, 'finance');
    for (const file of ['supporters', 'gifts', 'reminders']) {
      const res = await ctx.app.request(`/admin/exports/${file}.csv`, { headers: bearer(finance) });
      const rows = parseCsv(await res.text()).slice(1);
      expect(rows, file).toHaveLength(n);
      expect(new Set(rows.map((r) => r[0])).size, file).toBe(n);
    }
  });
});

describe('SMTP', () => {
  it.each([
    ['smtp://relay.notlocalhost:587', { ignoreTLS: false, requireTLS: true }],
    ['smtp://user:pass@localhost.evil.example:25', { ignoreTLS: false, requireTLS: true }],
    ['smtp://mail.example.org/?x=@localhost:', { ignoreTLS: false, requireTLS: true }],
    ['smtp://localhost:2525', { ignoreTLS: true, requireTLS: false }],
    ['smtp://127.0.0.1:2525', { ignoreTLS: true, requireTLS: false }],
    ['smtp://[::1]:2525', { ignoreTLS: true, requireTLS: false }],
    ['smtps://smtp.example.org:465', { ignoreTLS: false, requireTLS: false }],
  ])('%s: %o', (url, tls) => {
    // STARTTLS is required from any relay not on this machine, so it cannot be stripped on the way.
    expect(smtpTls(url)).toEqual(tls);
  });
});

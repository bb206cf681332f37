import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countRows, expectError } from './support/assertions.js';
import { createTestContext, postJson, type TestContext } from './support/harness.js';
import { type Served, serveApp } from './support/http-server.js';

/** A local stand-in for Turnstile's / hCaptcha's siteverify: "pass" passes, anything else fails. */
class FakeVerifier {
  readonly seen: URLSearchParams[] = [];
  #server: Server | undefined;
  url = '';
  async start() {
    this.#server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        const form = new URLSearchParams(raw);
        this.seen.push(form);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ success: form.get('response') === 'pass' && form.get('secret') === 'captcha-secret' }),
        );
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/siteverify`;
    return this;
  }
  stop() {
    return new Promise<void>((r) => this.#server!.close(() => r()));
  }
}

let ctx: TestContext;
let verifier: FakeVerifier;
beforeAll(async () => {
  verifier = await new FakeVerifier().start();
  ctx = await createTestContext({
    TRUST_PROXY: '1',
    CHECKOUT_RATE_LIMIT_PER_IP: '3',
    CHECKOUT_RATE_LIMIT_PER_EMAIL: '2',
  });
});
afterAll(async () => {
  await ctx.close();
  await verifier.stop();
});
beforeEach(() => ctx.reset());

const gift = { frequency: 'once', amount: 500, currency: 'usd' };
const checkout = (body: Record<string, unknown>, ip: string) =>
  postJson(ctx.app, '/api/checkout-sessions', body, { 'x-forwarded-for': `10.9.9.9, ${ip}` });

describe('card-testing defences on checkout creation', () => {
  it('limits sessions per client IP, counted in the database, with Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await checkout(gift, '203.0.113.1')).status).toBe(201);
    const limited = await checkout(gift, '203.0.113.1');
    await expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(600);
    expect(ctx.stripe.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(3);
    // Another client is not affected; the spoofable left part of X-Forwarded-For is not trusted.
    expect((await checkout(gift, '203.0.113.2')).status).toBe(201);
    const counters = await ctx.database.db.selectFrom('rate_limit_counters').selectAll().execute();
    // One counter per client, keyed by a keyed hash of its address, never the address.
    expect(counters.map((r) => r.count).sort()).toEqual([1, 4]);
    for (const r of counters) expect(r.bucket).toMatch(/^checkout:ip:[\w-]{22}$/);
    expect(JSON.stringify(counters)).not.toContain('203.0.113');
    ctx.clock.advance(600_000);
    expect((await checkout(gift, '203.0.113.1')).status).toBe(201);
    // The ended window's counters went with the first request after it.
    const now = await ctx.database.db.selectFrom('rate_limit_counters').select('count').execute();
    expect(now).toEqual([{ count: 1 }]);
  });

  it('limits sessions per e-mail within a network; from other networks nobody can lock a donor out', async () => {
    const withEmail = { ...gift, email: 'tester@example.org' };
    expect((await checkout(withEmail, '198.51.100.1')).status).toBe(201);
    expect((await checkout({ ...withEmail, email: 'TESTER@example.org' }, '198.51.100.1')).status).toBe(201);
    await expectError(await checkout(withEmail, '198.51.100.1'), 429, 'rate_limited');
    expect(await countRows(ctx.database, 'checkout_sessions')).toBe(2);
    // Seen: five checkouts naming one e-mail from five IPs made the donor's own checkout answer 429.
    for (let n = 1; n <= 5; n++) expect((await checkout(withEmail, `203.0.113.${n}`)).status).toBe(201);
    expect((await checkout(withEmail, '192.0.2.200')).status).toBe(201);
  });

  it('with a CAPTCHA configured, checkout needs a token the verifier accepts, checked before Stripe', async () => {
    ctx.rebuild({ CAPTCHA_PROVIDER: 'turnstile', CAPTCHA_SECRET: 'captcha-secret', CAPTCHA_VERIFY_URL: verifier.url });
    await expectError(await checkout(gift, '192.0.2.1'), 403, 'captcha_failed', 'captchaToken');
    await expectError(
      await checkout({ ...gift, captchaToken: 'fail' }, '192.0.2.1'),
      403,
      'captcha_failed',
      'captchaToken',
    );
    expect(ctx.stripe.requests).toHaveLength(0);
    expect((await checkout({ ...gift, captchaToken: 'pass' }, '192.0.2.1')).status).toBe(201);
    expect(verifier.seen.at(-1)?.get('remoteip')).toBe('192.0.2.1');
    ctx.rebuild({
      CAPTCHA_PROVIDER: 'turnstile',
      CAPTCHA_SECRET: 'captcha-secret',
      CAPTCHA_VERIFY_URL: 'http://127.0.0.1:1/down',
    });
    await expectError(await checkout({ ...gift, captchaToken: 'pass' }, '192.0.2.77'), 503, 'captcha_unavailable');
    ctx.rebuild();
  });

  it('with a CAPTCHA configured, a reminder sign-up with an e-mail needs the challenge too; the form page passes it on', async () => {
    ctx.rebuild({ CAPTCHA_PROVIDER: 'turnstile', CAPTCHA_SECRET: 'captcha-secret', CAPTCHA_VERIFY_URL: verifier.url });
    const remind = (body: Record<string, unknown>) =>
      postJson(
        ctx.app,
        '/api/reminders',
        { email: 'someone@example.org', consent: true, ...body },
        {
          'x-forwarded-for': '192.0.2.50',
        },
      );
    await expectError(await remind({}), 403, 'captcha_failed', 'captchaToken');
    await expectError(await remind({ captchaToken: 'fail' }), 403, 'captcha_failed', 'captchaToken');
    expect(await ctx.database.db.selectFrom('reminders').select('id').execute()).toEqual([]);
    expect((await remind({ captchaToken: 'pass' })).status).toBe(201);
    // The form without JavaScript sends the widget's own field.
    const page = await ctx.app.request('/donate/remind', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '192.0.2.51' },
      body: new URLSearchParams({
        email: 'form@example.org',
        consent: '1',
        'cf-turnstile-response': 'pass',
      }).toString(),
    });
    expect(page.status).toBe(200);
    expect(await ctx.database.db.selectFrom('reminders').select('email').orderBy('email').execute()).toEqual([
      { email: 'form@example.org' },
      { email: 'someone@example.org' },
    ]);
    // An anonymous deferral mails no one: no challenge.
    expect((await postJson(ctx.app, '/api/reminders', { readerId: 'reader-id-0123456789' })).status).toBe(201);
    ctx.rebuild();
  });

  it('the donation page carries the challenge widget and allows exactly its origin in the CSP', async () => {
    ctx.rebuild({ CAPTCHA_PROVIDER: 'turnstile', CAPTCHA_SECRET: 'captcha-secret', CAPTCHA_SITE_KEY: 'site-key-1' });
    const res = await ctx.app.request('/donate');
    expect(await res.text()).toContain('<div class="cf-turnstile" data-sitekey="site-key-1"></div>');
    expect(res.headers.get('content-security-policy')).toContain('frame-src https://challenges.cloudflare.com');
    ctx.rebuild();
  });
});

describe('security headers and CORS', () => {
  it('every response carries the security headers', async () => {
    for (const path of ['/health', '/api/donation-options', '/nowhere', '/donate']) {
      const res = await ctx.app.request(path);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      // Pages send their origin with their own form posts (src/http/cross-site.ts), and to no one else.
      expect(res.headers.get('referrer-policy')).toBe(path === '/donate' ? 'same-origin' : 'no-referrer');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
  });

  it('/api/* answers CORS only for ALLOWED_ORIGINS', async () => {
    const ok = await ctx.app.request('/api/donation-options', { headers: { origin: 'https://news.example' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://news.example');
    expect(ok.headers.get('access-control-expose-headers')).toBe('X-Request-Id,Retry-After');
    expect(ok.headers.get('vary')).toBe('Origin');
    expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
    const other = await ctx.app.request('/api/donation-options', { headers: { origin: 'https://elsewhere.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe("security headers over a real HTTP server (set on Node's response)", () => {
  let served: Served;
  let base: string;
  beforeAll(async () => {
    served = await serveApp(ctx.app);
    base = served.base;
  });
  afterAll(() => served.close());

  it('API answers, errors included, carry the defaults and a request id', async () => {
    for (const res of [
      await fetch(`${base}/api/donation-options`, { headers: { origin: 'https://news.example' } }),
      await fetch(`${base}/api/checkout-sessions`, { method: 'POST', body: '{' }),
      await fetch(`${base}/nowhere`),
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });

  it('a page keeps its own CSP, and may be framed only when embedded', async () => {
    const page = await fetch(`${base}/donate`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'nonce-");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('permissions-policy')).toContain('camera=()');
    const embedded = await fetch(`${base}/donate?embed=1`);
    expect(embedded.headers.get('content-security-policy')).toContain('frame-ancestors https://news.example');
    expect(embedded.headers.get('x-frame-options')).toBeNull();
  });

  it('echoes a plain upstream request id, and replaces one that is not', async () => {
    const plain = await fetch(`${base}/health`, { headers: { 'x-request-id': 'lb-1234_abc=' } });
    expect(plain.headers.get('x-request-id')).toBe('lb-1234_abc=');
    const odd = await fetch(`${base}/health`, { headers: { 'x-request-id': 'evil id <script>' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

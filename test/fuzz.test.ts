import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from './support/harness.js';
import { bearer, staffToken } from './support/staff.js';

let ctx: TestContext;
let admin: string;
beforeAll(async () => {
  ctx = await createTestContext({ CHECKOUT_RATE_LIMIT_PER_IP: '1000000', REMINDER_RATE_LIMIT_PER_IP: '100000' });
  admin = await staffToken(ctx, 'admin');
});
afterAll(() => ctx.close());

const ROUTES: Array<{ method: 'GET' | 'POST'; path: string; auth?: boolean; form?: boolean }> = [
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/api/donation-options' },
  { method: 'POST', path: '/api/checkout-sessions' },
  { method: 'POST', path: '/api/reminders' },
  { method: 'GET', path: '/api/reminders/deferral' },
  { method: 'POST', path: '/api/reminders/cancel' },
  { method: 'GET', path: '/reminders/cancel' },
  { method: 'POST', path: '/reminders/cancel', form: true },
  { method: 'POST', path: '/webhooks/stripe' },
  { method: 'GET', path: '/admin/exports/gifts.csv', auth: true },
  { method: 'GET', path: '/admin/exports/supporters.csv', auth: true },
  { method: 'GET', path: '/admin/exports/reminders.csv', auth: true },
  { method: 'GET', path: '/admin/summary', auth: true },
  { method: 'GET', path: '/admin/audit', auth: true },
  { method: 'GET', path: '/admin/tokens', auth: true },
  { method: 'POST', path: '/admin/tokens', auth: true },
  { method: 'POST', path: '/admin/tokens/x/revoke', auth: true },
  { method: 'GET', path: '/admin/supporters', auth: true },
  { method: 'POST', path: '/admin/supporters/erase', auth: true },
  { method: 'GET', path: '/donate' },
  { method: 'POST', path: '/donate', form: true },
  { method: 'POST', path: '/donate/remind', form: true },
  { method: 'POST', path: '/donate/not-now', form: true },
  { method: 'GET', path: '/thank-you' },
  { method: 'GET', path: '/donate/cancelled' },
];

// Field names the endpoints know, mixed with arbitrary ones, so the fuzzer reaches the validators.
const KEYS = [
  'frequency',
  'amount',
  'currency',
  'email',
  'campaign',
  'successUrl',
  'cancelUrl',
  'readerId',
  'remindAt',
  'consent',
  'consentVersion',
  'token',
  'name',
  'role',
  'from',
  'to',
  'status',
  'bom',
  'limit',
  'session_id',
  'other_amount',
  'when',
  'id',
  'type',
  'data',
  'captchaToken',
  'cancelRecurring',
  'deleteStripeCustomer',
];
const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 }));
const scalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    'once',
    'monthly',
    'usd',
    'EUR',
    '2027-01-01',
    'a@example.org',
    '500',
    '-1',
    '1e309',
    '\u0000',
    '=1+1',
  ),
);
const json = fc.oneof(
  fc.dictionary(key, fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(key, scalar, { maxKeys: 3 })), {
    maxKeys: 8,
  }),
  fc.jsonValue({ maxDepth: 3 }),
);
const rawBody = fc.oneof(
  json.map((v) => JSON.stringify(v) ?? ''),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '{', 'null', '[]', '{"amount":', '\uFFFF'),
);
const query = fc.dictionary(
  key,
  fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('2026-01-01', 'usd', 'once', '1', 'refunded,failed')),
  { maxKeys: 5 },
);
const headerValue = fc.string({ maxLength: 60 }).filter((s) => /^[\x20-\x7e]*$/.test(s));
const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      '',
    ),
    'idempotency-key': headerValue,
    'x-request-id': headerValue,
    'stripe-signature': headerValue,
    origin: fc.constantFrom('https://news.example', 'https://evil.example', 'null'),
  },
  { requiredKeys: [] },
);

const TABLES = [
  'checkout_sessions',
  'reminders',
  'gifts',
  'supporters',
  'recurring_donations',
  'stripe_events',
  'staff_tokens',
];
async function counts() {
  const rows = await sql<{
    t: string;
    n: number;
  }>`${sql.raw(TABLES.map((t) => `select '${t}' as t, count(*)::int as n from ${t}`).join(' union all '))}`.execute(
    ctx.database.db,
  );
  return Object.fromEntries(rows.rows.map((r) => [r.t, Number(r.n)]));
}

describe('fuzzing every public and admin endpoint', () => {
  it('never answers 5xx; every API error is the one shape; a rejected request writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        rawBody,
        query,
        headers,
        json,
        async (route, body, q, h, formFields) => {
          const qs = new URLSearchParams(Object.entries(q)).toString();
          const url = `${route.path}${qs ? `?${qs}` : ''}`;
          const init: RequestInit = { method: route.method, headers: { ...h, ...(route.auth ? bearer(admin) : {}) } };
          if (route.method === 'POST') {
            init.body = route.form
              ? new URLSearchParams(
                  Object.entries(
                    typeof formFields === 'object' && formFields && !Array.isArray(formFields) ? formFields : {},
                  ).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]),
                ).toString()
              : body;
            if (route.form)
              (init.headers as Record<string, string>)['content-type'] = 'application/x-www-form-urlencoded';
          }
          const before = await counts();
          const res = await ctx.app.request(url, init);
          expect(res.status, `${route.method} ${url} -> ${res.status}`).toBeLessThan(500);
          const type = res.headers.get('content-type') ?? '';
          if (res.status >= 400 && type.startsWith('application/json')) {
            const payload = await res.json();
            expect(payload.error).toEqual(
              expect.objectContaining({
                code: expect.any(String),
                message: expect.any(String),
                requestId: res.headers.get('x-request-id'),
              }),
            );
          } else {
            await res.arrayBuffer();
          }
          if (res.status >= 400) expect(await counts()).toEqual(before);
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 400) },
    );
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Frequency, PaymentState } from '../db/schema.js';
import { revokeStaffToken } from '../src/staff/tokens.js';
import { expectError } from './support/assertions.js';
import { createTestContext, type TestContext } from './support/harness.js';
import { bearer, parseCsv, staffToken } from './support/staff.js';

let ctx: TestContext;
let finance: string;
let admin: string;
beforeAll(async () => {
  ctx = await createTestContext({ TRUST_PROXY: '1' });
});
afterAll(() => ctx.close());
beforeEach(async () => {
  await ctx.reset();
  finance = await staffToken(ctx, 'finance', 'Finance laptop');
  admin = await staffToken(ctx, 'admin', 'Ops');
});

const at = (iso: string) => new Date(iso);
const get = (path: string, token = finance, ip = '203.0.113.5') =>
  ctx.app.request(path, { headers: { ...bearer(token), 'x-forwarded-for': ip } });
/** The status of a download read to its end, as a client does (an unread export holds its connection). */
const statusOf = async (res: Response) => {
  await res.arrayBuffer();
  return res.status;
};

async function supporter(id: string, email: string, name: string | null, created: string, customers: string[] = []) {
  await ctx.database.db
    .insertInto('supporters')
    .values({
      id,
      email,
      name,
      name_version: null,
      stripe_customer_ids: customers,
      created_at: at(created),
      updated_at: at(created),
    })
    .execute();
}

async function gift(g: {
  id: string;
  supporter: string | null;
  frequency: Frequency;
  amount: number;
  currency: string;
  state?: PaymentState;
  refunded?: number;
  dispute?: 'none' | 'open' | 'won' | 'lost';
  paidAt: string | null;
  campaign?: string | null;
  cs?: string | null;
  pi?: string | null;
  invoice?: string | null;
}) {
  await ctx.database.db
    .insertInto('gifts')
    .values({
      id: g.id,
      supporter_id: g.supporter,
      stripe_customer_id: null,
      frequency: g.frequency,
      amount: g.amount,
      currency: g.currency,
      payment_state: g.state ?? 'succeeded',
      refunded_amount: g.refunded ?? 0,
      dispute_state: g.dispute ?? 'none',
      stripe_checkout_session_id: g.cs ?? null,
      stripe_payment_intent_id: g.pi ?? null,
      stripe_invoice_id: g.invoice ?? null,
      stripe_charge_id: null,
      stripe_subscription_id: null,
      campaign: g.campaign ?? null,
      paid_at: g.paidAt ? at(g.paidAt) : null,
      created_at: at(g.paidAt ?? '2026-11-20T00:00:00Z'),
      updated_at: at(g.paidAt ?? '2026-11-20T00:00:00Z'),
    })
    .execute();
}

const S1 = '00000000-0000-4000-8000-000000000001';
const S2 = '00000000-0000-4000-8000-000000000002';
const G = (n: number) => `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`;

async function fixtureLedger() {
  await supporter(S1, 'ann@example.org', 'Smith, Ann "Annie"\nLondon', '2026-01-01T00:00:00Z', ['cus_a', 'cus_b']);
  await supporter(S2, '=cmd@example.org', '=HYPERLINK("http://evil.example","click")', '2026-02-01T00:00:00Z');
  await gift({
    id: G(1),
    supporter: S1,
    frequency: 'once',
    amount: 500,
    currency: 'usd',
    paidAt: '2026-03-01T10:00:00Z',
    campaign: 'article, 42',
    cs: 'cs_1',
    pi: 'pi_1',
  });
  await gift({
    id: G(2),
    supporter: S1,
    frequency: 'monthly',
    amount: 500,
    currency: 'jpy',
    paidAt: '2026-03-02T10:00:00Z',
    invoice: 'in_2',
    campaign: '+1 offer',
  });
  await gift({
    id: G(3),
    supporter: S2,
    frequency: 'annual',
    amount: 5000,
    currency: 'kwd',
    refunded: 1250,
    paidAt: '2026-03-03T10:00:00Z',
    invoice: 'in_3',
    campaign: '-minus',
  });
  await gift({
    id: G(4),
    supporter: S2,
    frequency: 'once',
    amount: 1999,
    currency: 'usd',
    paidAt: '2026-03-04T10:00:00Z',
    campaign: '@SUM(A1)',
    cs: 'cs_4',
    pi: 'pi_4',
    dispute: 'lost',
  });
  await gift({
    id: G(5),
    supporter: null,
    frequency: 'once',
    amount: 700,
    currency: 'eur',
    state: 'pending',
    paidAt: null,
    campaign: '\tTabbed',
    cs: 'cs_5',
  });
}

const GIFTS_HEADER =
  'gift_id,supporter_id,email,frequency,amount,currency,status,refunded_amount,paid_at,campaign,stripe_checkout_session_id,stripe_payment_intent_id,stripe_invoice_id\r\n';

describe('staff access', () => {
  it('no token -> 401 with WWW-Authenticate; malformed, unknown and revoked tokens -> 401', async () => {
    const none = await ctx.app.request('/admin/exports/gifts.csv');
    await expectError(none, 401, 'unauthorized');
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="reader-donations"');
    for (const header of ['Basic abc', 'Bearer', `Bearer ${finance}x`, `Bearer rdt_${'A'.repeat(43)}`]) {
      await expectError(
        await ctx.app.request('/admin/exports/gifts.csv', { headers: { authorization: header } }),
        401,
        'unauthorized',
      );
    }
    expect(await statusOf(await get('/admin/exports/gifts.csv'))).toBe(200);
    await revokeStaffToken(ctx.database.db, 'Finance laptop', ctx.clock.now());
    await expectError(await get('/admin/exports/gifts.csv'), 401, 'unauthorized');
  });

  it('finance may export and summarise but not read the audit log or manage tokens; admin may do all', async () => {
    for (const path of [
      '/admin/exports/gifts.csv',
      '/admin/exports/supporters.csv',
      '/admin/exports/reminders.csv',
      '/admin/summary',
    ]) {
      expect(await statusOf(await get(path, finance))).toBe(200);
      expect(await statusOf(await get(path, admin))).toBe(200);
    }
    await expectError(await get('/admin/audit', finance), 403, 'forbidden');
    await expectError(await get('/admin/tokens', finance), 403, 'forbidden');
    expect((await get('/admin/audit', admin)).status).toBe(200);
  });

  it('records the last use of a token, and never logs a token', async () => {
    await get('/admin/summary');
    const row = await ctx.database.db
      .selectFrom('staff_tokens')
      .selectAll()
      .where('name', '=', 'Finance laptop')
      .executeTakeFirstOrThrow();
    expect(row.last_used_at).toEqual(ctx.clock.now());
    expect(row.token_hash).not.toContain(finance.slice(4));
    expect(JSON.stringify(ctx.logs)).not.toContain(finance);
  });

  it('admins manage tokens over HTTP: create (shown once), list without secrets, revoke', async () => {
    const created = await ctx.app.request('/admin/tokens', {
      method: 'POST',
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Auditor', role: 'finance' }),
    });
    expect(created.status).toBe(201);
    const { token, id } = await created.json();
    expect(token).toMatch(/^rdt_[\w-]{43}$/);
    expect((await get('/admin/summary', token)).status).toBe(200);
    const list = await (await get('/admin/tokens', admin)).json();
    expect(JSON.stringify(list)).not.toContain(token);
    expect(list.tokens.map((t: { name: string }) => t.name)).toContain('Auditor');
    const dup = await ctx.app.request('/admin/tokens', {
      method: 'POST',
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Auditor', role: 'admin' }),
    });
    await expectError(dup, 409, 'conflict', 'name');
    const revoked = await ctx.app.request(`/admin/tokens/${id}/revoke`, { method: 'POST', headers: bearer(admin) });
    expect(revoked.status).toBe(200);
    await expectError(await get('/admin/summary', token), 401, 'unauthorized');
  });
});

describe('GET /admin/exports/gifts.csv', () => {
  it('streams the exact bytes: RFC 4180 quoting, neutralised formulas, 0/2/3-decimal currencies, ISO times', async () => {
    await fixtureLedger();
    const res = await get('/admin/exports/gifts.csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="gifts-2026-11-28.csv"');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe(
      GIFTS_HEADER +
        `${G(1)},${S1},"ann@example.org",once,5.00,USD,succeeded,0.00,2026-03-01 10:00:00+00,"article, 42",cs_1,pi_1,\r\n` +
        `${G(2)},${S1},"ann@example.org",monthly,500,JPY,succeeded,0,2026-03-02 10:00:00+00,"'+1 offer",,,in_2\r\n` +
        `${G(3)},${S2},"'=cmd@example.org",annual,5.000,KWD,partially_refunded,1.250,2026-03-03 10:00:00+00,"'-minus",,,in_3\r\n` +
        `${G(4)},${S2},"'=cmd@example.org",once,19.99,USD,dispute_lost,0.00,2026-03-04 10:00:00+00,"'@SUM(A1)",cs_4,pi_4,\r\n` +
        `${G(5)},,,once,7.00,EUR,pending,0.00,,"'\tTabbed",cs_5,,\r\n`,
    );
  });

  it('edge cells: COPY end marker, empty text, CR, largest amounts, blanks before a formula', async () => {
    await supporter(S1, 'edge@example.org', '', '2026-01-01T00:00:00Z');
    await gift({
      id: G(21),
      supporter: S1,
      frequency: 'once',
      amount: 1,
      currency: 'jpy',
      paidAt: '2026-03-01T00:00:00Z',
      campaign: '\\.',
    });
    await gift({
      id: G(22),
      supporter: S1,
      frequency: 'once',
      amount: 1,
      currency: 'bhd',
      paidAt: '2026-03-02T00:00:00Z',
      campaign: '',
    });
    await gift({
      id: G(23),
      supporter: S1,
      frequency: 'once',
      amount: 99_999_999,
      currency: 'usd',
      paidAt: '2026-03-03T00:00:00Z',
      campaign: 'cr\rinside "q"',
    });
    await gift({
      id: G(24),
      supporter: S1,
      frequency: 'once',
      amount: 5,
      currency: 'usd',
      paidAt: '2026-03-04T00:00:00Z',
      campaign: '  =1;2',
    });
    expect(await (await get('/admin/exports/gifts.csv')).text()).toBe(
      GIFTS_HEADER +
        `${G(21)},${S1},"edge@example.org",once,1,JPY,succeeded,0,2026-03-01 00:00:00+00,"\\.",,,\r\n` +
        `${G(22)},${S1},"edge@example.org",once,0.001,BHD,succeeded,0.000,2026-03-02 00:00:00+00,,,,\r\n` +
        `${G(23)},${S1},"edge@example.org",once,999999.99,USD,succeeded,0.00,2026-03-03 00:00:00+00,"cr\rinside ""q""",,,\r\n` +
        `${G(24)},${S1},"edge@example.org",once,0.05,USD,succeeded,0.00,2026-03-04 00:00:00+00,"'  =1;2",,,\r\n`,
    );
  });

  it('an empty export is the header row; ?bom=1 puts a UTF-8 BOM first for Excel', async () => {
    expect(await (await get('/admin/exports/gifts.csv')).text()).toBe(GIFTS_HEADER);
    const bytes = new Uint8Array(await (await get('/admin/exports/gifts.csv?bom=1')).arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(new TextDecoder().decode(bytes.slice(3))).toBe(GIFTS_HEADER);
  });

  it.each([
    ['from=2026-03-02&to=2026-03-03', [G(2), G(3)]],
    ['from=2026-03-02T10:00:00Z&to=2026-03-03T10:00:00Z', [G(2)]],
    ['frequency=once', [G(1), G(4), G(5)]],
    ['frequency=monthly,annual', [G(2), G(3)]],
    ['status=partially_refunded,dispute_lost', [G(3), G(4)]],
    ['currency=USD', [G(1), G(4)]],
    ['currency=usd&status=succeeded', [G(1)]],
  ])('filter %s', async (query, ids) => {
    await fixtureLedger();
    const rows = parseCsv(await (await get(`/admin/exports/gifts.csv?${query}`)).text());
    expect(rows.slice(1).map((r) => r[0])).toEqual(ids);
  });

  it.each([
    ['from=yesterday', 'from'],
    ['to=2026-02-30', 'to'],
    ['from=2026-03-05&to=2026-03-01', 'to'],
    ['frequency=weekly', 'frequency'],
    ['status=lost', 'status'],
    ['currency=dollars', 'currency'],
    ['bom=yes', 'bom'],
    ['form=2026-01-01', 'form'],
  ])('an invalid filter %s -> 400 naming it, and no audit row', async (query, field) => {
    await expectError(await get(`/admin/exports/gifts.csv?${query}`), 400, 'invalid_request', field);
    expect(await ctx.database.db.selectFrom('audit_log').selectAll().execute()).toEqual([]);
  });

  it('streams a ledger of thousands of rows, in order, each row once, and audits the count', async () => {
    await supporter(S1, 'many@example.org', 'Many', '2026-01-01T00:00:00Z');
    const base = Date.parse('2026-01-01T00:00:00Z');
    const rows = Array.from({ length: 4500 }, (_, i) => ({
      id: randomUUID(),
      supporter_id: S1,
      stripe_customer_id: null,
      frequency: 'once' as const,
      amount: 100 + (i % 7),
      currency: 'usd',
      payment_state: 'succeeded' as const,
      stripe_checkout_session_id: `cs_many_${i}`,
      stripe_payment_intent_id: null,
      stripe_invoice_id: null,
      stripe_charge_id: null,
      stripe_subscription_id: null,
      campaign: null,
      // Pairs of rows share a timestamp: the id orders them.
      paid_at: new Date(base + Math.floor(i / 2) * 1000),
      created_at: new Date(base),
      updated_at: new Date(base),
    }));
    for (let i = 0; i < rows.length; i += 500)
      await ctx.database.db
        .insertInto('gifts')
        .values(rows.slice(i, i + 500))
        .execute();
    const csv = parseCsv(await (await get('/admin/exports/gifts.csv')).text()).slice(1);
    expect(csv).toHaveLength(4500);
    expect(new Set(csv.map((r) => r[0])).size).toBe(4500);
    const paid = csv.map((r) => r[8]!);
    expect([...paid].sort()).toEqual(paid);
    const audit = await ctx.database.db.selectFrom('audit_log').selectAll().executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ row_count: 4500, completed: true });
  });
});

describe('GET /admin/exports/supporters.csv and reminders.csv', () => {
  it('one row per supporter and currency with all-time counts, net lifetime amounts and the recurring donation', async () => {
    await fixtureLedger();
    await ctx.database.db
      .insertInto('recurring_donations')
      .values({
        id: randomUUID(),
        supporter_id: S1,
        stripe_customer_id: 'cus_a',
        stripe_subscription_id: 'sub_1',
        checkout_session_id: null,
        amount: 500,
        currency: 'jpy',
        interval: 'month',
        status: 'active',
        status_version: null,
        snapshot_version: null,
        invoice_version: null,
        started_at: at('2026-03-02T10:00:00Z'),
        canceled_at: null,
        current_period_end: null,
        last_payment_at: null,
        campaign: null,
        cancel_reason: 'too_expensive',
        paused: true,
        paused_until: at('2026-05-02T10:00:00Z'),
        created_at: at('2026-03-02T10:00:00Z'),
        updated_at: at('2026-03-02T10:00:00Z'),
      })
      .execute();
    const text = await (await get('/admin/exports/supporters.csv')).text();
    expect(text).toBe(
      'supporter_id,email,name,currency,gifts_count,lifetime_amount,first_gift_at,last_gift_at,recurring_status,recurring_frequency,recurring_amount,cancel_reason,paused_until,stripe_customer_id,created_at\r\n' +
        `${S1},"ann@example.org","Smith, Ann ""Annie""\nLondon",JPY,1,500,2026-03-02 10:00:00+00,2026-03-02 10:00:00+00,active,monthly,500,too_expensive,2026-05-02 10:00:00+00,cus_a cus_b,2026-01-01 00:00:00+00\r\n` +
        `${S1},"ann@example.org","Smith, Ann ""Annie""\nLondon",USD,1,5.00,2026-03-01 10:00:00+00,2026-03-01 10:00:00+00,,,,,,cus_a cus_b,2026-01-01 00:00:00+00\r\n` +
        `${S2},"'=cmd@example.org","'=HYPERLINK(""http://evil.example"",""click"")",KWD,1,3.750,2026-03-03 10:00:00+00,2026-03-03 10:00:00+00,,,,,,,2026-02-01 00:00:00+00\r\n` +
        `${S2},"'=cmd@example.org","'=HYPERLINK(""http://evil.example"",""click"")",USD,1,0.00,2026-03-04 10:00:00+00,2026-03-04 10:00:00+00,,,,,,,2026-02-01 00:00:00+00\r\n`,
    );
    const ids = async (q: string) =>
      parseCsv(await (await get(`/admin/exports/supporters.csv?${q}`)).text())
        .slice(1)
        .map((r) => `${r[0]?.slice(-1)}:${r[3]}`);
    expect(await ids('from=2026-03-03')).toEqual(['2:KWD', '2:USD']);
    expect(await ids('status=active')).toEqual(['1:JPY']);
    expect(await ids('status=none&currency=usd')).toEqual(['1:USD', '2:USD']);
    expect(await ids('frequency=annual')).toEqual(['2:KWD']);
  });

  it('reminders show their e-mail only while it is retained', async () => {
    const base = {
      kind: 'email' as const,
      remind_at: at('2026-12-01T09:00:00Z'),
      consent_version: '1',
      created_at: at('2026-11-01T00:00:00Z'),
      updated_at: at('2026-11-01T00:00:00Z'),
    };
    await ctx.database.db
      .insertInto('reminders')
      .values([
        {
          ...base,
          id: G(11),
          email: 'kept@example.org',
          status: 'pending',
          amount: 500,
          currency: 'usd',
          frequency: 'monthly',
          campaign: 'box',
        },
        {
          ...base,
          id: G(12),
          email: null,
          status: 'sent',
          sent_at: at('2026-10-01T09:00:00Z'),
          email_erased_at: at('2026-10-31T09:00:00Z'),
        },
      ])
      .execute();
    const rows = parseCsv(await (await get('/admin/exports/reminders.csv')).text());
    expect(rows[0]).toEqual([
      'reminder_id',
      'kind',
      'status',
      'email',
      'remind_at',
      'frequency',
      'amount',
      'currency',
      'campaign',
      'consent_version',
      'created_at',
      'sent_at',
      'converted_at',
      'cancelled_at',
      'email_erased_at',
      'attempts',
    ]);
    expect(rows.slice(1).map((r) => [r[0], r[2], r[3], r[6], r[7]])).toEqual([
      [G(11), 'pending', 'kept@example.org', '5.00', 'USD'],
      [G(12), 'sent', '', '', ''],
    ]);
    expect(parseCsv(await (await get('/admin/exports/reminders.csv?status=sent')).text())).toHaveLength(2);
  });
});

describe('audit', () => {
  it('writes a row per export and summary, listed by GET /admin/audit for admins', async () => {
    await fixtureLedger();
    await (await get('/admin/exports/gifts.csv?currency=usd&from=2026-03-01', finance, '198.51.100.23')).text();
    ctx.clock.advance(60_000);
    await get('/admin/summary?from=2026-03-01&to=2026-03-31', finance, '198.51.100.23');
    const { entries } = await (await get('/admin/audit', admin)).json();
    expect(entries).toHaveLength(2);
    expect(entries[1]).toEqual({
      id: expect.any(String),
      tokenName: 'Finance laptop',
      endpoint: '/admin/exports/gifts.csv',
      filters: { from: '2026-03-01T00:00:00.000Z', currency: ['usd'] },
      rowCount: 2,
      completed: true,
      clientIp: '198.51.100.23',
      at: '2026-11-28T12:00:00.000Z',
    });
    expect(entries[0]).toMatchObject({
      endpoint: '/admin/summary',
      filters: { from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' },
      completed: true,
    });
    // Reading the audit log is itself on record.
    expect(await ctx.database.db.selectFrom('audit_log').selectAll().execute()).toHaveLength(3);
  });

  it('an export the client breaks off is on record as not completed', async () => {
    await fixtureLedger();
    const res = await get('/admin/exports/gifts.csv');
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 50));
    const row = await ctx.database.db.selectFrom('audit_log').selectAll().executeTakeFirstOrThrow();
    expect(row.completed).toBe(false);
  });
});

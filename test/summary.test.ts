import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currencyExponent } from '../src/currencies.js';
import { createTestContext, TEST_NOW, type TestContext } from './support/harness.js';
import { asyncOneOff, disputed, type History, oneOff, recurring, refunded } from './support/histories.js';
import { deliverAll, inOrder } from './support/ledger.js';
import { bearer, parseCsv, staffToken } from './support/staff.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const NOW = Date.parse(TEST_NOW) / 1000;
const DAY = 86_400;
const COUNTED = ['succeeded', 'partially_refunded', 'refunded', 'disputed'];

const minor = (decimal: string, currency: string) =>
  Math.round(Number(decimal) * 10 ** currencyExponent(currency.toLowerCase()));

/** What the summary must say, computed only from the gifts export's rows. */
function sumsFromExport(rows: string[][]) {
  const by = new Map<
    string,
    {
      received: number;
      payments: number;
      refunded: number;
      refundedPayments: number;
      disputes: number;
      disputesLost: number;
      lost: number;
    }
  >();
  for (const r of rows) {
    const [, , , , amount, currency, status, refundedAmount] = r as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const c = currency.toLowerCase();
    const s = by.get(c) ?? {
      received: 0,
      payments: 0,
      refunded: 0,
      refundedPayments: 0,
      disputes: 0,
      disputesLost: 0,
      lost: 0,
    };
    const a = minor(amount, c);
    const ref = minor(refundedAmount, c);
    if (COUNTED.includes(status)) s.received += a - Math.min(ref, a);
    if (!['pending', 'failed'].includes(status)) s.payments++;
    s.refunded += ref;
    if (ref > 0) s.refundedPayments++;
    if (status === 'disputed' || status === 'dispute_lost') s.disputes++;
    if (status === 'dispute_lost') {
      s.disputesLost++;
      s.lost += a - Math.min(ref, a);
    }
    by.set(c, s);
  }
  return by;
}

const historyArb = fc.oneof(
  fc.record({
    kind: fc.constant('once' as const),
    amount: fc.integer({ min: 200, max: 90_000 }),
    currency: fc.constantFrom('usd', 'eur', 'gbp'),
  }),
  fc.record({ kind: fc.constant('async' as const), ok: fc.boolean() }),
  fc.record({
    kind: fc.constant('recurring' as const),
    year: fc.boolean(),
    renewals: fc.integer({ min: 0, max: 3 }),
    cancel: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('refund' as const), partial: fc.boolean() }),
  fc.record({ kind: fc.constant('dispute' as const), lost: fc.boolean() }),
);

function build(specs: Array<Record<string, unknown>>, starts: number[]): History[] {
  return specs.map((s, i) => {
    const t = starts[i]!;
    switch (s.kind) {
      case 'once':
        return oneOff(i, t, { amount: s.amount as number, currency: s.currency as string });
      case 'async':
        return asyncOneOff(i, t, s.ok ? 'succeeded' : 'failed');
      case 'recurring':
        return recurring(i, t, {
          interval: s.year ? 'year' : 'month',
          renewals: s.renewals as number,
          cancel: s.cancel as boolean,
        });
      case 'refund':
        return refunded(i, t, s.partial ? [700] : [700, 2000]);
      default:
        return disputed(i, t, s.lost ? 'lost' : 'won');
    }
  });
}

describe('GET /admin/summary', () => {
  it('equals sums over the gifts export for the same range, on randomized ledgers', async () => {
    const yearStart = Date.parse('2026-01-01T00:00:00Z') / 1000;
    await fc.assert(
      fc.asyncProperty(
        fc.array(historyArb, { minLength: 3, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 10, maxLength: 10 }),
        fc.tuple(fc.integer({ min: 0, max: 330 }), fc.integer({ min: 1, max: 120 })),
        async (specs, days, [fromDay, span]) => {
          await ctx.reset();
          const token = await staffToken(ctx, 'finance');
          await deliverAll(
            ctx.app,
            inOrder(
              build(
                specs,
                days.map((d) => yearStart + d * DAY),
              ),
            ),
            NOW,
          );
          const from = new Date((yearStart + fromDay * DAY) * 1000).toISOString().slice(0, 10);
          const to = new Date((yearStart + (fromDay + span) * DAY) * 1000).toISOString().slice(0, 10);
          for (const range of [`from=${from}&to=${to}`, '']) {
            const csv = await (
              await ctx.app.request(`/admin/exports/gifts.csv?${range}`, { headers: bearer(token) })
            ).text();
            const expected = sumsFromExport(parseCsv(csv).slice(1));
            const summary = await (await ctx.app.request(`/admin/summary?${range}`, { headers: bearer(token) })).json();
            for (const c of summary.currencies) {
              const e = expected.get(c.currency) ?? {
                received: 0,
                payments: 0,
                refunded: 0,
                refundedPayments: 0,
                disputes: 0,
                disputesLost: 0,
                lost: 0,
              };
              expect([
                c.currency,
                c.received,
                c.payments,
                c.refunded,
                c.refundedPayments,
                c.disputes,
                c.disputesLost,
                c.disputedAmountLost,
              ]).toEqual([
                c.currency,
                e.received,
                e.payments,
                e.refunded,
                e.refundedPayments,
                e.disputes,
                e.disputesLost,
                e.lost,
              ]);
            }
            expect(summary.currencies.map((c: { currency: string }) => c.currency)).toEqual(
              expect.arrayContaining([...expected.keys()]),
            );
          }
          // This month, last month and the year so far are the same sums over those ranges.
          const periods = [
            ['receivedThisMonth', 'from=2026-11-01&to=2026-11-30'],
            ['receivedLastMonth', 'from=2026-10-01&to=2026-10-31'],
            ['receivedYearToDate', 'from=2026-01-01&to=2026-11-30'],
          ] as const;
          const summary = await (await ctx.app.request('/admin/summary', { headers: bearer(token) })).json();
          for (const [field, range] of periods) {
            const csv = await (
              await ctx.app.request(`/admin/exports/gifts.csv?${range}`, { headers: bearer(token) })
            ).text();
            const expected = sumsFromExport(parseCsv(csv).slice(1));
            for (const c of summary.currencies) expect(c[field]).toBe(expected.get(c.currency)?.received ?? 0);
          }
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 6), endOnFailure: true },
    );
  });

  it('counts active monthly and annual donors, recurring revenue with annual as 1/12, checkouts and reminders', async () => {
    await ctx.reset();
    const token = await staffToken(ctx, 'finance');
    const t = Date.parse('2026-11-02T10:00:00Z') / 1000;
    await deliverAll(
      ctx.app,
      inOrder([
        recurring(1, t, { interval: 'month', renewals: 0, amount: 500 }),
        recurring(2, t, { interval: 'month', renewals: 0, amount: 1000 }),
        recurring(3, t, { interval: 'year', renewals: 0, amount: 5000 }),
        recurring(4, t - 40 * DAY, { interval: 'month', renewals: 1, cancel: true }),
      ]),
      NOW,
    );
    const db = ctx.database.db;
    const checkout = (id: string, status: 'open' | 'complete' | 'expired') => ({
      id: crypto.randomUUID(),
      stripe_session_id: id,
      frequency: 'once' as const,
      amount: 500,
      currency: 'usd',
      campaign: null,
      status,
      livemode: false,
      created_at: new Date('2026-11-10T00:00:00Z'),
      expires_at: new Date('2026-11-10T01:00:00Z'),
      updated_at: new Date('2026-11-10T00:00:00Z'),
    });
    await db
      .insertInto('checkout_sessions')
      .values([
        checkout('cs_a', 'complete'),
        checkout('cs_b', 'expired'),
        checkout('cs_c', 'expired'),
        checkout('cs_d', 'open'),
      ])
      .execute();
    await db
      .insertInto('reminders')
      .values([
        {
          id: crypto.randomUUID(),
          kind: 'deferral',
          reader_id: 'r'.repeat(20),
          remind_at: new Date('2026-12-20T00:00:00Z'),
          status: 'pending',
          created_at: new Date('2026-11-05T00:00:00Z'),
          updated_at: new Date('2026-11-05T00:00:00Z'),
        },
        {
          id: crypto.randomUUID(),
          kind: 'deferral',
          reader_id: 's'.repeat(20),
          remind_at: new Date('2026-12-20T00:00:00Z'),
          status: 'converted',
          converted_at: new Date('2026-11-06T00:00:00Z'),
          created_at: new Date('2026-11-05T00:00:00Z'),
          updated_at: new Date('2026-11-05T00:00:00Z'),
        },
      ])
      .execute();
    const summary = await (
      await ctx.app.request('/admin/summary?from=2026-11-01&to=2026-11-30', { headers: bearer(token) })
    ).json();
    const usd = summary.currencies.find((c: { currency: string }) => c.currency === 'usd');
    expect(usd).toMatchObject({
      activeMonthlyDonors: 2,
      activeAnnualDonors: 1,
      // 500 + 1000 + 5000 / 12 = 1916.67 -> 1917 cents
      monthlyRecurringRevenue: 1917,
      checkouts: { created: 4, completed: 1, expired: 2, open: 1, conversionRate: 0.25 },
    });
    expect(summary.reminders).toEqual({ open: 1, created: 2, sent: 0, converted: 1, cancelled: 0 });
    expect(summary).toMatchObject({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      generatedAt: TEST_NOW,
    });
  });

  it('rejects anything but from and to', async () => {
    const token = await staffToken(ctx, 'finance', 'summary-only');
    expect((await ctx.app.request('/admin/summary?currency=usd', { headers: bearer(token) })).status).toBe(400);
    expect((await ctx.app.request('/admin/summary?from=soon', { headers: bearer(token) })).status).toBe(400);
  });
});

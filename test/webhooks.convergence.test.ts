import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, TEST_NOW, type TestContext } from './support/harness.js';
import {
  asyncOneOff,
  disputed,
  type History,
  oneOff,
  recurring,
  recurringEmailChange,
  refunded,
  refundedRenewal,
} from './support/histories.js';
import { deliverAll, inOrder, ledgerSnapshot } from './support/ledger.js';
import { deliver } from './support/stripe-events.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const NOW = Date.parse(TEST_NOW) / 1000;
const T0 = Date.parse('2026-02-01T09:00:00Z') / 1000;
const DAY = 86_400;

const histories: History[] = [
  oneOff(1, T0),
  asyncOneOff(2, T0 + DAY, 'succeeded'),
  asyncOneOff(3, T0 + 2 * DAY, 'failed'),
  recurring(4, T0 + 3 * DAY, { interval: 'month', renewals: 2 }),
  recurring(5, T0 + 4 * DAY, { interval: 'year', renewals: 1 }),
  refunded(6, T0 + 5 * DAY, [700, 2000]),
  refunded(7, T0 + 6 * DAY, [300]),
  refundedRenewal(8, T0 + 7 * DAY),
  disputed(9, T0 + 8 * DAY, 'lost'),
  disputed(10, T0 + 9 * DAY, 'won'),
  recurring(11, T0 + 10 * DAY, { interval: 'month', renewals: 1, cancel: true }),
  recurring(12, T0 + 11 * DAY, { interval: 'month', renewals: 2, failThenRecover: true }),
  recurringEmailChange(13, T0 + 12 * DAY),
];
const ordered = inOrder(histories);

async function fresh() {
  await ctx.reset();
  for (const h of histories) h.arrange?.(ctx.stripe);
}

let reference: Awaited<ReturnType<typeof ledgerSnapshot>>;

describe('webhook convergence', () => {
  beforeAll(async () => {
    await fresh();
    await deliverAll(ctx.app, ordered, NOW);
    reference = await ledgerSnapshot(ctx.database);
  });

  it('the in-order history gives the expected totals (the reference the property compares to)', () => {
    // one-offs: 1000 + 2500 EUR + (2000-2000) + (2000-300); monthly 3x500 + renewal refunded 500 of 2x500 + 2x500 + 3x500;
    // annual 2x5000; disputes: lost 0, won 5000 GBP.
    expect(reference.totals).toEqual([
      { currency: 'eur', net: 2500 },
      { currency: 'gbp', net: 5000 },
      { currency: 'usd', net: 1000 + 1700 + 1500 + 500 + 1000 + 1500 + 10_000 + 1500 },
    ]);
    expect(reference.gifts.filter((g) => g.status === 'refunded')).toHaveLength(2);
    expect(Object.fromEntries(reference.recurring.map((r) => [r.stripe_subscription_id, r.status]))).toEqual({
      sub_monthly4: 'active',
      sub_annual5: 'active',
      sub_monthly8: 'active',
      sub_monthly11: 'canceled',
      sub_monthly12: 'active',
      sub_monthly13: 'active',
    });
    // The newest e-mail the donor paid with names the supporter of the donation.
    expect(reference.recurring.find((r) => r.stripe_subscription_id === 'sub_monthly13')?.email).toBe(
      'changed.13@example.org',
    );
  });

  it('any permutation with repeated deliveries converges to the in-order ledger and totals', async () => {
    const n = ordered.length;
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(ordered, { minLength: n, maxLength: n }),
        fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n)), { maxLength: 12 }),
        async (permutation, repeats) => {
          const deliveries = [...permutation];
          for (const [which, at] of repeats) deliveries.splice(at, 0, ordered[which]!);
          await fresh();
          await deliverAll(ctx.app, deliveries, NOW);
          expect(await ledgerSnapshot(ctx.database)).toEqual(reference);
        },
      ),
      {
        numRuns: Number(process.env.FC_RUNS ?? 12),
        seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31),
        endOnFailure: true,
      },
    );
  });

  it('every event delivered at once, twice over, converges too (concurrent transactions)', async () => {
    await fresh();
    const answers = await Promise.all(
      [...ordered, ...ordered].map((e) => deliver(ctx.app, e, { timestamp: NOW }).then((r) => r.status)),
    );
    expect(answers.every((s) => s === 200)).toBe(true);
    expect(await ledgerSnapshot(ctx.database)).toEqual(reference);
  });
});

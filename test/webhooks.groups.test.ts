import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, TEST_NOW, type TestContext } from './support/harness.js';
import { oneOff, recurring } from './support/histories.js';
import { inOrder, ledgerSnapshot } from './support/ledger.js';
import { deliver, type StripeEvent } from './support/stripe-events.js';
import { onPostgres } from './support/test-db.js';

// Group commit (webhooks/event-groups.ts): on PostgreSQL, events waiting for a connection commit
// together. With DATABASE_POOL_SIZE=1 only one transaction runs at a time, so a burst groups.
const NOW = Date.parse(TEST_NOW) / 1000;
const T0 = Date.parse('2026-01-05T10:00:00Z') / 1000;

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ DATABASE_POOL_SIZE: '1', WEBHOOK_GROUP_SIZE: '8' });
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const burst = (events: StripeEvent[]) =>
  Promise.all(
    events.map(async (e) => {
      const res = await deliver(ctx.app, e, { timestamp: NOW });
      return { id: e.id, status: res.status, outcome: ((await res.json()) as { outcome?: string }).outcome };
    }),
  );

describe.runIf(onPostgres)('webhook events under load', () => {
  it('commit in groups, each exactly once, and the ledger is the one of one-at-a-time delivery', async () => {
    const histories = [
      ...Array.from({ length: 12 }, (_, i) => oneOff(100 + i, T0 + i)),
      ...Array.from({ length: 4 }, (_, i) => recurring(200 + i, T0 + 50 + i, { interval: 'month', renewals: 1 })),
    ];
    const events = inOrder(histories);
    for (const e of events) expect((await deliver(ctx.app, e, { timestamp: NOW })).status).toBe(200);
    const reference = await ledgerSnapshot(ctx.database);

    await ctx.reset();
    const before = { ...ctx.deps.eventGroups!.counts };
    // Every event twice, all at once: the second of each is a repeat, in a group or after one.
    const answers = await burst([...events, ...events]);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const outcomes = (id: string) => answers.filter((a) => a.id === id).map((a) => a.outcome);
    for (const e of events) expect(outcomes(e.id).sort()).toEqual(['duplicate', 'processed']);
    expect(await ledgerSnapshot(ctx.database)).toEqual(reference);

    const counts = ctx.deps.eventGroups!.counts;
    expect(counts.groups - before.groups).toBeGreaterThan(0);
    expect(counts.grouped - before.grouped).toBeGreaterThan(counts.groups - before.groups);
    expect(counts.retriedAlone - before.retriedAlone).toBe(0);
  });

  it('a group with an event the database refuses commits the others; that one alone fails and is kept for retry', async () => {
    const good = Array.from({ length: 15 }, (_, i) => oneOff(300 + i, T0 + i).events[0]!);
    // Passes its schema, but the ledger's currency check refuses it.
    const bad = oneOff(399, T0 + 99, { currency: 'dollars' }).events[0]!;
    const before = { ...ctx.deps.eventGroups!.counts };
    const answers = await burst([...good.slice(0, 8), bad, ...good.slice(8)]);

    expect(answers.find((a) => a.id === bad.id)?.status).toBe(500);
    expect(answers.filter((a) => a.id !== bad.id).every((a) => a.status === 200 && a.outcome === 'processed')).toBe(
      true,
    );
    expect(ctx.deps.eventGroups!.counts.retriedAlone - before.retriedAlone).toBeGreaterThan(1);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts).toHaveLength(15);
    const stored = await ctx.database.db
      .selectFrom('stripe_events')
      .select(['outcome', 'processed_at'])
      .where('id', '=', bad.id)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ outcome: 'failed', processed_at: null });
  });
});

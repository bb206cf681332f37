import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lockIds } from '../db/advisory-locks.js';
import { createTestContext, TEST_NOW, type TestContext } from './support/harness.js';
import { oneOff, recurring } from './support/histories.js';
import { inOrder, ledgerSnapshot } from './support/ledger.js';
import { deliver, event, type StripeEvent, untaggedSubscription } from './support/stripe-events.js';

// Group commit (webhooks/event-groups.ts): on PostgreSQL, events waiting for a connection commit
// together. With WEBHOOK_POOL_SIZE=1 only one transaction runs at a time, so a burst groups.
const NOW = Date.parse(TEST_NOW) / 1000;
const T0 = Date.parse('2026-01-05T10:00:00Z') / 1000;

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ WEBHOOK_POOL_SIZE: '1', WEBHOOK_GROUP_SIZE: '8' });
});
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const answer = async (e: StripeEvent, c = ctx) => {
  const res = await deliver(c.app, e, { timestamp: NOW });
  return { id: e.id, status: res.status, outcome: ((await res.json()) as { outcome?: string }).outcome };
};
const burst = (events: StripeEvent[], c = ctx) => Promise.all(events.map((e) => answer(e, c)));

describe('webhook events under load', () => {
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

  it('events that read first, or are ignored, commit alone', async () => {
    const untagged = Array.from({ length: 10 }, (_, i) =>
      event('customer.subscription.created', untaggedSubscription(`sub_other${i}`, `cus_other${i}`, T0), {
        created: T0 + i,
      }),
    );
    const before = { ...ctx.deps.eventGroups!.counts };
    const answers = await burst(untagged);
    expect(answers.every((a) => a.status === 200 && a.outcome === 'ignored')).toBe(true);
    expect(ctx.deps.eventGroups!.counts).toEqual(before);
  });
});

describe('webhook events waiting for a transaction', () => {
  it('an event that reads first holds its connection like any other: the events behind it wait, then group', async () => {
    await ctx.reset();
    const reading = event('customer.subscription.updated', untaggedSubscription('sub_held', 'cus_held', T0), {
      created: T0,
    });
    const [key] = lockIds(['customer:cus_held']);
    const other = new pg.Client({ connectionString: ctx.database.url! });
    await other.connect();
    try {
      await other.query('select pg_advisory_lock($1::int8)', [String(key)]);
      // It takes the one webhook connection and waits for its key inside its transaction.
      const readingAnswer = answer(reading);
      await new Promise((r) => setTimeout(r, 100));
      const before = { ...ctx.deps.eventGroups!.counts };
      const waiting = [0, 1, 2].map((i) => answer(oneOff(850 + i, T0 + i).events[0]!));
      await new Promise((r) => setTimeout(r, 100));
      await other.query('select pg_advisory_unlock($1::int8)', [String(key)]);
      expect(await readingAnswer).toMatchObject({ status: 200, outcome: 'ignored' });
      expect((await Promise.all(waiting)).every((a) => a.status === 200 && a.outcome === 'processed')).toBe(true);
      // All three waited in the groups' queue, not in the pool's, so they went together.
      const counts = ctx.deps.eventGroups!.counts;
      expect({ groups: counts.groups - before.groups, grouped: counts.grouped - before.grouped }).toEqual({
        groups: 1,
        grouped: 3,
      });
    } finally {
      await other.end();
    }
  });

  it('give up after DATABASE_CONNECT_TIMEOUT_MS, answer 500 and are kept for retry', async () => {
    await ctx.reset();
    ctx.rebuild({ WEBHOOK_POOL_SIZE: '1', WEBHOOK_GROUP_SIZE: '8', DATABASE_CONNECT_TIMEOUT_MS: '300' });
    const [first, second] = [oneOff(800, T0).events[0]!, oneOff(801, T0 + 1).events[0]!];
    const [key] = lockIds([`customer:${first.data.object.customer}`]);
    const other = new pg.Client({ connectionString: ctx.database.url! });
    await other.connect();
    try {
      await other.query('select pg_advisory_lock($1::int8)', [String(key)]);
      // The first takes the one transaction slot and waits for its key; the second queues behind it.
      const firstAnswer = answer(first);
      await new Promise((r) => setTimeout(r, 100));
      expect(await answer(second)).toMatchObject({ status: 500 });
      await other.query('select pg_advisory_unlock($1::int8)', [String(key)]);
      expect(await firstAnswer).toMatchObject({ status: 200, outcome: 'processed' });
    } finally {
      await other.end();
      ctx.rebuild({ WEBHOOK_POOL_SIZE: '1', WEBHOOK_GROUP_SIZE: '8' });
    }
    const stored = await ctx.database.db.selectFrom('stripe_events').select(['id', 'outcome']).orderBy('id').execute();
    expect(Object.fromEntries(stored.map((r) => [r.id, r.outcome]))).toEqual({
      [first.id]: 'processed',
      [second.id]: 'failed',
    });
    // Stripe's retry, once there is room, goes through.
    expect(await answer(second)).toMatchObject({ status: 200, outcome: 'processed' });
  });
});

describe('webhook events under load, four connections', () => {
  let wide: TestContext;
  beforeAll(async () => {
    wide = await createTestContext({ WEBHOOK_POOL_SIZE: '4', WEBHOOK_GROUP_SIZE: '4' });
  });
  afterAll(() => wide?.close());

  it('groups committing side by side, with repeats in them, give the one-at-a-time ledger', async () => {
    const events = inOrder([
      ...Array.from({ length: 10 }, (_, i) => oneOff(500 + i, T0 + i)),
      ...Array.from({ length: 5 }, (_, i) => recurring(600 + i, T0 + 30 + i, { interval: 'month', renewals: 2 })),
    ]);
    for (const e of events) expect((await deliver(wide.app, e, { timestamp: NOW })).status).toBe(200);
    const reference = await ledgerSnapshot(wide.database);
    for (let round = 0; round < 3; round++) {
      await wide.reset();
      const before = { ...wide.deps.eventGroups!.counts };
      const answers = await burst([...events, ...events, ...events.slice(0, 10)], wide);
      expect(answers.every((a) => a.status === 200)).toBe(true);
      for (const e of events) expect(answers.filter((a) => a.id === e.id && a.outcome === 'processed')).toHaveLength(1);
      expect(await ledgerSnapshot(wide.database)).toEqual(reference);
      expect(wide.deps.eventGroups!.counts.groups).toBeGreaterThan(before.groups);
    }
  });

  it('a key held elsewhere holds up only its own event: the rest of its group commits', async () => {
    const events = Array.from({ length: 12 }, (_, i) => oneOff(700 + i, T0 + i).events[0]!);
    const held = events[5]!;
    const [key] = lockIds([`customer:${held.data.object.customer}`]);
    await wide.reset();
    const other = new pg.Client({ connectionString: wide.database.url! });
    await other.connect();
    try {
      await other.query('select pg_advisory_lock($1::int8)', [String(key)]);
      // All at once, the held one among them: the first four take the connections, the rest group.
      const answers = events.map((e) => answer(e, wide));
      const heldAnswer = answers[5]!;
      let heldDone = false;
      void heldAnswer.then(() => {
        heldDone = true;
      });
      const rest = await Promise.all(answers.filter((a) => a !== heldAnswer));
      expect(rest.every((a) => a.status === 200 && a.outcome === 'processed')).toBe(true);
      expect(heldDone).toBe(false);
      await other.query('select pg_advisory_unlock($1::int8)', [String(key)]);
      expect(await heldAnswer).toMatchObject({ status: 200, outcome: 'processed' });
    } finally {
      await other.end();
    }
    expect((await ledgerSnapshot(wide.database)).gifts).toHaveLength(12);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Deps } from '../src/deps.js';
import { reconcile } from '../src/stripe/reconcile.js';
import { runScheduledReconcile } from '../src/stripe/reconcile-schedule.js';
import { createTestContext, type TestContext } from './support/harness.js';
import { disputed, type History, oneOff, recurring, refunded, refundedRenewal } from './support/histories.js';
import { deliverAll, inOrder, ledgerSnapshot } from './support/ledger.js';
import { staffToken } from './support/staff.js';
import { deliver, type StripeEvent } from './support/stripe-events.js';

let ctx: TestContext;
let reference: TestContext;

beforeAll(async () => {
  [ctx, reference] = await Promise.all([createTestContext(), createTestContext()]);
});
afterAll(async () => {
  await Promise.all([ctx.close(), reference.close()]);
});
beforeEach(async () => {
  await Promise.all([ctx.reset(), reference.reset()]);
});

const DAY = 86_400;
const T = Date.UTC(2026, 9, 1) / 1000;

function histories(): History[] {
  return [
    oneOff(1, T),
    recurring(2, T + 3600, { interval: 'month', renewals: 2 }),
    refunded(3, T + 7200, [500, 2000]),
    disputed(4, T + 9000, 'lost'),
    refundedRenewal(5, T + 10_000),
    recurring(6, T + 12_000, { interval: 'year', renewals: 0, cancel: true }),
  ];
}

/** The account as Stripe holds it: every event in its list, lookups arranged. */
function arrange(target: TestContext, hs: History[]) {
  for (const h of hs) h.arrange?.(target.stripe);
  target.stripe.addEvents(inOrder(hs));
}

/** Part delivered in order, part out of order, part never; one stored as failed with its body gone. */
async function partialDelivery(events: StripeEvent[]) {
  const late = events.filter((_, i) => i % 3 === 1).reverse();
  const failed = events.filter((_, i) => i % 3 === 2)[0]!;
  for (const e of late) expect((await deliver(ctx.app, e, { timestamp: T })).status).toBe(200);
  await ctx.database.db
    .insertInto('stripe_events')
    .values({
      id: failed.id,
      type: failed.type,
      api_version: null,
      created: new Date(failed.created * 1000),
      livemode: false,
      payload: null,
      received_at: new Date(T * 1000),
      processed_at: null,
      outcome: 'failed',
      error: 'the database was away',
    })
    .execute();
  return { never: events.length - late.length - 1, failed: 1 };
}

describe('stripe reconcile', () => {
  it('applies what never arrived or failed, making the ledger equal to full delivery; a second run applies nothing', async () => {
    const hs = histories();
    const events = inOrder(hs);
    arrange(ctx, hs);
    ctx.clock.set(new Date(T * 1000));
    const { never, failed } = await partialDelivery(events);
    arrange(reference, histories());
    reference.clock.set(new Date(T * 1000));
    await deliverAll(reference.app, inOrder(histories()), T);
    ctx.clock.set(new Date((T + 100 * DAY) * 1000));
    const full = await ledgerSnapshot(reference.database);
    expect(await ledgerSnapshot(ctx.database)).not.toEqual(full);

    const since = new Date((T - DAY) * 1000);
    const before = await ledgerSnapshot(ctx.database);
    const lines: string[] = [];
    const dry = await reconcile(ctx.deps, {
      since,
      dryRun: true,
      trigger: 'cli',
      onLine: (l) => lines.push(l.outcome),
    });
    expect(dry).toMatchObject({ seen: events.length, applied: never + failed, failed: 0 });
    expect(lines.every((l) => l === 'would apply')).toBe(true);
    expect(await ledgerSnapshot(ctx.database)).toEqual(before);
    expect(await ctx.database.db.selectFrom('reconcile_runs').selectAll().execute()).toEqual([]);

    const run = await reconcile(ctx.deps, { since, dryRun: false, trigger: 'cli' });
    expect(run).toMatchObject({
      seen: events.length,
      alreadyRecorded: events.length - never - failed,
      applied: never + failed,
      failed: 0,
    });
    expect(await ledgerSnapshot(ctx.database)).toEqual(full);
    const again = await reconcile(ctx.deps, { since, dryRun: false, trigger: 'cli' });
    expect(again).toMatchObject({ seen: events.length, alreadyRecorded: events.length, applied: 0, failed: 0 });

    const finance = await staffToken(ctx, 'finance');
    const summary = (await (
      await ctx.app.request('/admin/summary', { headers: { authorization: `Bearer ${finance}` } })
    ).json()) as any;
    expect(summary.lastReconcile).toMatchObject({
      trigger: 'cli',
      complete: true,
      window: { from: since.toISOString() },
      seen: events.length,
      alreadyRecorded: events.length,
      applied: 0,
      failed: 0,
    });
  });

  it('fetched events pass the same checks as delivered ones: another mode is ignored, not applied', async () => {
    const [h] = [oneOff(9, T)];
    const live = { ...h!.events[0]!, id: 'evt_live_one', livemode: true };
    ctx.stripe.addEvents([live]);
    ctx.clock.set(new Date((T + DAY) * 1000));
    const run = await reconcile(ctx.deps, { since: new Date((T - DAY) * 1000), dryRun: false, trigger: 'cli' });
    expect(run).toMatchObject({ seen: 1, applied: 1, failed: 0 });
    expect(await ctx.database.db.selectFrom('gifts').selectAll().execute()).toEqual([]);
    const row = await ctx.database.db.selectFrom('stripe_events').select('outcome').executeTakeFirstOrThrow();
    expect(row.outcome).toBe('ignored');
  });

  it('a Stripe failure stops the run, recorded as incomplete', async () => {
    ctx.stripe.failNext({ status: 500 });
    await expect(
      reconcile(ctx.deps, { since: new Date((T - DAY) * 1000), dryRun: false, trigger: 'cli' }),
    ).rejects.toThrow();
    const run = await ctx.database.db.selectFrom('reconcile_runs').selectAll().executeTakeFirstOrThrow();
    expect(run).toMatchObject({ complete: false });
    expect(run.error).toBeTruthy();
  });
});

describe('the scheduled reconcile', () => {
  it('two servers run it once per interval, each window starting where the last ended, less the overlap', async () => {
    arrange(ctx, histories());
    ctx.clock.set(new Date((T + 10 * DAY) * 1000));
    const a: Deps = ctx.deps;
    ctx.rebuild();
    const b: Deps = ctx.deps;
    const outcomes = await Promise.all([runScheduledReconcile(a), runScheduledReconcile(b)]);
    const ran = outcomes.filter((o) => typeof o === 'object');
    expect(ran).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'busy' || o === 'not due')).toHaveLength(1);
    expect(await runScheduledReconcile(a)).toBe('not due');
    expect(await runScheduledReconcile(b)).toBe('not due');

    ctx.clock.advance(59 * 60_000);
    expect(await runScheduledReconcile(b)).toBe('not due');
    ctx.clock.advance(60_000);
    const second = await runScheduledReconcile(b);
    expect(second).toMatchObject({ applied: 0 });
    const runs = await ctx.database.db.selectFrom('reconcile_runs').selectAll().orderBy('started_at').execute();
    expect(runs).toHaveLength(2);
    expect(runs.every((r) => r.trigger === 'schedule' && r.complete)).toBe(true);
    // The first reaches back as far as Stripe keeps events; the next from the first's end, less 10 minutes.
    expect(runs[0]!.window_from.getTime()).toBe((T + 10 * DAY - 30 * DAY) * 1000);
    expect(runs[1]!.window_from.getTime()).toBe(runs[0]!.window_to.getTime() - 10 * 60_000);
    expect(runs[0]!.applied).toBeGreaterThan(0);
  });
});

describe('what reconcile leaves alone', () => {
  it('an event listed in another API version is reported, not applied or stored', async () => {
    const [h] = [oneOff(11, T)];
    ctx.stripe.addEvents([{ ...h!.events[0]!, api_version: '2025-03-31.basil' }]);
    ctx.clock.set(new Date((T + DAY) * 1000));
    const lines: string[] = [];
    const run = await reconcile(ctx.deps, {
      since: new Date((T - DAY) * 1000),
      dryRun: false,
      trigger: 'cli',
      onLine: (l) => lines.push(`${l.outcome} ${l.detail}`),
    });
    expect(run).toMatchObject({ seen: 1, applied: 0, failed: 1 });
    expect(lines[0]).toMatch(/^failed rendered in API version 2025-03-31\.basil, not /);
    expect(await ctx.database.db.selectFrom('stripe_events').selectAll().execute()).toEqual([]);
  });

  it('the schedule keeps its own window whatever the command line ran, and a failing run waits an interval', async () => {
    arrange(ctx, histories());
    ctx.clock.set(new Date((T + 10 * DAY) * 1000));
    await reconcile(ctx.deps, { since: new Date((T + 10 * DAY - 60) * 1000), dryRun: false, trigger: 'cli' });
    ctx.stripe.failNext({ status: 500 });
    await expect(runScheduledReconcile(ctx.deps)).rejects.toThrow();
    expect(await runScheduledReconcile(ctx.deps)).toBe('not due');
    ctx.clock.advance(60 * 60_000);
    const run = await runScheduledReconcile(ctx.deps);
    expect(run).toMatchObject({ failed: 0 });
    const scheduled = await ctx.database.db
      .selectFrom('reconcile_runs')
      .selectAll()
      .where('trigger', '=', 'schedule')
      .orderBy('started_at')
      .execute();
    expect(scheduled.map((r) => r.complete)).toEqual([false, true]);
    // No complete scheduled run before: it reaches back 30 days, not to the command line's minute.
    expect(scheduled[1]!.window_from.getTime()).toBe((T + 10 * DAY) * 1000 + 3600_000 - 30 * DAY * 1000);
    // And stops short of the last RECONCILE_GRACE_MINUTES.
    expect(scheduled[1]!.window_to.getTime()).toBe((T + 10 * DAY) * 1000 + 3600_000 - 5 * 60_000);
    expect((run as { applied: number }).applied).toBeGreaterThan(0);
  });
});

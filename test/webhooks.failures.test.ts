import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replayEvents } from '../webhooks/replay.js';
import { freshDataDir, openDataDir } from './support/data-dir.js';
import { createTestContext, TEST_NOW, type TestContext } from './support/harness.js';
import { oneOff, recurring, refundedRenewal } from './support/histories.js';
import { deliverAll, inOrder, ledgerSnapshot } from './support/ledger.js';
import { childEnv, runTs } from './support/processes.js';
import { checkoutSession, deliver, event, invoice } from './support/stripe-events.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());
beforeEach(async () => {
  await ctx.reset();
  await sql`drop trigger if exists fail_gifts on gifts`.execute(ctx.database.db);
});

const NOW = Date.parse(TEST_NOW) / 1000;
const T0 = Date.parse('2026-03-01T08:00:00Z') / 1000;

/** Makes the database fail the next `times` gift inserts, inside the event's own transaction. */
async function failGiftInserts(times: number) {
  const { db } = ctx.database;
  await sql`drop sequence if exists fail_seq`.execute(db);
  await sql`create sequence fail_seq`.execute(db);
  await sql
    .raw(`create or replace function fail_gift_insert() returns trigger language plpgsql as $$
    begin
      if nextval('fail_seq') <= ${times} then raise exception 'injected database failure'; end if;
      return new;
    end $$`)
    .execute(db);
  await sql`create trigger fail_gifts before insert on gifts for each row execute function fail_gift_insert()`.execute(
    db,
  );
}

async function eventRow(id: string) {
  return ctx.database.db.selectFrom('stripe_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describe('webhook failures', () => {
  it('20 concurrent deliveries of one event make one ledger row', async () => {
    const [e] = oneOff(1, T0).events;
    const answers = await Promise.all(Array.from({ length: 20 }, () => deliver(ctx.app, e!, { timestamp: NOW })));
    const outcomes = await Promise.all(answers.map(async (r) => [r.status, (await r.json()).outcome]));
    expect(outcomes.filter(([s]) => s === 200)).toHaveLength(20);
    expect(outcomes.filter(([, o]) => o === 'processed')).toHaveLength(1);
    expect(outcomes.filter(([, o]) => o === 'duplicate')).toHaveLength(19);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts).toHaveLength(1);
    expect(snap.supporters).toHaveLength(1);
    expect(snap.totals).toEqual([{ currency: 'usd', net: 1000 }]);
  });

  it('a database failure in the middle of an event answers 500, leaves nothing half-written, and the retry records it', async () => {
    await failGiftInserts(1);
    const [e] = oneOff(1, T0).events;
    const first = await deliver(ctx.app, e!, { timestamp: NOW });
    expect(first.status).toBe(500);
    expect((await first.json()).error.code).toBe('event_processing_failed');
    // The supporter upsert ran before the failing gift insert, in the same transaction: rolled back too.
    const half = await ledgerSnapshot(ctx.database);
    expect(half.supporters).toEqual([]);
    expect(half.gifts).toEqual([]);
    expect(await eventRow(e!.id)).toMatchObject({ outcome: 'failed', error: 'injected database failure', attempts: 1 });

    const retry = await deliver(ctx.app, e!, { timestamp: NOW });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ received: true, outcome: 'processed' });
    expect((await ledgerSnapshot(ctx.database)).gifts).toHaveLength(1);
    const row = await eventRow(e!.id);
    expect(row).toMatchObject({ outcome: 'processed', error: null, attempts: 2 });
    expect(row.processed_at).not.toBeNull();
  });

  it('webhooks replay re-processes failed events, in order, and is a no-op the second time', async () => {
    await failGiftInserts(4);
    const events = inOrder([recurring(1, T0, { interval: 'month', renewals: 1 }), oneOff(2, T0 + 10)]);
    for (const e of events) await deliver(ctx.app, e, { timestamp: NOW });
    const failed = await ctx.database.db
      .selectFrom('stripe_events')
      .select('id')
      .where('outcome', '=', 'failed')
      .execute();
    expect(failed.length).toBeGreaterThan(0);
    await sql`drop trigger fail_gifts on gifts`.execute(ctx.database.db);

    const results = await replayEvents(ctx.deps, {});
    expect(results.map((r) => r.outcome)).toEqual(failed.map(() => 'processed'));
    const expected = await ledgerSnapshot(ctx.database);
    expect(expected.gifts).toHaveLength(3);
    expect(await replayEvents(ctx.deps, {})).toEqual([]);

    // The same history delivered cleanly gives the same ledger.
    await ctx.reset();
    await deliverAll(ctx.app, events, NOW);
    expect(await ledgerSnapshot(ctx.database)).toEqual(expected);
  });

  it('replay --since only takes events received since then, and --id one event', async () => {
    await failGiftInserts(10);
    const [a] = oneOff(1, T0).events;
    const [b] = oneOff(2, T0).events;
    await deliver(ctx.app, a!, { timestamp: NOW });
    ctx.clock.advance(3600_000);
    await deliver(ctx.app, b!, { timestamp: NOW + 3600 });
    await sql`drop trigger fail_gifts on gifts`.execute(ctx.database.db);
    const since = new Date(Date.parse(TEST_NOW) + 1800_000);
    expect((await replayEvents(ctx.deps, { since })).map((r) => r.id)).toEqual([b!.id]);
    expect((await replayEvents(ctx.deps, { id: a!.id })).map((r) => [r.id, r.outcome])).toEqual([[a!.id, 'processed']]);
    expect((await replayEvents(ctx.deps, { id: a!.id })).map((r) => r.outcome)).toEqual(['duplicate']);
  });

  it('a refund that cannot be traced without STRIPE_SECRET_KEY fails (no silent loss) and replays once the key is set', async () => {
    const history = refundedRenewal(1, T0);
    history.arrange?.(ctx.stripe);
    const events = inOrder([history]);
    await deliverAll(ctx.app, events.slice(0, -1), NOW);
    ctx.rebuild({ STRIPE_SECRET_KEY: undefined });
    const refund = events.at(-1)!;
    const res = await deliver(ctx.app, refund, { timestamp: NOW });
    expect(res.status).toBe(500);
    expect(await eventRow(refund.id)).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining('STRIPE_SECRET_KEY'),
    });
    ctx.rebuild();
    expect((await replayEvents(ctx.deps, { id: refund.id })).map((r) => r.outcome)).toEqual(['processed']);
    const snap = await ledgerSnapshot(ctx.database);
    expect(snap.gifts.find((g) => g.stripe_invoice_id === 'in_sub_monthly1_1')?.status).toBe('refunded');
  });

  it('two gifts of one supporter recorded at the same moment both count in first and last gift dates', async () => {
    const md = { rd_source: 'reader-donations', frequency: 'monthly' };
    for (let k = 0; k < 8; k++) {
      await ctx.reset();
      const start = checkoutSession({
        id: `cs_test_start${k}`,
        mode: 'subscription',
        paymentStatus: 'paid',
        amount: 500,
        email: 'both@example.org',
        customer: 'cus_both',
        subscription: 'sub_both',
        metadata: md,
      });
      await deliverAll(ctx.app, [event('checkout.session.completed', start, { created: T0 })], NOW);
      const once = checkoutSession({
        id: `cs_test_once${k}`,
        mode: 'payment',
        paymentStatus: 'paid',
        amount: 700,
        email: 'both@example.org',
        customer: 'cus_other',
        paymentIntent: `pi_once${k}`,
        metadata: { rd_source: 'reader-donations', frequency: 'once' },
      });
      // An invoice without an e-mail finds the supporter through the customer: other lock keys.
      const renewal = invoice({
        id: `in_both${k}`,
        subscription: 'sub_both',
        customer: 'cus_both',
        email: null,
        amountPaid: 500,
        billingReason: 'subscription_cycle',
        paidAt: T0 + 10 * 86_400,
        periodStart: T0,
        periodEnd: T0 + 30 * 86_400,
        metadata: md,
      });
      const answers = await Promise.all([
        deliver(ctx.app, event('checkout.session.completed', once, { created: T0 + 86_400 }), { timestamp: NOW }),
        deliver(ctx.app, event('invoice.paid', renewal, { created: T0 + 10 * 86_400 }), { timestamp: NOW }),
      ]);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      const [supporter] = (await ledgerSnapshot(ctx.database)).supporters;
      expect(supporter?.first_gift_at).toEqual(new Date((T0 + 86_400) * 1000));
      expect(supporter?.last_gift_at).toEqual(new Date((T0 + 10 * 86_400) * 1000));
    }
  });

  it('with the database gone, a delivery answers 5xx so Stripe retries', async () => {
    const other = await createTestContext();
    await other.database.close();
    const [e] = oneOff(1, T0).events;
    const res = await deliver(other.app, e!, { timestamp: NOW });
    expect(res.status).toBeGreaterThanOrEqual(500);
    await other.stripe.stop();
  });
});

describe('webhooks replay, from the command line', () => {
  it('replays a failed event stored in an embedded database folder', async () => {
    const dataDir = freshDataDir('rd-replay-');
    const handle = await openDataDir(dataDir);
    const [e] = oneOff(1, T0).events;
    await handle.db
      .insertInto('stripe_events')
      .values({
        id: e!.id,
        type: e!.type,
        api_version: e!.api_version,
        created: new Date(e!.created * 1000),
        livemode: false,
        payload: JSON.stringify(e),
        received_at: new Date(),
        outcome: 'failed',
        error: 'injected',
        attempts: 1,
      })
      .execute();
    await handle.close();

    const result = await runTs('src/cli/main.ts', ['webhooks', 'replay'], childEnv({ DATA_DIR: dataDir }));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `${e!.id}\tcheckout.session.completed\tprocessed\nreplayed 1 event(s): 1 done, 0 still failing\n`,
    );
    expect(result.code).toBe(0);

    const again = await runTs('src/cli/main.ts', ['webhooks', 'replay'], childEnv({ DATA_DIR: dataDir }));
    expect(again.stdout).toBe('replayed 0 event(s): 0 done, 0 still failing\n');

    const check = await openDataDir(dataDir);
    const gifts = await check.db.selectFrom('gifts').select(['amount', 'status']).execute();
    await check.close();
    expect(gifts).toEqual([{ amount: 1000, status: 'succeeded' }]);
    // Two CLI processes, each opening the embedded database: slow on a loaded CI machine.
  }, 90_000);

  it('prints the event types to subscribe, and rejects a bad --since', async () => {
    const events = await runTs('src/cli/main.ts', ['webhooks', 'events'], childEnv({}));
    expect(events.stdout.trim().split('\n')).toContain('invoice.paid');
    expect(events.stdout.trim().split('\n')).toHaveLength(12);
    const bad = await runTs(
      'src/cli/main.ts',
      ['webhooks', 'replay', '--since', 'yesterday'],
      childEnv({ DATA_DIR: freshDataDir('rd-') }),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be an ISO date');
  });
});

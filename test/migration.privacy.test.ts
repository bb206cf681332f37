import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../db/migrate.js';
import { fixedClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { applyRetention } from '../src/privacy/retention.js';
import { TEST_NOW } from './support/harness.js';
import { checkoutSession, event } from './support/stripe-events.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

const BEFORE = '2026_11_29_0600_orphan_indexes';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ upTo: BEFORE });
});
afterAll(() => database.close());

const at = new Date(TEST_NOW);
const body = (id: string, email: string, name = 'Anna') =>
  JSON.stringify(
    event(
      'checkout.session.completed',
      checkoutSession({
        id: `cs_test_${id}`,
        mode: 'payment',
        paymentStatus: 'paid',
        amount: 500,
        email,
        name,
        customer: `cus_${id}`,
        paymentIntent: `pi_${id}`,
      }),
      { id: `evt_${id}`, created: at.getTime() / 1000 },
    ),
  );

describe('migration 2026_12_01_0000 on an installation of the version before', () => {
  it('keeps failed bodies, empties keyed tables and closed reminders, and the sweep drops the processed bodies', async () => {
    const db = database.db as any;
    const row = (id: string, outcome: string, payload: string) => ({
      id: `evt_${id}`,
      type: 'checkout.session.completed',
      api_version: null,
      created: at,
      livemode: false,
      payload,
      received_at: at,
      processed_at: outcome === 'failed' ? null : at,
      outcome,
      attempts: 1,
    });
    await db
      .insertInto('stripe_events')
      .values([
        row('done', 'processed', body('done', 'old@example.org')),
        row('shop', 'ignored', body('shop', 'shopper@example.org')),
        row('waiting', 'failed', body('waiting', 'waiting@example.org')),
        // A body with an escaped NUL, which PostgreSQL's jsonb cannot hold.
        row('nul', 'processed', body('nul', 'nul@example.org', 'Ann\u0000a')),
      ])
      .execute();
    const reminder = (id: string, status: string) => ({
      id,
      kind: 'email',
      email: `${status}@example.org`,
      remind_at: at,
      status,
      created_at: at,
      updated_at: at,
      closed_at: status === 'pending' ? null : at,
    });
    await db
      .insertInto('reminders')
      .values([
        reminder('00000000-0000-4000-8000-000000000001', 'pending'),
        reminder('00000000-0000-4000-8000-000000000002', 'sent'),
      ])
      .execute();
    await db
      .insertInto('rate_limit_counters')
      .values({ bucket: 'checkout:ip:203.0.113.9', window_start: at, count: 3 })
      .execute();

    await migrateToLatest(database.db);

    const events = () =>
      database.db.selectFrom('stripe_events').select(['id', 'payload', 'object_ids']).orderBy('id').execute();
    expect((await events()).map((e) => [e.id, e.payload !== null])).toEqual([
      ['evt_done', true],
      ['evt_nul', true],
      ['evt_shop', true],
      ['evt_waiting', true],
    ]);
    expect(
      (await database.db.selectFrom('reminders').select(['status', 'email']).orderBy('status').execute()).map(
        (r) => `${r.status}:${r.email}`,
      ),
    ).toEqual(['pending:pending@example.org', 'sent:null']);
    expect(await database.db.selectFrom('rate_limit_counters').selectAll().execute()).toEqual([]);

    const result = await applyRetention(
      { db: database.db, config: loadConfig({}), clock: fixedClock(TEST_NOW) },
      { backlogMs: Number.POSITIVE_INFINITY },
    );
    expect(result.processedEventBodies).toBe(3);
    expect(await events()).toEqual([
      { id: 'evt_done', payload: null, object_ids: ['cs_test_done', 'cus_done', 'pi_done'] },
      { id: 'evt_nul', payload: null, object_ids: ['cs_test_nul', 'cus_nul', 'pi_nul'] },
      { id: 'evt_shop', payload: null, object_ids: ['cs_test_shop', 'cus_shop', 'pi_shop'] },
      { id: 'evt_waiting', payload: body('waiting', 'waiting@example.org'), object_ids: [] },
    ]);
    // Nothing left for the next sweep.
    const again = await applyRetention({ db: database.db, config: loadConfig({}), clock: fixedClock(TEST_NOW) });
    expect(again.processedEventBodies).toBe(0);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from stripe_events
      where payload like '%@example.org%'`.execute(database.db);
    expect(rows[0]?.n).toBe(1);

    // An instance of the version before, still running during the upgrade, can still count.
    await sql`insert into rate_limit_counters (bucket, window_start, count) values ('checkout:ip:old', now(), 1)`.execute(
      database.db,
    );
    expect(await database.db.selectFrom('rate_limit_counters').select('bucket').execute()).toEqual([
      { bucket: 'checkout:ip:old' },
    ]);
  });

  it("the server's sweep works through a large backlog a bounded batch at a time", async () => {
    await sql`insert into stripe_events (id, type, created, livemode, payload, received_at, processed_at, outcome)
      select 'evt_many_' || i, 'charge.refunded', now(), false, '{"data":{"object":{"id":"ch_' || i || '"}}}', now(), now(),
        'processed'
      from generate_series(1, 620) i`.execute(database.db);
    const sweep = () =>
      applyRetention({ db: database.db, config: loadConfig({}), clock: fixedClock(TEST_NOW) }, { backlogMs: 0 });
    expect((await sweep()).processedEventBodies).toBe(500);
    expect((await sweep()).processedEventBodies).toBe(120);
    expect((await sweep()).processedEventBodies).toBe(0);
    const row = await database.db
      .selectFrom('stripe_events')
      .select(['payload', 'object_ids'])
      .where('id', '=', 'evt_many_7')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ payload: null, object_ids: ['ch_7'] });
  });
});

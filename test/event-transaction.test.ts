import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/connect.js';
import { PREPARE_MARK } from '../db/prepared-statements.js';
import { pgSessions } from '../db/statement-session.js';
import { EventTransaction } from '../webhooks/event-transaction.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

// The webhook path's transactions: what they commit, what they roll back, and on PostgreSQL how
// many writes to the socket they take. Runs on both databases.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await sql`create table tx_probe (id int primary key, note text not null)`.execute(db.db);
});
afterAll(() => db.close());
beforeEach(() => sql`truncate tx_probe`.execute(db.db));

const insert = (id: number, note: string) =>
  CompiledQuery.raw('insert into tx_probe (id, note) values ($1, $2) returning id', [id, note]);
const probe = async () =>
  (await sql<{ id: number }>`select id from tx_probe order by id`.execute(db.db)).rows.map((r) => r.id);

describe('an event transaction', () => {
  it('commits its statements with their locks, and answers each statement with its rows', async () => {
    const rows = await db.withSession(async (session) => {
      const tx = new EventTransaction(session, [42n, -7n]);
      const first = await tx.query(insert(1, 'a'));
      const rest = await tx.commit(insert(2, 'b'), insert(3, 'c'));
      return [first, ...rest];
    });
    expect(rows).toEqual([[{ id: 1 }], [{ id: 2 }], [{ id: 3 }]]);
    expect(await probe()).toEqual([1, 2, 3]);
  });

  it('keeps nothing when a statement sent with COMMIT fails, and its connection works afterwards', async () => {
    const failure = await db
      .withSession(async (session) => {
        const tx = new EventTransaction(session, [1n]);
        try {
          // The duplicate key fails the second statement: the first must not stay.
          await tx.commit(insert(1, 'a'), insert(1, 'again'), insert(2, 'b'));
        } catch (err) {
          await tx.rollback();
          throw err;
        }
      })
      .catch((err: { code?: string }) => err);
    expect(failure).toMatchObject({ code: '23505' });
    expect(await probe()).toEqual([]);
    // Every pooled connection is still usable, none left inside a transaction.
    const statuses = await Promise.all(
      Array.from({ length: 12 }, () =>
        db.withSession(async (session) => {
          const [rows] = await session.send([CompiledQuery.raw('select 1 as one')]);
          return rows;
        }),
      ),
    );
    expect(statuses.every((r) => r?.[0]?.one === 1)).toBe(true);
  });

  it('stops at its locks when its event is processed already, before its statements run', async () => {
    const event = (id: string, processedAt: Date | null) =>
      db.db
        .insertInto('stripe_events')
        .values({
          id,
          type: 'invoice.paid',
          api_version: null,
          created: new Date('2026-01-01T00:00:00Z'),
          livemode: false,
          payload: '{}',
          received_at: new Date('2026-01-01T00:00:00Z'),
          outcome: processedAt ? 'processed' : 'failed',
          processed_at: processedAt,
          attempts: 1,
        })
        .execute();
    await event('evt_tx_done', new Date('2026-01-01T00:00:01Z'));
    await event('evt_tx_failed', null);
    const run = (eventId: string, id: number) =>
      db
        .withSession(async (session) => {
          const tx = new EventTransaction(session, [77n], eventId);
          try {
            await tx.commit(insert(id, eventId));
            return 'committed';
          } catch (err) {
            await tx.rollback();
            throw err;
          }
        })
        .catch((err: { code?: string }) => err.code);
    expect(await run('evt_tx_done', 1)).toBe('RD001');
    // A failed event is retried: its transaction goes on.
    expect(await run('evt_tx_failed', 2)).toBe('committed');
    expect(await run('evt_tx_unknown', 3)).toBe('committed');
    expect(await probe()).toEqual([2, 3]);
    await sql`delete from stripe_events where id like 'evt_tx_%'`.execute(db.db);
  });

  it('holds its advisory locks until it commits', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const order: string[] = [];
    const first = db.withSession(async (session) => {
      const tx = new EventTransaction(session, [99n]);
      await tx.query(insert(1, 'first'));
      order.push('first locked');
      await held;
      await tx.commit();
      order.push('first committed');
    });
    while (order.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = db.withSession(async (session) => {
      const tx = new EventTransaction(session, [99n]);
      // Its snapshot is taken after the lock: it sees the first transaction's row.
      const [seen] = await tx.commit(CompiledQuery.raw('select count(*)::int as n from tx_probe'));
      order.push(`second saw ${seen![0]!.n}`);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(order).toEqual(['first locked']);
    release();
    await Promise.all([first, second]);
    // Which promise settles first once the lock is free is up to the event loop; what the second
    // transaction saw is not.
    expect(order[0]).toBe('first locked');
    expect(order.slice(1).sort()).toEqual(['first committed', 'second saw 1']);
  });
});

describe('sessions on PostgreSQL', () => {
  it('send a whole transaction in one write to the socket', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    let writes = 0;
    pool.on('connect', (client) => {
      const stream = (client as unknown as { connection: { stream: NodeJS.WritableStream & Record<string, unknown> } })
        .connection.stream;
      for (const method of ['_write', '_writev'] as const) {
        const original = stream[method] as (...args: unknown[]) => unknown;
        stream[method] = (...args: unknown[]) => {
          writes++;
          return original.apply(stream, args);
        };
      }
    });
    try {
      const withSession = pgSessions(pool);
      await withSession((s) => s.send([CompiledQuery.raw('select 1')])); // connects first
      writes = 0;
      await withSession(async (session) => {
        const tx = new EventTransaction(session, [5n, 6n]);
        await tx.commit(insert(10, 'x'), insert(11, 'y'));
      });
      expect(writes).toBe(1);
    } finally {
      await pool.end();
    }
    expect(await probe()).toEqual([10, 11]);
  });

  it('prepare a statement again after a batch that failed once it was prepared', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const withSession = pgSessions(pool);
      const marked = CompiledQuery.raw(`${PREPARE_MARK} select $1::int + 1 as n`, [41]);
      const failing = CompiledQuery.raw('select 1 / 0');
      const first = await withSession((s) => s.transaction([marked, failing])).catch((err: { code?: string }) => err);
      expect(first).toMatchObject({ code: '22012' });
      // Same connection: the statement exists on the server but was not recorded as prepared.
      const [rows] = await withSession((s) => s.transaction([marked]));
      expect(rows).toEqual([{ n: 42 }]);
      const [again] = await withSession((s) => s.transaction([marked]));
      expect(again).toEqual([{ n: 42 }]);
    } finally {
      await pool.end();
    }
  });

  it('share which statements are prepared with the rest of the pool, also after a failed batch', async () => {
    const one = await openDatabase({ url: db.url!, poolSize: 1, connectTimeoutMs: 5000 });
    try {
      const marked = CompiledQuery.raw(`${PREPARE_MARK} select $1::int * 2 as n`, [21]);
      const failed = await one
        .withSession((s) => s.transaction([marked, CompiledQuery.raw('select 1 / 0')]))
        .catch((err: { code?: string }) => err);
      expect(failed).toMatchObject({ code: '22012' });
      // The same connection, through Kysely: pg must know the statement exists, or Parse fails (42P05).
      expect((await one.db.executeQuery(marked)).rows).toEqual([{ n: 42 }]);
      const other = CompiledQuery.raw(`${PREPARE_MARK} select $1::int + 2 as n`, [40]);
      expect((await one.db.executeQuery(other)).rows).toEqual([{ n: 42 }]);
      expect(await one.withSession((s) => s.transaction([other, marked]))).toEqual([[{ n: 42 }], [{ n: 42 }]]);
    } finally {
      await one.close();
    }
  });
});

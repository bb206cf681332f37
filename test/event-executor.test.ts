import type { AddressInfo } from 'node:net';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openDatabase } from '../db/connect.js';
import type { WithPipeline } from '../db/pipeline.js';
import { run, sql } from '../db/sql-fragment.js';
import { applyEvent, type EventJob } from '../webhooks/apply-event.js';
import { defineHandler, type EventHandler, ignored, processed } from '../webhooks/handler.js';
import type { EventEnvelope } from '../webhooks/stripe-objects.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

// The one executor of event effects (webhooks/apply-event.ts), with handlers made up for the test
// that write to a table of their own. Runs on both databases.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await run(db.db, sql`create table tx_probe (id int primary key, note text not null)`);
});
afterAll(() => db.close());
beforeEach(async () => {
  await run(db.db, sql`truncate tx_probe`);
  await run(db.db, sql`delete from stripe_events`);
});

const NOW = new Date('2026-01-02T00:00:00Z');
let serial = 0;
const envelope = (object: Record<string, unknown> = {}): EventEnvelope => ({
  id: `evt_exec_${++serial}`,
  type: 'test.probe',
  created: 1767225600,
  livemode: false,
  data: { object },
});

/** Writes rows to tx_probe, after reading if told to; locks key `k`. */
const probeHandler = (o: { ids: number[]; key?: string; read?: boolean; onRead?: () => Promise<void> }) =>
  defineHandler<Record<string, unknown>, undefined, { n: number }>({
    schema: z.record(z.string(), z.unknown()),
    lockKeys: () => [o.key ?? 'probe'],
    ...(o.read ? { read: () => sql`select count(*)::int as n from tx_probe` } : {}),
    effect(ctx, _object, _prepared, rows) {
      let statement = ctx.statement;
      for (const id of o.ids) {
        const note = rows ? `saw ${rows[0]!.n}` : 'blind';
        statement = statement.write(
          `probe_${id}`,
          (_, when) => sql`insert into tx_probe (id, note) select ${id}, ${note} where ${when}`,
        );
      }
      return processed(statement);
    },
  }) as EventHandler;

const job = (event: EventEnvelope, handler: EventHandler): EventJob => ({
  event,
  handler,
  object: event.data.object,
  prepared: undefined,
  ctx: {
    event: { id: event.id, type: event.type, created: event.created, createdAt: NOW },
    now: NOW,
    erasureCheck: () => null,
  },
});
const probe = () => run<{ id: number; note: string }>(db.db, sql`select id, note from tx_probe order by id`);
const stored = async (id: string) =>
  (
    await run<{ outcome: string; error: string | null }>(
      db.db,
      sql`select outcome, error from stripe_events where id = ${id}`,
    )
  )[0];

/** Every statement the executor sends, and whether it failed. */
function recording(withPipeline: WithPipeline) {
  const sent: Array<{ sql: string; failed: boolean }> = [];
  const wrapped: WithPipeline = (work) =>
    withPipeline((pipeline) =>
      work({
        send: (statement) => {
          const entry = { sql: statement.sql, failed: false };
          sent.push(entry);
          return pipeline.send(statement).catch((err) => {
            entry.failed = true;
            throw err;
          });
        },
      }),
    );
  return { sent, withPipeline: wrapped };
}

describe('the event executor', () => {
  it('commits the effect with the claim, in one statement between the locks and COMMIT', async () => {
    const event = envelope();
    const { sent, withPipeline } = recording(db.withPipeline);
    expect(await applyEvent({ withPipeline }, job(event, probeHandler({ ids: [1, 2] })))).toEqual({
      outcome: 'processed',
    });
    expect(await probe()).toEqual([
      { id: 1, note: 'blind' },
      { id: 2, note: 'blind' },
    ]);
    expect(await stored(event.id)).toEqual({ outcome: 'processed', error: null });
    expect(sent.map((s) => s.sql.split(/\s/)[0])).toEqual(['begin', 'select', 'with', 'commit']);
  });

  it('answers a repeat as a duplicate without any statement failing, and writes nothing', async () => {
    const event = envelope();
    await applyEvent(db, job(event, probeHandler({ ids: [1] })));
    const { sent, withPipeline } = recording(db.withPipeline);
    for (const ids of [[1], [5], [6, 7]]) {
      expect(await applyEvent({ withPipeline }, job(event, probeHandler({ ids })))).toEqual({ outcome: 'duplicate' });
    }
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((s) => s.failed)).toEqual([]);
    expect(await probe()).toEqual([{ id: 1, note: 'blind' }]);
  });

  it('keeps nothing, not even the claim, when the effect fails; the connections work afterwards', async () => {
    await run(db.db, sql`insert into tx_probe values (2, 'already')`);
    const event = envelope();
    const failure = await applyEvent(db, job(event, probeHandler({ ids: [1, 2, 3] }))).catch((e) => e);
    expect(failure).toMatchObject({ code: '23505' });
    expect(await probe()).toEqual([{ id: 2, note: 'already' }]);
    expect(await stored(event.id)).toBeUndefined();
    // Every pooled connection is still usable, none left inside a transaction.
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        applyEvent(db, job(envelope(), probeHandler({ ids: [100 + i], key: `k${i}` }))),
      ),
    );
    expect(answers.every((a) => a.outcome === 'processed')).toBe(true);
  });

  it('records an ignored event with its reason, once', async () => {
    const handler = defineHandler({
      schema: z.record(z.string(), z.unknown()),
      lockKeys: () => [],
      effect: () => ignored('not ours'),
    }) as EventHandler;
    const event = envelope();
    expect(await applyEvent(db, job(event, handler))).toEqual({ outcome: 'ignored', reason: 'not ours' });
    expect(await applyEvent(db, job(event, handler))).toEqual({ outcome: 'duplicate' });
    expect(await stored(event.id)).toEqual({ outcome: 'ignored', error: 'not ours' });
  });

  it('calls the handler once, with what it read after its locks', async () => {
    let calls = 0;
    const base = probeHandler({ ids: [9], read: true });
    const counted: EventHandler = {
      ...base,
      effect: (...args) => {
        calls++;
        return base.effect(...args);
      },
    };
    await run(db.db, sql`insert into tx_probe values (1, 'x'), (2, 'y')`);
    expect(await applyEvent(db, job(envelope(), counted))).toEqual({ outcome: 'processed' });
    expect(calls).toBe(1);
    expect((await probe()).at(-1)).toEqual({ id: 9, note: 'saw 2' });
  });

  it('rolls back and frees its locks and connection when the handler fails after its read', async () => {
    const one = openDatabase({ url: db.url, poolSize: 1, webhookConnections: 1, connectTimeoutMs: 5000 });
    try {
      const base = probeHandler({ ids: [1], key: 'k', read: true });
      const broken: EventHandler = {
        ...base,
        effect: () => {
          throw new Error('handler bug');
        },
      };
      await expect(applyEvent(one, job(envelope(), broken))).rejects.toThrow('handler bug');
      // The one connection, same key: not blocked, not inside the failed transaction.
      expect(await applyEvent(one, job(envelope(), probeHandler({ ids: [2], key: 'k', read: true })))).toEqual({
        outcome: 'processed',
      });
    } finally {
      await one.close();
    }
    expect(await probe()).toEqual([{ id: 2, note: 'saw 0' }]);
  });

  it('holds its locks from before its read until it commits: a second event on the same key sees its rows', async () => {
    // The first event's effect fails to compute until released, while it holds key 'shared'.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let reading!: () => void;
    const readDone = new Promise<void>((r) => {
      reading = r;
    });
    const slow = probeHandler({ ids: [1], key: 'shared', read: true });
    const first = applyEvent(
      {
        withPipeline: (work) =>
          db.withPipeline((pipeline) =>
            work({
              send: async (statement) => {
                const rows = await pipeline.send(statement);
                if (statement.sql.startsWith('select count')) {
                  reading();
                  await held;
                }
                return rows;
              },
            }),
          ),
      },
      job(envelope(), slow),
    );
    await readDone;
    const second = applyEvent(db, job(envelope(), probeHandler({ ids: [2], key: 'shared', read: true })));
    await new Promise((r) => setTimeout(r, 100));
    expect(await probe()).toEqual([]);
    release();
    await Promise.all([first, second]);
    expect(await probe()).toEqual([
      { id: 1, note: 'saw 0' },
      { id: 2, note: 'saw 1' },
    ]);
  });
});

describe('the webhook pool', () => {
  let relay: Server;
  let turns = 0;
  beforeAll(async () => {
    // A relay that counts how often the client speaks again after the server answered: each is a round trip.
    const upstream = new URL(db.url);
    const socketDir = upstream.searchParams.get('host');
    relay = createServer((client) => {
      const server = socketDir?.startsWith('/')
        ? netConnect({ path: `${socketDir}/.s.PGSQL.${upstream.port || 5432}` })
        : netConnect({ host: upstream.hostname, port: Number(upstream.port || 5432) });
      let answered = false;
      client.on('data', (d) => {
        if (answered) turns++;
        answered = false;
        server.write(d);
      });
      server.on('data', (d) => {
        answered = true;
        client.write(d);
      });
      for (const s of [client, server]) {
        s.on('error', () => {
          client.destroy();
          server.destroy();
        });
      }
      client.on('close', () => server.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => relay.close(() => r())));

  it('sends an event that reads nothing in one round trip, and one that reads in two', async () => {
    const u = new URL(db.url);
    u.searchParams.delete('host');
    u.host = `127.0.0.1:${(relay.address() as AddressInfo).port}`;
    const through = openDatabase({ url: u.toString(), poolSize: 1, webhookConnections: 1, connectTimeoutMs: 5000 });
    try {
      await applyEvent(through, job(envelope(), probeHandler({ ids: [1] }))); // connects and prepares
      turns = 0;
      await applyEvent(through, job(envelope(), probeHandler({ ids: [2] })));
      const blind = turns;
      turns = 0;
      await applyEvent(through, job(envelope(), probeHandler({ ids: [3], read: true })));
      expect({ blind, reading: turns }).toEqual({ blind: 1, reading: 2 });
    } finally {
      await through.close();
    }
    expect((await probe()).map((r) => r.id)).toEqual([1, 2, 3]);
  });
});

// `npx tsx test/bench/migration-timing.ts`: how long migration 2026_12_01_0000 (data minimisation)
// takes on an installation holding BENCH_MIGRATION_EVENTS processed events (default 1,000,000), and
// how long the sweep then works, in batches, to drop their bodies, on PostgreSQL
// (BENCH_DATABASE_URL, default the local server). Creates and drops its own database.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kysely, type Migration, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { fixedClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { applyRetention } from '../../src/privacy/retention.js';

const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const EVENTS = Number(process.env.BENCH_MIGRATION_EVENTS ?? 1_000_000);
const TARGET = '2026_12_01_0000_data_minimisation';
const migrations = join(dirname(fileURLToPath(import.meta.url)), '../../db/migrations');
const log = (line: string) => process.stdout.write(`${line}\n`);

async function allMigrations(): Promise<Record<string, Migration>> {
  const out: Record<string, Migration> = {};
  for (const f of (await readdir(migrations)).filter((f) => f.endsWith('.ts')).sort()) {
    out[f.replace(/\.ts$/, '')] = await import(pathToFileURL(join(migrations, f)).href);
  }
  return out;
}

const name = `rd_migration_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(BASE_URL);
url.pathname = `/${name}`;
const db = new Kysely<any>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString() }) }),
});
try {
  const provider = { getMigrations: allMigrations };
  const migrator = new Migrator({ db, provider });
  const names = Object.keys(await allMigrations());
  const before = names[names.indexOf(TARGET) - 1]!;
  const first = await migrator.migrateTo(before);
  if (first.error) throw first.error;

  // A completed one-off checkout as Stripe renders it (its example object, ~2.6 KB), one per event.
  const fixtures = JSON.parse(readFileSync(new URL('../fixtures/stripe-fixtures.json', import.meta.url), 'utf8'));
  const template = JSON.stringify({
    ...fixtures.resources.event,
    id: 'evt_N',
    type: 'checkout.session.completed',
    data: {
      object: {
        ...fixtures.resources['checkout.session'],
        id: 'cs_test_N',
        customer: 'cus_N',
        payment_intent: 'pi_N',
        customer_details: {
          ...fixtures.resources['checkout.session'].customer_details,
          email: 'reader.N@example.org',
          name: 'Reader N',
        },
      },
    },
  });
  // One in a hundred names arrives with a JSON escape (\u00e9), as a non-ASCII name can: those take
  // the migration's slower path, read in JavaScript.
  const escaped = template.replace('Reader N', 'R\\u00e9ader N');
  log(`inserting ${EVENTS.toLocaleString('en')} processed events of ${template.length} bytes`);
  let t = performance.now();
  for (let from = 1; from <= EVENTS; from += 100_000) {
    const to = Math.min(EVENTS, from + 99_999);
    await sql`insert into stripe_events (id, type, api_version, created, livemode, payload, received_at, processed_at, outcome, attempts)
      select 'evt_' || i, 'checkout.session.completed', '2026-10-28.endive', now(), false,
        replace(case when i % 100 = 0 then ${escaped} else ${template} end, '_N', '_' || i), now(), now(), 'processed', 1
      from generate_series(${from}::int, ${to}::int) i`.execute(db);
  }
  await sql`vacuum analyze stripe_events`.execute(db);
  log(`inserted in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const result = await migrator.migrateTo(TARGET);
  if (result.error) throw result.error;
  const seconds = (performance.now() - t) / 1000;
  log(`${TARGET}: ${seconds.toFixed(1)} s for ${EVENTS.toLocaleString('en')} events`);

  // What the server's sweep then does a little of every run; here in one go, as `privacy sweep` does.
  t = performance.now();
  const swept = await applyRetention(
    { db, config: loadConfig({}), clock: fixedClock(new Date().toISOString()) },
    { backlogMs: Number.POSITIVE_INFINITY },
  );
  const sweepSeconds = (performance.now() - t) / 1000;
  log(
    `the sweep dropped ${swept.processedEventBodies.toLocaleString('en')} bodies in ${sweepSeconds.toFixed(1)} s ` +
      `(${((sweepSeconds * 1e6) / Math.max(1, swept.processedEventBodies)).toFixed(0)} us each)`,
  );
  const { rows } = await sql<{ bodies: number; ids: number }>`select count(payload)::int as bodies,
    count(*) filter (where cardinality(object_ids) = 3)::int as ids from stripe_events`.execute(db);
  log(`bodies left ${rows[0]!.bodies}; events with their three object ids ${rows[0]!.ids}`);
} finally {
  await db.destroy();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}

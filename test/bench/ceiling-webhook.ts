// The ceiling for webhook ingest: the least the job needs. Check the HMAC, then one transaction that
// stores the raw event and upserts a supporter, with raw pg.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pg from 'pg';

const { DATABASE_URL, PORT, SECRET } = process.env;
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
await pool.query(`create table if not exists ceiling_events (id text primary key, payload text not null)`);
await pool.query(
  `create table if not exists ceiling_supporters (email text primary key, updated_at timestamptz not null)`,
);

const app = new Hono().post('/webhooks/stripe', async (c) => {
  const raw = await c.req.text();
  const [t, v1] = (c.req.header('stripe-signature') ?? '').split(',').map((p) => p.split('=')[1] ?? '');
  const expected = createHmac('sha256', SECRET!).update(`${t}.${raw}`).digest();
  const given = Buffer.from(v1 ?? '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return c.text('bad signature', 400);
  const event = JSON.parse(raw);
  const o = event.data.object;
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('insert into ceiling_events (id, payload) values ($1, $2) on conflict do nothing', [
      event.id,
      raw,
    ]);
    await client.query(
      'insert into ceiling_supporters (email, updated_at) values ($1, now()) on conflict (email) do update set updated_at = now()',
      [o.customer_details?.email ?? o.customer_email ?? o.customer ?? 'unknown'],
    );
    await client.query('commit');
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
  return c.json({ received: true });
});
serve({ fetch: app.fetch, port: Number(PORT), hostname: '127.0.0.1' }, () => process.stdout.write('ready\n'));

// The ceiling for checkout creation: the same single HTTP call to the same Stripe fake, with fetch,
// and one row inserted with raw pg.
import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pg from 'pg';

const { DATABASE_URL, PORT, STRIPE_URL } = process.env;
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
await pool.query(
  `create table if not exists ceiling_checkouts (id uuid primary key, stripe_id text not null, amount int not null)`,
);

const app = new Hono().post('/api/checkout-sessions', async (c) => {
  const { amount, currency } = await c.req.json();
  const res = await fetch(`${STRIPE_URL}/v1/checkout/sessions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_ceiling', 'content-type': 'application/x-www-form-urlencoded' },
    body: `mode=payment&line_items[0][quantity]=1&line_items[0][price_data][currency]=${currency}&line_items[0][price_data][unit_amount]=${amount}&line_items[0][price_data][product_data][name]=Donation&success_url=http://x/ok&cancel_url=http://x/no`,
  });
  const session = await res.json();
  await pool.query('insert into ceiling_checkouts (id, stripe_id, amount) values ($1, $2, $3)', [
    randomUUID(),
    session.id,
    amount,
  ]);
  return c.json({ id: session.id, url: session.url }, 201);
});
serve({ fetch: app.fetch, port: Number(PORT), hostname: '127.0.0.1' }, () => process.stdout.write('ready\n'));

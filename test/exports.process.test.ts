import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir } from './support/data-dir.js';
import { createTestContext, type TestContext } from './support/harness.js';
import { childEnv, runTs, startServer } from './support/processes.js';
import { bearer, staffToken } from './support/staff.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

describe('an export over a real socket', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx.close());

  it('starts sending at once and stops its queries when the client hangs up', async () => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    const rows = Array.from({ length: 30_000 }, (_, i) => ({
      id: randomUUID(),
      supporter_id: null,
      stripe_customer_id: null,
      frequency: 'once' as const,
      amount: 500,
      currency: 'usd',
      payment_state: 'succeeded' as const,
      stripe_checkout_session_id: `cs_big_${i}`,
      stripe_payment_intent_id: null,
      stripe_invoice_id: null,
      stripe_charge_id: null,
      stripe_subscription_id: null,
      campaign: 'a campaign name long enough to fill the socket buffers quickly',
      paid_at: new Date(base + i * 1000),
      created_at: new Date(base),
      updated_at: new Date(base),
    }));
    for (let i = 0; i < rows.length; i += 1000)
      await ctx.database.db
        .insertInto('gifts')
        .values(rows.slice(i, i + 1000))
        .execute();
    const token = await staffToken(ctx, 'finance');
    const server = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;

    const firstBytes = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/admin/exports/gifts.csv', headers: bearer(token) },
        (res) => {
          res.once('data', (chunk: Buffer) => {
            // Read one chunk, then hang up without reading the rest.
            req.destroy();
            resolve(chunk.toString('utf8'));
          });
        },
      );
      req.on('error', (err) => (err.message.includes('aborted') ? undefined : reject(err)));
      req.end();
    });
    expect(firstBytes.startsWith('gift_id,supporter_id,email')).toBe(true);

    let audit: { completed: boolean; row_count: number | null } | undefined;
    for (let i = 0; i < 100; i++) {
      audit = await ctx.database.db.selectFrom('audit_log').select(['completed', 'row_count']).executeTakeFirst();
      if (audit?.row_count !== null && audit?.row_count !== undefined) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(audit?.completed).toBe(false);
    expect(audit?.row_count).toBeLessThan(30_000);
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('staff tokens from the command line', () => {
  it('tokens create prints the token alone on its last line, once; list never shows it', async () => {
    const env = childEnv({ DATA_DIR: freshDataDir('rd-tok-') });
    const created = await runTs(
      'src/cli/main.ts',
      ['tokens', 'create', '--name', 'Finance laptop', '--role', 'finance'],
      env,
    );
    expect(created.code).toBe(0);
    const lines = created.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^rdt_[\w-]{43}$/);
    const list = await runTs('src/cli/main.ts', ['tokens', 'list'], env);
    expect(list.stdout).toContain('Finance laptop\tfinance\trdt_');
    expect(list.stdout).not.toContain(lines.at(-1));
    const bad = await runTs('src/cli/main.ts', ['tokens', 'create', '--name', 'x', '--role', 'owner'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--role finance or --role admin');
    // Three CLI processes, each opening the embedded database: slow on a loaded CI machine.
  }, 90_000);
});

describe('staff tokens beside a server on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  it('a token created by the CLI works at once, and stops working at once when revoked', async () => {
    const env = childEnv({ DATABASE_URL: database.url });
    const server = await startServer(env);
    try {
      const created = await runTs('src/cli/main.ts', ['tokens', 'create', '--name', 'Laptop', '--role', 'admin'], env);
      const token = created.stdout.trimEnd().split('\n').at(-1)!;
      expect((await fetch(`${server.url}/admin/summary`, { headers: bearer(token) })).status).toBe(200);
      const revoked = await runTs('src/cli/main.ts', ['tokens', 'revoke', 'Laptop'], env);
      expect(revoked.stdout).toMatch(/^revoked token "Laptop"/);
      expect((await fetch(`${server.url}/admin/summary`, { headers: bearer(token) })).status).toBe(401);
      const audit = await runTs('src/cli/main.ts', ['audit', 'list'], env);
      expect(audit.stdout).toContain('\tLaptop\t/admin/summary\t{}\t');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

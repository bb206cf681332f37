import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, runTs, startServer } from './support/processes.js';
import { createTestDatabase, onPostgres, type TestDatabase } from './support/test-db.js';

const freshDir = () => join(mkdtempSync(join(tmpdir(), 'rd-proc-')), 'data');

describe('the server process (npm start)', () => {
  it('starts on the embedded database, serves, exits 0 on SIGTERM, and reopens its data folder on restart', async () => {
    const dataDir = freshDir();
    const server = await startServer(childEnv({ DATA_DIR: dataDir }));
    const options = await fetch(`${server.url}/api/donation-options`);
    expect(options.status).toBe(200);
    const checkout = await fetch(`${server.url}/api/checkout-sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ frequency: 'once', amount: 500, currency: 'usd' }),
    });
    expect(checkout.status).toBe(503);
    expect((await checkout.json()).error.code).toBe('payment_provider_unconfigured');
    expect(await server.stop()).toBe(0);

    const again = await startServer(childEnv({ DATA_DIR: dataDir }));
    expect((await fetch(`${again.url}/health`)).status).toBe(200);
    expect(await again.stop()).toBe(0);
  });

  it.each([
    [{ PORT: 'x' }, /^reader-donations: configuration error: PORT: .*\(got "x"\)\n$/],
    [{ STRIPE_SECRET_KEY: 'pk_live_1' }, /^reader-donations: configuration error: STRIPE_SECRET_KEY: /],
    [
      {
        DATABASE_URL: 'postgres://nobody:hunter2@127.0.0.1:1/none',
        DATABASE_CONNECT_TIMEOUT_MS: '300',
        DATABASE_STARTUP_TIMEOUT_MS: '1200',
      },
      /^reader-donations: error: could not reach PostgreSQL at 127\.0\.0\.1:1\/none within 1\.2 s \(.+\)\n$/,
    ],
  ])('refuses to start with %o, in one line on stderr', async (env, line) => {
    const result = await runTs('src/server.ts', [], childEnv({ DATA_DIR: freshDir(), ...env }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(line);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain('hunter2');
  });
});

describe('the command line (npm run cli)', () => {
  it('migrates a fresh embedded database and says so', async () => {
    const result = await runTs('src/cli/main.ts', ['db', 'migrate'], childEnv({ DATA_DIR: freshDir() }));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('database is up to date (pglite)\n');
    expect(result.code).toBe(0);
  });

  it('refuses, in one line, to open the embedded database while the server holds it', async () => {
    const dataDir = freshDir();
    const server = await startServer(childEnv({ DATA_DIR: dataDir }));
    try {
      const result = await runTs('src/cli/main.ts', ['db', 'migrate'], childEnv({ DATA_DIR: dataDir }));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^reader-donations: error: the embedded database in .+ is in use by the server \(npm start\) \(pid \d+\); stop that process first, or set DATABASE_URL to run against PostgreSQL\n$/,
      );
      // The server is untouched.
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('answers an unknown command with usage and exit code 2', async () => {
    const result = await runTs('src/cli/main.ts', ['frobnicate'], childEnv({ DATA_DIR: freshDir() }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(result.stderr).toContain('db migrate');
  });
});

describe.runIf(onPostgres)('the command line and server on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  it('migrates through DATABASE_URL and runs beside a running server', async () => {
    const env = childEnv({ DATABASE_URL: database.url });
    const server = await startServer(env);
    try {
      const result = await runTs('src/cli/main.ts', ['db', 'migrate'], env);
      expect(result.stdout).toBe('database is up to date (postgres)\n');
      expect(result.code).toBe(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('npm run demo', () => {
  it('refuses to run with a live key', async () => {
    const result = await runTs('src/dev/demo.ts', [], childEnv({ STRIPE_SECRET_KEY: 'sk_live_abc123' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'reader-donations: npm run demo refuses to run with a live Stripe key (STRIPE_SECRET_KEY)\n',
    );
  });

  it('starts the service with the emulator and prints a working finance token and the URLs', async () => {
    const { spawn } = await import('node:child_process');
    const { freePort } = await import('./support/processes.js');
    const [port, stripePort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev/demo.ts'], {
      cwd: new URL('..', import.meta.url).pathname,
      env: childEnv({ PORT: String(port), DEMO_STRIPE_PORT: String(stripePort), DEMO_DATA_DIR: freshDir() }),
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      for (let i = 0; i < 300 && !out.includes('Press Ctrl+C'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain(`Donation page      http://localhost:${port}/donate`);
      const token = /rdt_[\w-]{43}/.exec(out)![0];
      const summary = await fetch(`http://127.0.0.1:${port}/admin/summary`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(summary.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/donate`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
  });
});

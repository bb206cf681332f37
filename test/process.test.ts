import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir } from './support/data-dir.js';
import { childEnv, logLines, ROOT, runTs, startServer } from './support/processes.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

const freshDir = () => freshDataDir('rd-proc-');

/** The embedded PostgreSQL's postmaster in a DATA_DIR, while one runs. */
function postmaster(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function gone(pid: number, ms = 15_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
  }
  return false;
}

describe('the server process (npm start)', () => {
  it('starts its own PostgreSQL in DATA_DIR (a Unix socket, no TCP port), serves, stops both on SIGTERM, and reopens the folder', {
    timeout: 120_000,
  }, async () => {
    const dataDir = freshDir();
    const server = await startServer(childEnv({ DATA_DIR: dataDir }));
    const pid = postmaster(dataDir);
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(join(dataDir, 'postgres', '.s.PGSQL.5432'))).toBe(true);
    // Nothing listens on TCP: the postmaster's command line says so, and so does its settings file.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('listen_addresses=');
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
    expect(await gone(pid!)).toBe(true);

    const again = await startServer(childEnv({ DATA_DIR: dataDir }));
    expect((await fetch(`${again.url}/health`)).status).toBe(200);
    expect(await again.stop()).toBe(0);
  });

  it('takes DATA_DIR relative to the working directory, as the default ./data is', { timeout: 60_000 }, async () => {
    const dataDir = freshDir();
    const server = await startServer(childEnv({ DATA_DIR: relative(ROOT, dataDir) }));
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(postmaster(dataDir)).toBeGreaterThan(0);
    expect(await server.stop()).toBe(0);
  });

  it('after SIGKILL: the next start takes over the PostgreSQL left running, and recovers a stale lock', {
    timeout: 180_000,
  }, async () => {
    const dataDir = freshDir();
    const first = await startServer(childEnv({ DATA_DIR: dataDir }));
    const pid = postmaster(dataDir)!;
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // Its PostgreSQL is still up, with nobody to stop it...
    expect(postmaster(dataDir)).toBe(pid);

    // ...until the next start, which uses it and says so.
    const second = await startServer(childEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'info' }));
    expect(postmaster(dataDir)).toBe(pid);
    expect(logLines(second.output()).map((l) => l.msg)).toContainEqual(
      expect.stringMatching(
        /^the embedded PostgreSQL was left running by a process that is gone \(pid \d+\): this server takes it over$/,
      ),
    );
    expect((await fetch(`${second.url}/health`)).status).toBe(200);
    // A crash of the whole machine: server and PostgreSQL killed, the lock file left behind.
    second.child.kill('SIGKILL');
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => second.child.once('exit', r));
    expect(await gone(pid)).toBe(true);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(true);

    const third = await startServer(childEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'info' }));
    expect(logLines(third.output()).map((l) => l.msg)).toContainEqual(
      `removing the stale lock of a PostgreSQL that was killed (pid ${pid} is gone)`,
    );
    expect((await fetch(`${third.url}/health`)).status).toBe(200);
    const restarted = postmaster(dataDir)!;
    expect(restarted).not.toBe(pid);
    expect(await third.stop()).toBe(0);
    expect(await gone(restarted)).toBe(true);
  });

  it('a second server on the same folder uses the running PostgreSQL, and keeps it when the first stops', {
    timeout: 120_000,
  }, async () => {
    const dataDir = freshDir();
    const first = await startServer(childEnv({ DATA_DIR: dataDir }));
    const pid = postmaster(dataDir)!;
    const second = await startServer(childEnv({ DATA_DIR: dataDir }));
    expect(postmaster(dataDir)).toBe(pid);
    expect(await first.stop()).toBe(0);
    // The second still serves from the same database.
    expect(postmaster(dataDir)).toBe(pid);
    expect((await fetch(`${second.url}/health`)).status).toBe(200);
    expect(await second.stop()).toBe(0);
    expect(await gone(pid)).toBe(true);
  });

  it('refuses, in one line, a DATA_DIR holding the PGlite database of earlier versions, and leaves it untouched', {
    timeout: 60_000,
  }, async () => {
    const dataDir = freshDir();
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(join(dataDir, 'PG_VERSION'), '17\n');
    const result = await runTs('src/server.ts', [], childEnv({ DATA_DIR: dataDir }));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `reader-donations: error: DATA_DIR ${dataDir} holds a PGlite database from an earlier version, which this version cannot open: ` +
        'move it aside and start on an empty folder (its data is kept there untouched)\n',
    );
    expect(readdirSync(dataDir)).toEqual(['PG_VERSION']);
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, with no such EMBEDDED_PG_USER: stops in one line saying what to do, and creates nobody',
    {
      timeout: 60_000,
    },
    async () => {
      const dataDir = freshDataDir('rd-root-');
      const result = await runTs(
        'src/server.ts',
        [],
        childEnv({ DATA_DIR: dataDir, EMBEDDED_PG_USER: 'rd-no-such-user' }),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'reader-donations: error: running as root, and PostgreSQL refuses to run as root: the unprivileged user rd-no-such-user (EMBEDDED_PG_USER) does not exist; ' +
          'run as another user, name an existing one in EMBEDDED_PG_USER, or set EMBEDDED_PG_CREATE_USER=1 to let the service create it\n',
      );
      expect(readFileSync('/etc/passwd', 'utf8')).not.toContain('rd-no-such-user');
    },
  );

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
  it('migrates a fresh embedded database, says so, and leaves no PostgreSQL running', { timeout: 60_000 }, async () => {
    const dataDir = freshDir();
    const result = await runTs('src/cli/main.ts', ['db', 'migrate'], childEnv({ DATA_DIR: dataDir }));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('database is up to date (embedded PostgreSQL)\n');
    expect(result.code).toBe(0);
    expect(postmaster(dataDir)).toBeUndefined();
  });

  it('creates a staff token while the server runs on the same folder; the server keeps its database', {
    timeout: 120_000,
  }, async () => {
    const dataDir = freshDir();
    const server = await startServer(childEnv({ DATA_DIR: dataDir }));
    const pid = postmaster(dataDir);
    try {
      const result = await runTs(
        'src/cli/main.ts',
        ['tokens', 'create', '--name', 'Finance laptop', '--role', 'finance'],
        childEnv({ DATA_DIR: dataDir }),
      );
      expect(result.code).toBe(0);
      const token = result.stdout.trim().split('\n').at(-1)!;
      expect(token).toMatch(/^rdt_/);
      // The token works on the running server at once, and its PostgreSQL is the same one.
      const summary = await fetch(`${server.url}/admin/summary`, { headers: { authorization: `Bearer ${token}` } });
      expect(summary.status).toBe(200);
      expect(postmaster(dataDir)).toBe(pid);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(await gone(pid!)).toBe(true);
  });

  it('answers an unknown command with usage and exit code 2', async () => {
    const result = await runTs('src/cli/main.ts', ['frobnicate'], childEnv({ DATA_DIR: freshDir() }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(result.stderr).toContain('db migrate');
  });
});

describe('the command line and server on PostgreSQL', () => {
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
      expect(result.stdout).toBe('database is up to date (PostgreSQL)\n');
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
      const staff = /rdt_[\w-]{43}/.exec(out)![0];
      const summary = await fetch(`http://127.0.0.1:${port}/admin/summary`, {
        headers: { authorization: `Bearer ${staff}` },
      });
      expect(summary.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/donate`)).status).toBe(200);

      // The donor's walk: give monthly, ask for a link, find it at /dev/mail, pause, change, cancel.
      const base = `http://127.0.0.1:${port}`;
      const json = (body: unknown, headers: Record<string, string> = {}) => ({
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const checkout = (await (
        await fetch(`${base}/api/checkout-sessions`, json({ frequency: 'monthly', amount: 500, currency: 'usd' }))
      ).json()) as { url: string };
      const paid = await fetch(checkout.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'action=pay&email=demo.donor%40example.org',
        redirect: 'manual',
      });
      expect(paid.status).toBe(303);
      expect((await fetch(`${base}/api/manage/links`, json({ email: 'demo.donor@example.org' }))).status).toBe(202);
      let mail = '';
      for (let i = 0; i < 100 && !mail.includes('token='); i++) {
        mail = await (await fetch(`${base}/dev/mail`)).text();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).toContain('--- demo mail to demo.donor@example.org: Manage your donations');
      const token = /token=([\w-]{43})/.exec(mail)![1]!;
      const auth = { authorization: `Bearer ${token}` };
      const donations = (await (await fetch(`${base}/api/manage/donations`, { headers: auth })).json()) as any;
      const id = donations.recurring[0].id;
      expect((await fetch(`${base}/api/manage/recurring/${id}/pause`, json({ months: 1 }, auth))).status).toBe(200);
      expect((await fetch(`${base}/api/manage/recurring/${id}/amount`, json({ amount: 800 }, auth))).status).toBe(200);
      const cancelled = await fetch(`${base}/api/manage/recurring/${id}/cancel`, json({ reason: 'other' }, auth));
      expect(await cancelled.json()).toMatchObject({ amount: 800, cancelAtPeriodEnd: true });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
  });
});

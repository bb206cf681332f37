// The embedded default as a small newsroom meets it: `npm start` with no DATABASE_URL on a fresh
// DATA_DIR. Boot time (empty and populated folder), the memory of the server and its database
// together, webhook ingest, and a CLI command while the server runs. It measures whatever the
// default is, so the same code compared PGlite with embedded PostgreSQL.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT } from '../support/processes.js';

interface Memory {
  /** Sum of resident set sizes over the server's processes and the database's (shared pages counted in each). */
  rssMb: number;
  /** Sum of proportional set sizes (shared pages split between the processes that map them). */
  pssMb: number;
  processes: number;
}

const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;

function statusField(pid: number, field: string): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)`).exec(
      readFileSync(`/proc/${pid}/${field === 'Pss' ? 'smaps_rollup' : 'status'}`, 'utf8'),
    );
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Every process descended from `roots` (the server; the database's postmaster when it has one). */
function tree(roots: number[]): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const found = new Set(roots.filter((p) => parent.has(p)));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!found.has(pid) && found.has(ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** The embedded PostgreSQL's postmaster, from its lock file, if the default runs one. */
function postmasterPid(dataDir: string): number | undefined {
  for (const file of [join(dataDir, 'postgres', 'postmaster.pid')]) {
    try {
      return Number(readFileSync(file, 'utf8').split('\n')[0]);
    } catch {
      // none
    }
  }
  return undefined;
}

export function memoryOf(serverPid: number, dataDir: string): Memory {
  const pids = tree([serverPid, postmasterPid(dataDir) ?? -1]);
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    rss += statusField(pid, 'VmRSS');
    pss += statusField(pid, 'Pss');
  }
  return { rssMb: mb(rss), pssMb: mb(pss), processes: pids.length };
}

function startDefault(env: Record<string, string>): { child: ChildProcess; ready: Promise<number> } {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const ready = (async () => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${env.PORT}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { child, ready };
}

const stop = async (child: ChildProcess) => {
  child.kill('SIGTERM');
  if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
};

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; ms: number; output: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) => resolve({ code: code ?? 1, ms: Math.round(performance.now() - started), output }));
  });
}

/**
 * Runs the scenario; `ingest` sends the events file to the server and answers its rate.
 * The folder is removed at the end.
 */
export async function benchEmbeddedDefault(
  baseEnv: Record<string, string>,
  ingest: (url: string) => Promise<{ requestsPerSecond: number; p99Ms: number; non2xx: number }>,
  log: (line: string) => void,
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'rd-bench-default-'));
  const env = { ...baseEnv, DATA_DIR: dataDir, PORT: String(await freePort()) };
  delete (env as Record<string, string | undefined>).DATABASE_URL;
  const url = `http://127.0.0.1:${env.PORT}`;
  try {
    let server = startDefault(env);
    const bootEmptyMs = Math.round(await server.ready);
    await new Promise((r) => setTimeout(r, 1000));
    const afterBoot = memoryOf(server.child.pid!, dataDir);
    log(
      `  boot on an empty folder ${bootEmptyMs} ms; after boot RSS ${afterBoot.rssMb} MB, PSS ${afterBoot.pssMb} MB (${afterBoot.processes} processes)`,
    );

    let peak = afterBoot;
    const sampler = setInterval(() => {
      const m = memoryOf(server.child.pid!, dataDir);
      if (m.rssMb > peak.rssMb) peak = m;
    }, 200);
    const rate = await ingest(url);
    clearInterval(sampler);
    const afterIngest = memoryOf(server.child.pid!, dataDir);
    log(
      `  ingest ${rate.requestsPerSecond} events/s p99 ${rate.p99Ms} ms (non-2xx ${rate.non2xx}); peak RSS ${peak.rssMb} MB, PSS ${peak.pssMb} MB; after RSS ${afterIngest.rssMb} MB`,
    );

    const command = await cli(['tokens', 'create', '--name', `bench-${Date.now()}`, '--role', 'finance'], env);
    const cliBesideServer = {
      exitCode: command.code,
      ms: command.ms,
      firstLine: command.output
        .trim()
        .split('\n')[0]!
        .replace(/rdt_\S+/, 'rdt_...'),
    };
    log(`  tokens create beside the server: exit ${command.code} in ${command.ms} ms (${cliBesideServer.firstLine})`);

    await stop(server.child);
    server = startDefault(env);
    const bootPopulatedMs = Math.round(await server.ready);
    log(`  boot on the populated folder ${bootPopulatedMs} ms`);
    await stop(server.child);
    return {
      bootEmptyMs,
      bootPopulatedMs,
      memoryAfterBoot: afterBoot,
      memoryPeakUnderIngest: peak,
      memoryAfterIngest: afterIngest,
      ingest: rate,
      cliBesideServer,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

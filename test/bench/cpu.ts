// Where a run's CPU went, from /proc: the server process, PostgreSQL's processes, the load
// generator, and everything else. Per request, it says which side to make cheaper.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function processTicks(pid: number): number {
  const [user, system] = userSystemTicks(pid);
  return user + system;
}

function userSystemTicks(pid: number): [number, number] {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(fields[11]), Number(fields[12])];
  } catch {
    return [0, 0]; // exited
  }
}

function postgresTicks(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += processTicks(Number(entry));
    } catch {
      // gone between listing and reading
    }
  }
  return total;
}

function machineTicks(): { busy: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return { busy: cpu.reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]! };
}

export interface CpuSnapshot {
  server: number;
  serverSystem: number;
  postgres: number;
  machine: { busy: number };
}

export const cpuSnapshot = (serverPid: number): CpuSnapshot => ({
  server: processTicks(serverPid),
  serverSystem: userSystemTicks(serverPid)[1],
  postgres: postgresTicks(),
  machine: machineTicks(),
});

/** CPU milliseconds per request, by process, between two snapshots; `loadMs` is the load generator's own. */
export function cpuPerRequest(before: CpuSnapshot, after: CpuSnapshot, loadMs: number, requests: number) {
  const loadTicks = loadMs / TICK_MS;
  const per = (ticks: number) => Math.round(((ticks * TICK_MS) / requests) * 1000) / 1000;
  const server = after.server - before.server;
  const postgres = after.postgres - before.postgres;
  const busy = after.machine.busy - before.machine.busy;
  return {
    serverMs: per(server),
    serverKernelMs: per(after.serverSystem - before.serverSystem),
    postgresMs: per(postgres),
    loadMs: per(loadTicks),
    otherMs: per(Math.max(0, busy - server - postgres - loadTicks)),
  };
}

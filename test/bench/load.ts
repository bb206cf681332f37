// Load generator, run as its own process so it does not share a core's event loop with the server.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface Job {
  url: string;
  connections: number;
  /** Each request once, in order, shared by all connections: every event delivered exactly as listed. */
  requestsFile?: string;
  /** Or the same request repeated for `durationSeconds`. */
  body?: string;
  path?: string;
  headers?: Record<string, string>;
  durationSeconds?: number;
}

const job: Job = JSON.parse(process.argv[2]!);
const list: Array<{ path: string; headers: Record<string, string>; body: string }> = job.requestsFile
  ? JSON.parse(readFileSync(job.requestsFile, 'utf8'))
  : [];
let next = 0;

const started = performance.now();
const cpuBefore = process.cpuUsage();
// autocannon notices the last response of a fixed amount only at its next one-second tick, which
// quantised short runs' wall time: the run ends at its last response.
let lastResponse = started;
const instance = autocannon({
  url: job.url,
  connections: job.connections,
  method: 'POST',
  ...(job.requestsFile
    ? {
        amount: list.length,
        requests: [
          {
            setupRequest: (req: Record<string, unknown>) => {
              const r = list[next++ % list.length]!;
              return { ...req, method: 'POST', path: r.path, headers: r.headers, body: r.body };
            },
          },
        ],
      }
    : {
        url: `${job.url}${job.path ?? ''}`,
        duration: job.durationSeconds ?? 10,
        requests: [
          {
            method: 'POST',
            body: job.body,
            // Each request from its own reader's address (X-Forwarded-For, behind one trusted proxy),
            // as a donation box's traffic comes: one address at this rate would be rate limited.
            setupRequest: (req: Record<string, unknown>) => ({
              ...req,
              headers: {
                ...job.headers,
                'x-forwarded-for': `10.${(next >> 16) & 255}.${(next >> 8) & 255}.${next++ & 255}`,
              },
            }),
          },
        ],
      }),
} as unknown as autocannon.Options) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
instance.on('response', () => {
  lastResponse = performance.now();
});
const result = await instance;

// Completed requests over the measured wall time: autocannon's own average is per whole second,
// which quantises a run of a few seconds.
const seconds = (lastResponse - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: Math.round(result.requests.total / seconds),
    total: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    seconds: Math.round(seconds * 100) / 100,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  }),
);

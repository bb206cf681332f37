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

const result = await autocannon({
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
        headers: job.headers,
        body: job.body,
      }),
} as autocannon.Options);

process.stdout.write(
  JSON.stringify({
    requestsPerSecond: Math.round(result.requests.average),
    total: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    seconds: result.duration,
  }),
);

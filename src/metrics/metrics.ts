import { type Kysely, sql } from 'kysely';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from '../../db/connect.js';
import type { Database } from '../../db/schema.js';

/**
 * The service's Prometheus metrics (prom-client), one registry per set of dependencies. Every
 * label is bounded: route templates, event types we know, outcomes, error codes, Stripe operations
 * with their ids taken out. Never an e-mail, an id, a token or a raw path.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly webhookEvents: Counter<'type' | 'outcome'>;
  readonly webhookLag: Histogram<'type'>;
  readonly checkouts: Counter<'outcome' | 'reason'>;
  readonly stripeDuration: Histogram<'operation' | 'status'>;
  readonly stripeErrors: Counter<'operation' | 'status'>;
  readonly mail: Counter<'kind' | 'outcome'>;
  readonly exportRows: Counter<'file'>;
  readonly reconcileRuns: Counter<'trigger' | 'outcome'>;
  readonly reconcileApplied: Counter;

  constructor(sources: {
    pools: () => PoolStats[];
    /** Mail waiting to go: due reminders and queued manage links (a query at scrape time). */
    mailQueue: () => Promise<{ reminders: number; manageLinks: number }>;
  }) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'rd_http_requests_total',
      help: 'HTTP requests answered, by route template and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'rd_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (to its first byte for streams), by route template.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.webhookEvents = new Counter({
      name: 'rd_webhook_events_total',
      help: 'Stripe events by type and outcome (processed, ignored, duplicate, failed): delivered, reconciled or imported.',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.webhookLag = new Histogram({
      name: 'rd_webhook_event_lag_seconds',
      help: "From the event's created time at Stripe to its commit here.",
      labelNames: ['type'],
      buckets: [1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600],
      registers,
    });
    this.checkouts = new Counter({
      name: 'rd_checkout_sessions_total',
      help: 'Checkout sessions created, and attempts that failed, by reason (the error code).',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.stripeDuration = new Histogram({
      name: 'rd_stripe_request_duration_seconds',
      help: 'Stripe API requests by operation (method and path, ids taken out) and HTTP status.',
      labelNames: ['operation', 'status'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.stripeErrors = new Counter({
      name: 'rd_stripe_errors_total',
      help: 'Stripe API requests answered with an error, by operation and HTTP status.',
      labelNames: ['operation', 'status'],
      registers,
    });
    this.mail = new Counter({
      name: 'rd_mail_total',
      help: 'E-mails by kind (reminder, manage link) and outcome (sent, retried, failed, skipped).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.exportRows = new Counter({
      name: 'rd_export_rows_total',
      help: 'Rows sent in finance exports, by file.',
      labelNames: ['file'],
      registers,
    });
    this.reconcileRuns = new Counter({
      name: 'rd_reconcile_runs_total',
      help: "Reconciliations against Stripe's event list, by trigger and outcome (complete, incomplete).",
      labelNames: ['trigger', 'outcome'],
      registers,
    });
    this.reconcileApplied = new Counter({
      name: 'rd_reconcile_applied_events_total',
      help: 'Events a reconciliation applied: each one Stripe sent and this service never recorded.',
      registers,
    });
    new Gauge({
      name: 'rd_mail_queue',
      help: 'Mail waiting to go: reminders due now, manage links queued.',
      labelNames: ['kind'],
      registers,
      async collect() {
        // A database that is away must not take the whole page with it (the pool gauges say why).
        const q = await sources.mailQueue().catch(() => undefined);
        if (!q) return;
        this.set({ kind: 'reminder' }, q.reminders);
        this.set({ kind: 'manage_link' }, q.manageLinks);
      },
    });
    const pool = (name: string, help: string, read: (s: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers,
        collect() {
          for (const s of sources.pools()) this.set({ pool: s.pool }, read(s));
        },
      });
    pool('rd_db_pool_size', 'Database connections each pool may open.', (s) => s.max);
    pool('rd_db_pool_connections', 'Database connections open in each pool.', (s) => s.total);
    pool('rd_db_pool_in_use', 'Database connections lent out.', (s) => s.total - s.idle);
    pool('rd_db_pool_waiting', 'Requests waiting for a connection.', (s) => s.waiting);
  }
}

/**
 * Adds prom-client's process metrics (CPU, memory, event loop, GC). Only where metrics are served:
 * they start observers of their own, which a test building many sets of dependencies does without.
 */
export function collectProcessMetrics(metrics: Metrics): void {
  collectDefaultMetrics({ register: metrics.registry });
}

/** "GET /v1/subscriptions/:id": the request's method and path, Stripe's ids taken out. */
export function stripeOperation(method: string, path: string): string {
  // Resource names are lower-case words; an id has a digit or a capital (sub_1Q..., cs_test_a1...).
  const bare = path
    .split('?')[0]!
    .split('/')
    .map((segment, i) => (i >= 2 && /[0-9A-Z]/.test(segment) ? ':id' : segment))
    .join('/');
  return `${method.toUpperCase()} ${bare}`;
}

/** Mail waiting to go now: reminders due (or being retried), manage links queued. */
export async function mailQueue(db: Kysely<Database>, now: Date): Promise<{ reminders: number; manageLinks: number }> {
  const { rows } = await sql<{ reminders: string; links: string }>`
    select (select count(*) from reminders where status = 'pending' and kind = 'email' and remind_at <= ${now}) as reminders,
           (select count(*) from manage_links where status = 'pending') as links`.execute(db);
  return { reminders: Number(rows[0]?.reminders ?? 0), manageLinks: Number(rows[0]?.links ?? 0) };
}

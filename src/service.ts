import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { DatabaseHandle } from '../db/connect.js';
import { createApp } from './app.js';
import { buildDeps } from './build-deps.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { openConfiguredDatabase } from './database.js';
import type { Deps } from './deps.js';
import { errorFields, type Logger } from './logger.js';
import { collectProcessMetrics } from './metrics/metrics.js';
import { metricsApp } from './metrics/metrics-app.js';
import type { Mailer } from './reminders/mailer.js';
import { scheduleReminderSweeps } from './reminders/scheduler.js';
import { scheduleReconcile } from './stripe/reconcile-schedule.js';

export interface RunningService {
  deps: Deps;
  port: number;
  /** Stops taking connections, lets in-flight requests and a running sweep finish, closes the database. */
  stop(): Promise<void>;
}

/**
 * Opens and migrates the database (or takes `o.database`, already being opened), serves the app, and
 * starts the reminder sweep. `o.role` names the process in the database's application_name.
 */
export async function startService(
  config: Config,
  clock: Clock,
  logger: Logger,
  o: {
    role?: string;
    database?: Promise<DatabaseHandle>;
    /** The demo's mailbox instead of SMTP, and its /dev/mail page. */
    demoMail?: { mailer: Mailer; routes: Hono };
  } = {},
): Promise<RunningService> {
  const database = await (o.database ??
    openConfiguredDatabase(config, o.role ?? 'server', (level, message) => logger[level](message)));
  // SMTP_URL wins; the demo's mailbox stands in without it.
  const deps = buildDeps(config, database, clock, logger, { mailer: o.demoMail?.mailer });
  if (!deps.stripe) logger.warn('STRIPE_SECRET_KEY is not set: checkout answers 503 payment_provider_unconfigured');
  if (config.STRIPE_WEBHOOK_SECRET.length === 0) {
    logger.warn('STRIPE_WEBHOOK_SECRET is not set: /webhooks/stripe answers 503 webhook_unconfigured');
  }
  if (!deps.mailer) logger.warn('SMTP_URL is not set: reminder e-mails stay queued until it is');

  const app = createApp(deps);
  if (o.demoMail) app.route('/', o.demoMail.routes);
  // Handlers still running, whether or not their client is still there: a reader who closes the
  // tab mid-checkout leaves a handler that must finish before the database closes.
  let running = 0;
  let allDone: (() => void) | undefined;
  let stopping = false;
  const fetch = async (request: Request, env: unknown) => {
    running++;
    try {
      return await app.fetch(request, env);
    } finally {
      if (--running === 0) allDone?.();
    }
  };
  const server = serve({ fetch, port: config.PORT, hostname: config.HOST });
  // A request that arrives on a kept-alive connection while stopping is answered, and its connection closed.
  server.on('request', (_req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  logger.info(
    {
      port,
      database: config.DATABASE_URL ? 'postgres' : 'embedded',
      dataDir: config.DATABASE_URL ? undefined : config.DATA_DIR,
    },
    `listening on ${config.PUBLIC_URL}`,
  );
  // Metrics on a port of their own, never the public one: off unless METRICS_PORT is set.
  let metricsServer: ReturnType<typeof serve> | undefined;
  if (config.METRICS_PORT > 0) {
    collectProcessMetrics(deps.metrics);
    metricsServer = serve({ fetch: metricsApp(deps.metrics).fetch, port: config.METRICS_PORT, hostname: config.HOST });
    await new Promise<void>((resolve, reject) => {
      metricsServer!.once('listening', resolve);
      metricsServer!.once('error', reject);
    });
    logger.info({ port: config.METRICS_PORT }, 'metrics served at /metrics');
  }
  // Reconciliation needs Stripe; its first check comes a minute after start, not during the boot.
  const reconciles = deps.stripe && config.RECONCILE_INTERVAL_MINUTES > 0 ? scheduleReconcile(deps) : undefined;
  const sweeps =
    config.REMINDER_SWEEP_INTERVAL_SECONDS > 0
      ? scheduleReminderSweeps(deps, config.REMINDER_SWEEP_INTERVAL_SECONDS)
      : undefined;

  return {
    deps,
    port,
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // server.close() ends idle connections once; those whose response is still going become idle later.
      const idleSweep = setInterval(
        () => (server as { closeIdleConnections?: () => void }).closeIdleConnections?.(),
        50,
      );
      await Promise.all([closed, sweeps?.stop(), reconciles?.stop()]).finally(() => clearInterval(idleSweep));
      // No connection is left, so no handler can start; wait for those still running (their client hung up).
      while (running > 0) await new Promise<void>((resolve) => (allDone = resolve));
      // A link a donor asked for just before the stop goes out (or fails) before the mailer closes.
      await deps.linkMail.idle();
      deps.mailer?.close();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      await database.close().catch((err) => logger.error({ err: errorFields(err) }, 'closing the database failed'));
    },
  };
}

import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { buildDeps } from './build-deps.js';
import { systemClock } from './clock.js';
import { type Config, loadConfig } from './config.js';
import { openConfiguredDatabase } from './database.js';
import { createLogger, errorFields } from './logger.js';
import { fatal } from './process-exit.js';
import { scheduleReminderSweeps } from './reminders/scheduler.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    return fatal(err);
  }
  const logger = createLogger(config.LOG_LEVEL);

  let database: Awaited<ReturnType<typeof openConfiguredDatabase>>;
  try {
    database = await openConfiguredDatabase(config, `the server (npm start)`);
  } catch (err) {
    return fatal(err);
  }

  const deps = buildDeps(config, database, systemClock, logger);
  if (!deps.stripe) logger.warn('STRIPE_SECRET_KEY is not set: checkout answers 503 payment_provider_unconfigured');
  if (config.STRIPE_WEBHOOK_SECRET.length === 0) {
    logger.warn('STRIPE_WEBHOOK_SECRET is not set: /webhooks/stripe answers 503 webhook_unconfigured');
  }

  if (!deps.mailer) logger.warn('SMTP_URL is not set: reminder e-mails stay queued until it is');

  const app = createApp(deps);
  const sweeps =
    config.REMINDER_SWEEP_INTERVAL_SECONDS > 0
      ? scheduleReminderSweeps(deps, config.REMINDER_SWEEP_INTERVAL_SECONDS)
      : undefined;
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
    logger.info(
      { port: info.port, database: database.kind, dataDir: database.kind === 'pglite' ? config.DATA_DIR : undefined },
      `listening on ${config.PUBLIC_URL}`,
    );
  });
  server.on('error', (err) => fatal(err));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    // Stop taking connections, let in-flight requests and a running sweep finish, then close.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    void Promise.all([closed, sweeps?.stop()]).then(async () => {
      deps.mailer?.close();
      await database.close().catch((err) => logger.error({ err: errorFields(err) }, 'closing the database failed'));
      clearTimeout(force);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();

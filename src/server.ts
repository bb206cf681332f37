import { systemClock } from './clock.js';
import { type Config, loadConfig } from './config.js';
import { openConfiguredDatabase } from './database.js';
import { createLogger, errorFields } from './logger.js';
import { fatal } from './process-exit.js';
import type { RunningService } from './service.js';

async function main(): Promise<void> {
  // tsx maps stack traces through source maps. Our logs carry no stacks (errorFields), but the Stripe
  // SDK captures one on every call, and mapping it cost 7% of a checkout's CPU.
  process.setSourceMapsEnabled(false);
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    return fatal(err);
  }
  const logger = createLogger(config.LOG_LEVEL);
  // The database starts (on an empty folder, initdb runs) while the rest of the service loads.
  const database = openConfiguredDatabase(config, 'server', (level, message) => logger[level](message));
  database.catch(() => {}); // reported by startService below
  let service: RunningService;
  try {
    const { startService } = await import('./service.js');
    service = await startService(config, systemClock, logger, { database });
  } catch (err) {
    return fatal(err);
  }

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
    void service
      .stop()
      .catch((err) => logger.error({ err: errorFields(err) }, 'error while shutting down'))
      .finally(() => {
        clearTimeout(force);
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();

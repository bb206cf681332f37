import type { DatabaseHandle } from '../db/connect.js';
import { EventGroups } from '../webhooks/event-groups.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Deps } from './deps.js';
import { ExportSlots } from './exports/export-slots.js';
import type { Logger } from './logger.js';
import { LinkMailQueue } from './manage/link-mail-queue.js';
import { sendManageLinks } from './manage/send-links.js';
import { Metrics, mailQueue, stripeOperation } from './metrics/metrics.js';
import { KeyedHash } from './privacy/keyed-hash.js';
import { createMailer, type Mailer } from './reminders/mailer.js';
import { createStripeClient, type Stripe } from './stripe/client.js';

/** The one place the dependencies are assembled, for the server and for operations commands. */
export function buildDeps(
  config: Config,
  database: DatabaseHandle,
  clock: Clock,
  logger: Logger,
  o: { mailer?: Mailer | undefined } = {},
): Deps {
  const stripe = config.STRIPE_SECRET_KEY
    ? createStripeClient({
        secretKey: config.STRIPE_SECRET_KEY,
        apiUrl: config.STRIPE_API_URL,
        timeoutMs: config.STRIPE_TIMEOUT_MS,
      })
    : undefined;
  const metrics = new Metrics({
    pools: () => database.poolStats(),
    mailQueue: () => mailQueue(database.db, clock.now()),
  });
  // Every Stripe call, whoever makes it: the SDK's documented response event.
  stripe?.on('response', (r: Stripe.ResponseEvent) => {
    const labels = { operation: stripeOperation(r.method, r.path), status: String(r.status) };
    metrics.stripeDuration.observe(labels, r.elapsed / 1000);
    if (r.status >= 400) metrics.stripeErrors.inc(labels);
  });
  const deps: Deps = {
    config,
    metrics,
    db: database.db,
    exportDb: database.exportDb,
    exportSlots: new ExportSlots(config.EXPORT_CONCURRENCY),
    withPipeline: database.withPipeline,
    eventGroups:
      config.WEBHOOK_GROUP_SIZE > 1
        ? new EventGroups(database.withPipeline, {
            maxEvents: config.WEBHOOK_GROUP_SIZE,
            maxRunning: config.WEBHOOK_POOL_SIZE,
            // As long as a delivery would wait for a pooled connection.
            queueTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
            logger,
          })
        : undefined,
    copyOut: database.copyOut,
    stripe,
    mailer: createMailer(config) ?? o.mailer,
    linkMail: new LinkMailQueue(() => sendManageLinks(deps), logger),
    keyedHash: new KeyedHash(database.db, config.RATE_LIMIT_SECRET, () => clock.now()),
    clock,
    logger,
  };
  return deps;
}

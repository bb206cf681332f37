import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { DatabaseHandle } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import type { EventGroups } from '../webhooks/event-groups.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { ExportSlots } from './exports/export-slots.js';
import type { Logger } from './logger.js';
import type { LinkMailQueue } from './manage/link-mail-queue.js';
import type { Metrics } from './metrics/metrics.js';
import type { KeyedHash } from './privacy/keyed-hash.js';
import type { Mailer } from './reminders/mailer.js';

/** Everything the app needs, built once at start-up (src/server.ts) or by a test. */
export interface Deps {
  config: Config;
  /** Prometheus metrics (src/metrics/metrics.ts), served on METRICS_PORT. */
  metrics: Metrics;
  db: Kysely<Database>;
  /** Exports read through this: on PostgreSQL their own small pool (EXPORT_CONCURRENCY). */
  exportDb: Kysely<Database>;
  /** How many exports stream at once on this instance. */
  exportSlots: ExportSlots;
  /** A connection of the webhook pool (WEBHOOK_POOL_SIZE), in pg's pipeline mode: an event's transaction. */
  withPipeline: DatabaseHandle['withPipeline'];
  /** Group commit for webhook events under load; undefined with WEBHOOK_GROUP_SIZE=1. */
  eventGroups: EventGroups | undefined;
  /** PostgreSQL's COPY TO STDOUT stream, for exports. */
  copyOut: DatabaseHandle['copyOut'];
  /** Undefined when STRIPE_SECRET_KEY is not set: payment routes answer 503. */
  stripe: Stripe | undefined;
  /** Undefined when SMTP_URL is not set: reminder e-mails stay queued. */
  mailer: Mailer | undefined;
  /** Sends manage links soon after they are queued (src/manage/send-links.ts does the sending). */
  linkMail: LinkMailQueue;
  /** HMAC under the server's key: rate-limit counters and request fingerprints hold this, never the value. */
  keyedHash: KeyedHash;
  clock: Clock;
  logger: Logger;
}

import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, sql } from 'kysely';
import pg from 'pg';
import { type CopyOut, copyOut } from './copy-out.js';
import { CoalescingSocket, nameOf, pipelines, type WithPipeline } from './pipeline.js';
import type { Database } from './schema.js';
import { PREPARE_MARK } from './sql-fragment.js';

export interface DatabaseHandle {
  db: Kysely<Database>;
  /**
   * For exports: a pool of its own (EXPORT_CONCURRENCY connections), so a slow download never holds
   * a connection checkout, webhooks or health need.
   */
  exportDb: Kysely<Database>;
  /** Runs `work` (migrations) on a connection without the statement and query timeouts. */
  withoutTimeouts<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * For webhook events: a pool of its own in pg's pipeline mode (`webhookConnections`), whose
   * statements leave together, so an event's transaction costs one round trip.
   */
  withPipeline: WithPipeline;
  /** COPY ... TO STDOUT as a byte stream, on the export pool. */
  copyOut: (query: string) => Promise<CopyOut>;
  /** Each pool's size, connections in use and requests waiting (pg.Pool's documented counters), for metrics. */
  poolStats(): PoolStats[];
  close(): Promise<void>;
}

export interface PoolStats {
  pool: 'main' | 'webhooks' | 'exports';
  max: number;
  total: number;
  idle: number;
  waiting: number;
}

const statsOf = (name: PoolStats['pool'], pool: pg.Pool, max: number): PoolStats => ({
  pool: name,
  max,
  total: pool.totalCount,
  idle: pool.idleCount,
  waiting: pool.waitingCount,
});

export interface PostgresTarget {
  url: string;
  /** Every connection's application_name: which process of ours holds it. */
  applicationName?: string;
  poolSize: number;
  connectTimeoutMs: number;
  /** Client side: a query without an answer this long fails, and its connection is dropped. */
  queryTimeoutMs?: number;
  /** PostgreSQL's statement_timeout and lock_timeout for the service's own connections. */
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
  /** Connections for exports, apart from the service's. */
  exportConnections?: number;
  /** Connections for webhook events, apart from the service's. */
  webhookConnections?: number;
}

const INT8_OID = 20;

// int8 (counts, sums of integer amounts) comes back as a JS number: our money values are far below
// 2^53, and a value past the safe range fails loudly rather than rounding.
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${value} exceeds the safe integer range`);
  return n;
}

export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

function pgPool(t: PostgresTarget, max: number, timeouts: Partial<pg.PoolConfig>): pg.Pool {
  const pool = new pg.Pool({
    connectionString: t.url,
    ...(t.applicationName ? { application_name: t.applicationName } : {}),
    max,
    connectionTimeoutMillis: t.connectTimeoutMs,
    // A connection whose peer vanished (a partition, a dead NAT entry) is found out by the kernel.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
    ...timeouts,
  });
  // A client losing its connection (database restart, failover) must not crash the process: idle
  // ones report through the pool, checked-out ones through themselves (their query rejects anyway).
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

const serviceTimeouts = (t: PostgresTarget) => ({
  query_timeout: t.queryTimeoutMs ?? 15_000,
  statement_timeout: t.statementTimeoutMs ?? 10_000,
  lock_timeout: t.lockTimeoutMs ?? 5_000,
});

/** The webhook events' pool (`webhookConnections`), in pg's pipeline mode. */
export function openWebhookPool(t: PostgresTarget): {
  withPipeline: WithPipeline;
  stats(): PoolStats;
  end(): Promise<void>;
} {
  const max = t.webhookConnections ?? t.poolSize;
  const pool = pgPool(t, max, {
    ...serviceTimeouts(t),
    pipeline: true,
    stream: () => new CoalescingSocket(),
  });
  return { withPipeline: pipelines(pool), stats: () => statsOf('webhooks', pool, max), end: () => pool.end() };
}

export function openDatabase(t: PostgresTarget): DatabaseHandle {
  const timeouts = serviceTimeouts(t);
  const pool = pgPool(t, t.poolSize, timeouts);
  const webhooks = openWebhookPool(t);
  // An export runs as long as its client keeps reading (src/exports/csv-response.ts cuts off one
  // that stops), so its statements have no timeout; waiting for a lock is still bounded.
  const exportConnections = t.exportConnections ?? 2;
  const exportPool = pgPool(t, exportConnections, { lock_timeout: t.lockTimeoutMs ?? 5_000 });
  // Its sessions write times as the exports do (src/exports/copy-cells.ts), whatever the server's or
  // the URL's defaults. Queued on the new connection before anything else runs on it.
  exportPool.on('connect', (client) => {
    client.query("set datestyle to 'ISO'; set timezone to 'UTC'").catch(() => undefined);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new DroppingPool(pool) }) });
  const exportDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new DroppingPool(exportPool) }) });
  return {
    db,
    exportDb,
    async withoutTimeouts(work) {
      const single = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pgPool(t, 1, {}) }) });
      try {
        return await work(single);
      } finally {
        await single.destroy();
      }
    },
    withPipeline: webhooks.withPipeline,
    copyOut: (query) => copyOut(exportPool, query),
    poolStats: () => [
      statsOf('main', pool, t.poolSize),
      webhooks.stats(),
      statsOf('exports', exportPool, exportConnections),
    ],
    async close() {
      await Promise.all([db.destroy(), exportDb.destroy(), webhooks.end()]);
    },
  };
}

/**
 * The pool as Kysely sees it (its documented PostgresPool), with two differences: a marked
 * statement goes as a named one (see prepared below), and a client whose query failed without
 * PostgreSQL's answer (no SQLSTATE: a query timeout, a lost connection) is handed back with that
 * error, so the pool closes it instead of lending it out again in a state nobody knows.
 */
class DroppingPool implements PostgresPool {
  constructor(private readonly pool: pg.Pool) {}

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    return {
      query: ((...args: Parameters<pg.PoolClient['query']>) => {
        // Once broken, nothing more waits on it (a ROLLBACK would queue behind the stuck query).
        if (broken) return Promise.reject(broken);
        const result = (client.query as (...a: unknown[]) => unknown)(...prepared(args));
        if (result instanceof Promise) {
          return result.catch((err: unknown) => {
            if (!isServerAnswer(err)) broken = err as Error;
            throw err;
          });
        }
        return result;
      }) as PostgresPoolClient['query'],
      // Kysely passes true for a connection it no longer trusts (a failed ROLLBACK).
      release: (discard?: unknown) => client.release(broken ?? (discard ? new Error('discarded') : undefined)),
    };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/**
 * Kysely's `query(sql, parameters)`, as pg's query config with a name when the statement is marked
 * (PREPARE_MARK): pg prepares it once per connection.
 */
function prepared(args: unknown[]): unknown[] {
  const [text, values] = args;
  if (typeof text !== 'string' || !text.startsWith(PREPARE_MARK) || !Array.isArray(values)) return args;
  const name = nameOf(text);
  return name ? [{ name, text, values }] : args;
}

/** An error PostgreSQL itself answered with: the connection is fine. */
export const isServerAnswer = (err: unknown) => err instanceof pg.DatabaseError;

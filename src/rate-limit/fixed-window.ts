import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { join, PREPARED, run, sql } from '../../db/sql-fragment.js';
import { ApiError } from '../errors.js';

export interface Limit {
  /** What is counted, e.g. "reminder:ip:203.0.113.9"; e-mail addresses are hashed by the caller. */
  bucket: string;
  max: number;
  windowSeconds: number;
}

/** An identifier that can sit in a bucket name without being readable (e-mail addresses). */
export const hashed = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 32);

/**
 * Counts one hit against each limit in PostgreSQL (shared by every instance), all in one statement,
 * and throws a 429 with Retry-After when any is exceeded. Fixed windows aligned to the clock passed in.
 */
export async function hit(db: Kysely<Database>, limits: Limit[], now: Date): Promise<void> {
  if (limits.length === 0) return;
  const windows = limits.map((limit) => {
    const windowMs = limit.windowSeconds * 1000;
    const start = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
    return { limit, start, end: start.getTime() + windowMs };
  });
  // Sorted, so two requests sharing buckets lock their rows in the same order.
  const values = [...windows]
    .sort((a, b) => (a.limit.bucket < b.limit.bucket ? -1 : a.limit.bucket > b.limit.bucket ? 1 : 0))
    .map((w) => sql`(${w.limit.bucket}, ${w.start}, 1)`);
  const rows = await run<{ bucket: string; count: number }>(
    db,
    sql`${PREPARED} insert into rate_limit_counters (bucket, window_start, count) values ${join(values)}
      on conflict (bucket, window_start) do update set count = rate_limit_counters.count + 1
      returning bucket, count`,
  );
  const counts = new Map(rows.map((r) => [r.bucket, r.count]));
  const exceeded = windows.filter((w) => (counts.get(w.limit.bucket) ?? 0) > w.limit.max);
  if (exceeded.length === 0) return;
  const retryAfter = Math.max(1, ...exceeded.map((w) => Math.ceil((w.end - now.getTime()) / 1000)));
  throw new ApiError('rate_limited', 'Too many requests; please try again later', undefined, {
    'Retry-After': String(retryAfter),
  });
}

/** Drops counters of windows that ended before `before`. */
export async function purgeCounters(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db.deleteFrom('rate_limit_counters').where('window_start', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

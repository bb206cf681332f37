import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { join, PREPARED, run, sql } from '../../db/sql-fragment.js';
import { ApiError } from '../errors.js';
import { clientNetwork } from '../http/client-ip.js';
import type { KeyedHash } from '../privacy/keyed-hash.js';

export interface Limit {
  /** What kind of thing is counted, e.g. "reminder:ip". */
  name: string;
  /** The thing itself (an IP address, an e-mail address): only its keyed hash is stored. */
  value: string;
  max: number;
  windowSeconds: number;
}

/**
 * The limits on what one client asks for: per client network (an IPv4 address, an IPv6 /64), and,
 * when it names an e-mail, per e-mail within that network, so that nobody elsewhere can use up a
 * donor's own attempts by naming their address.
 */
export function clientLimits(
  name: 'checkout' | 'reminder' | 'manage',
  client: { ip: string; email: string | undefined },
  o: { perIp: number; perEmail: number; windowSeconds: number },
): Limit[] {
  const network = clientNetwork(client.ip);
  const limits: Limit[] = [{ name: `${name}:ip`, value: network, max: o.perIp, windowSeconds: o.windowSeconds }];
  if (client.email) {
    limits.push({
      name: `${name}:email`,
      value: `${client.email} ${network}`,
      max: o.perEmail,
      windowSeconds: o.windowSeconds,
    });
  }
  return limits;
}

/** Expired counters one hit deletes at most; the sweep takes whatever is left. */
const EXPIRED_PER_HIT = 200;

/**
 * Counts one hit against each limit in PostgreSQL (shared by every instance), all in one statement,
 * and throws a 429 with Retry-After when any is exceeded. Fixed windows aligned to the clock passed
 * in. A counter holds `name:HMAC(value)`, never the value, and is deleted once its window ends: the
 * same statement deletes counters whose window is over (a bounded number, skipping rows another
 * request is deleting, so it never waits), and the sweep deletes the rest. In expiry order, so the
 * plan walks the expiry index and stops at the first counter still running: without it, a
 * prepared plan scanned every counter on each hit.
 */
export async function hit(db: Kysely<Database>, keyed: KeyedHash, limits: Limit[], now: Date): Promise<void> {
  if (limits.length === 0) return;
  const windows = await Promise.all(
    limits.map(async (limit) => {
      const windowMs = limit.windowSeconds * 1000;
      const start = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
      const bucket = `${limit.name}:${await keyed.digest(limit.name, limit.value)}`;
      return { limit, bucket, start, end: new Date(start.getTime() + windowMs) };
    }),
  );
  // Sorted, so two requests sharing buckets lock their rows in the same order.
  const values = [...windows]
    .sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0))
    .map((w) => sql`(${w.bucket}, ${w.start}, ${w.end}, 1)`);
  const rows = await run<{ bucket: string; count: number }>(
    db,
    sql`${PREPARED} with expired as (
        delete from rate_limit_counters where (bucket, window_start) in (
          select bucket, window_start from rate_limit_counters where expires_at <= ${now}
          order by expires_at limit ${EXPIRED_PER_HIT} for update skip locked))
      insert into rate_limit_counters (bucket, window_start, expires_at, count) values ${join(values)}
      on conflict (bucket, window_start) do update
        set count = rate_limit_counters.count + 1, expires_at = excluded.expires_at
      returning bucket, count`,
  );
  const counts = new Map(rows.map((r) => [r.bucket, r.count]));
  const exceeded = windows.filter((w) => (counts.get(w.bucket) ?? 0) > w.limit.max);
  if (exceeded.length === 0) return;
  const retryAfter = Math.max(1, ...exceeded.map((w) => Math.ceil((w.end.getTime() - now.getTime()) / 1000)));
  throw new ApiError('rate_limited', 'Too many requests; please try again later', undefined, {
    'Retry-After': String(retryAfter),
  });
}

/** Deletes every counter whose window has ended. */
export async function deleteExpiredCounters(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db.deleteFrom('rate_limit_counters').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

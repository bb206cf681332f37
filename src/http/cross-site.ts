import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';

/**
 * For the pages' state-changing forms (POST /donate, /donate/remind, /donate/not-now,
 * /reminders/cancel): a browser says where a request comes from, and one from another site's
 * page is refused before anything is recorded. Otherwise any page could make its visitors'
 * browsers sign addresses up for mail that ties them to this newsroom, each from its own IP.
 *
 * - `Origin` present: it must be this service's (PUBLIC_URL) or one of ALLOWED_ORIGINS. "null"
 *   (a sandboxed frame, a redirect across sites, a page whose referrer policy hides it) passes only
 *   with `Sec-Fetch-Site: same-origin`.
 * - No `Origin`: `Sec-Fetch-Site: cross-site` is refused.
 * - Neither: not a browser we can judge (a server, curl), let through; the rate limits still apply.
 */
export function refuseCrossSite(config: Pick<Config, 'PUBLIC_URL' | 'ALLOWED_ORIGINS'>): MiddlewareHandler<AppEnv> {
  const allowed = new Set([new URL(config.PUBLIC_URL).origin, ...config.ALLOWED_ORIGINS]);
  return async (c, next) => {
    if (c.req.method === 'POST') {
      const origin = c.req.header('origin');
      const site = c.req.header('sec-fetch-site');
      const foreign =
        origin === undefined
          ? site === 'cross-site'
          : origin === 'null'
            ? site !== 'same-origin'
            : !allowed.has(origin);
      if (foreign) {
        c.get('logger')?.warn({ origin: origin ?? null, secFetchSite: site ?? null }, 'cross-site form post refused');
        throw new ApiError('cross_site_request', 'This form can only be sent from our own pages');
      }
    }
    await next();
  };
}

import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { Config } from '../config.js';

/** Headers for every response; HTML pages set their own, stricter CSP first (src/pages/page-security.ts). */
export function securityHeaders(config: Pick<Config, 'PUBLIC_URL'>): MiddlewareHandler<AppEnv> {
  const https = config.PUBLIC_URL.startsWith('https://');
  const defaults: Array<[string, string]> = [
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ['Cross-Origin-Resource-Policy', 'cross-origin'],
    ['Permissions-Policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()'],
    ['X-Frame-Options', 'DENY'],
    ...(https ? [['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as [string, string]] : []),
  ];
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    const csp = h.get('Content-Security-Policy');
    // Only pages set their own (CSP first); everything else takes every default without a lookup each.
    if (csp === null) {
      for (const [name, value] of defaults) h.set(name, value);
      return;
    }
    const framable = csp.includes('frame-ancestors http');
    for (const [name, value] of defaults) {
      if (name === 'X-Frame-Options' && framable) continue;
      if (!h.has(name)) h.set(name, value);
    }
  };
}

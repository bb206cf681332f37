import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { Config } from '../config.js';

/** Headers for every response; HTML pages set their own, stricter CSP first (src/pages/page-security.ts). */
export function securityHeaders(config: Pick<Config, 'PUBLIC_URL'>): MiddlewareHandler<AppEnv> {
  const https = config.PUBLIC_URL.startsWith('https://');
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    const setDefault = (name: string, value: string) => {
      if (!h.has(name)) h.set(name, value);
    };
    setDefault('X-Content-Type-Options', 'nosniff');
    setDefault('Referrer-Policy', 'no-referrer');
    setDefault('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    setDefault('Cross-Origin-Resource-Policy', 'cross-origin');
    setDefault('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()');
    if (!h.get('Content-Security-Policy')?.includes('frame-ancestors http')) setDefault('X-Frame-Options', 'DENY');
    if (https) setDefault('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  };
}

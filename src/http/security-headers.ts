import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { Config } from '../config.js';
import { nodeResponse } from './node-response.js';

/**
 * Headers for every response. An HTML page sets its own, stricter CSP, X-Frame-Options (left out
 * where it may be framed), Referrer-Policy and X-Content-Type-Options (src/pages/page-security.ts);
 * everything else gets these defaults.
 */
export function securityHeaders(config: Pick<Config, 'PUBLIC_URL'>): MiddlewareHandler<AppEnv> {
  const https = config.PUBLIC_URL.startsWith('https://');
  const everywhere: Array<[string, string]> = [
    ['Cross-Origin-Resource-Policy', 'cross-origin'],
    ['Permissions-Policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()'],
    ...(https ? [['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as [string, string]] : []),
  ];
  const notPages: Array<[string, string]> = [
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ['X-Frame-Options', 'DENY'],
    ...everywhere,
  ];
  return async (c, next) => {
    await next();
    const page = c.get('nonce') !== undefined;
    const headers = page ? everywhere : notPages;
    const outgoing = nodeResponse(c);
    if (outgoing) {
      for (const [name, value] of headers) outgoing.setHeader(name, value);
      return;
    }
    const h = c.res.headers;
    for (const [name, value] of headers) if (!h.has(name)) h.set(name, value);
  };
}

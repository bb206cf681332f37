import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { setHeader } from './node-response.js';

export interface CorsOptions {
  origins: readonly string[];
  allowMethods: readonly string[];
  allowHeaders: readonly string[];
  exposeHeaders: readonly string[];
  maxAgeSeconds: number;
}

/**
 * CORS for the API: only the listed origins are answered. The headers are set before the route
 * runs, on Node's response where there is one (src/http/node-response.ts). (hono/cors sets them on
 * `c.res` first, which made @hono/node-server build a full web Response for every API request,
 * then copy it.)
 */
export function apiCors(o: CorsOptions): MiddlewareHandler<AppEnv> {
  const origins = new Set(o.origins);
  const methods = o.allowMethods.join(',');
  const headers = o.allowHeaders.join(',');
  const exposed = o.exposeHeaders.join(',');
  const maxAge = String(o.maxAgeSeconds);
  return async (c, next) => {
    const origin = c.req.header('origin');
    const allowed = origin !== undefined && origins.has(origin);
    if (allowed) {
      setHeader(c, 'Access-Control-Allow-Origin', origin);
      setHeader(c, 'Access-Control-Expose-Headers', exposed);
    }
    // Answers differ by Origin: a cache must not hand one origin's answer to another.
    setHeader(c, 'Vary', 'Origin');
    if (c.req.method === 'OPTIONS') {
      if (allowed) {
        setHeader(c, 'Access-Control-Allow-Methods', methods);
        setHeader(c, 'Access-Control-Allow-Headers', headers);
        setHeader(c, 'Access-Control-Max-Age', maxAge);
      }
      return c.body(null, 204);
    }
    await next();
  };
}

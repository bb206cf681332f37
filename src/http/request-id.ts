import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { setHeader } from './node-response.js';

const PLAIN = /^[\w\-=]{1,128}$/;

/** X-Request-Id: the caller's when it is short and plain (safe to log and echo), else a new UUID. */
export function requestIds(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const id = given !== undefined && PLAIN.test(given) ? given : crypto.randomUUID();
    c.set('requestId', id);
    setHeader(c, 'X-Request-Id', id);
    await next();
  };
}

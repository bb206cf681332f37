import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../app-env.js';

/**
 * Rejects a body over `maxSize` bytes with `tooLarge()`. Served by @hono/node-server, a request
 * that declares its length is judged by that header (Node's parser never reads past it) and one
 * with no body passes, without building the web Request and its stream: that cost a checkout more
 * CPU than its database work. A streamed body of unknown length is counted as it is read, by hono's
 * bodyLimit, or by readTextBody for the JSON routes.
 */
export function limitBody(maxSize: number, tooLarge: () => never): MiddlewareHandler<AppEnv> {
  const counted = bodyLimit({ maxSize, onError: tooLarge });
  return (c, next) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (incoming) {
      const length = incoming.headers['content-length'];
      const streamed = incoming.headers['transfer-encoding'] !== undefined;
      if (!streamed && length === undefined) return next();
      if (!streamed && Number(length) > maxSize) tooLarge();
      if (!streamed) return next();
    }
    return counted(c, next);
  };
}

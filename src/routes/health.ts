import { Hono } from 'hono';
import { pingDatabase } from '../../db/connect.js';
import type { AppEnv } from '../app-env.js';
import type { Deps } from '../deps.js';
import { ApiError } from '../errors.js';

const PING_TIMEOUT_MS = 2000;

export function healthRoutes(deps: Deps) {
  return new Hono<AppEnv>().get('/health', async (c) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pingDatabase(deps.db),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('database ping timed out')), PING_TIMEOUT_MS);
        }),
      ]);
      return c.json({ status: 'ok' });
    } catch {
      const err = new ApiError('database_unavailable', 'The database is not answering');
      return c.json({ status: 'unavailable', ...err.body(c.get('requestId')) }, 503);
    } finally {
      clearTimeout(timer);
    }
  });
}

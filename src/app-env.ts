import type { Logger } from './logger.js';

/** The one typed Hono environment every route shares. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Child logger carrying the request id. */
    logger: Logger;
  };
}

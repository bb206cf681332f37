import type { Logger } from './logger.js';
import type { TokenSummary } from './staff/tokens.js';

/** The one typed Hono environment every route shares. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Child logger carrying the request id. */
    logger: Logger;
    /** The authenticated staff token, on /admin routes. */
    staff: TokenSummary;
    /** The supporter a manage token is for, on /api/manage and /manage routes. */
    supporterId: string;
    /** The CSP nonce of an HTML page (src/pages/page-security.ts). */
    nonce: string;
  };
}

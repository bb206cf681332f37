import type { MiddlewareHandler } from 'hono';
import type { StaffRole } from '../../db/schema.js';
import type { AppEnv } from '../app-env.js';
import type { Deps } from '../deps.js';
import { ApiError } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { authenticateStaffToken } from './tokens.js';

// admin can do everything finance can.
const GRANTS: Record<StaffRole, readonly StaffRole[]> = { finance: ['finance'], admin: ['finance', 'admin'] };

const unauthorized = (message: string) =>
  new ApiError('unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="reader-donations"' });

/** Staff routes: a valid, unrevoked bearer token whose role grants `role`. */
export function requireStaff(deps: Deps, role: StaffRole): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Who tried: someone probing staff routes is worth an address in the log (never the token).
    const refuse = (err: ApiError, reason: string) => {
      c.get('logger')?.warn({ clientIp: clientIp(c, deps.config.TRUST_PROXY), reason }, 'staff access refused');
      return err;
    };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    if (!match) throw refuse(unauthorized('An Authorization: Bearer <token> header is required'), 'no token');
    const staff = await authenticateStaffToken(deps.db, match[1]!, deps.clock.now());
    if (!staff) throw refuse(unauthorized('The token is not valid or has been revoked'), 'unknown or revoked token');
    if (!GRANTS[staff.role].includes(role)) {
      throw refuse(new ApiError('forbidden', `This needs the ${role} role; the token has ${staff.role}`), 'role');
    }
    c.set('staff', staff);
    c.header('Cache-Control', 'no-store');
    await next();
  };
}

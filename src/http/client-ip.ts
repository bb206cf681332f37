import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/**
 * The client's address: the socket's peer, or, behind TRUST_PROXY proxies, the address the
 * outermost trusted proxy saw (counted from the right of X-Forwarded-For, which clients can forge
 * on the left). Unknown when neither is available (in-process test requests).
 */
export function clientIp(c: Context, trustProxy: number): string {
  let socketAddress: string | undefined;
  try {
    socketAddress = getConnInfo(c).remote.address;
  } catch {
    socketAddress = undefined;
  }
  if (trustProxy > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const candidate = hops[hops.length - trustProxy];
    if (candidate) return normalise(candidate);
  }
  return socketAddress ? normalise(socketAddress) : 'unknown';
}

const normalise = (address: string) => address.replace(/^::ffff:/, '');

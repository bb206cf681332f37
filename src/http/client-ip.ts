import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/**
 * The client's address: the socket's peer, or, behind TRUST_PROXY proxies, the address the
 * outermost trusted proxy saw (counted from the right of X-Forwarded-For, which clients can forge
 * on the left). A forwarded hop that is not an IP address is ignored in favour of the socket's.
 * Always in one canonical text (normaliseAddress), so one client is one counter. "unknown" when
 * neither is available (in-process test requests).
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
    const forwarded = candidate === undefined ? undefined : normaliseAddress(candidate);
    if (forwarded) return forwarded;
  }
  return (socketAddress && normaliseAddress(socketAddress)) ?? 'unknown';
}

/**
 * One text per address: IPv4 dotted; IPv6 as the URL standard writes it (lower case, the longest
 * run of zeros as "::", RFC 5952); IPv4-mapped IPv6 as the IPv4 it carries; a port, brackets or a
 * zone dropped. Undefined for anything that is not an IP address.
 */
export function normaliseAddress(raw: string): string | undefined {
  let a = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  a = a.replace(/%[\w.-]+$/, '');
  const version = isIP(a);
  if (version === 4) return a;
  if (version !== 6) return undefined;
  const canonical = new URL(`http://[${a}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [Number.parseInt(mapped[1]!, 16), Number.parseInt(mapped[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/**
 * What rate limits count a client by: an IPv4 address, or an IPv6 address's /64 (one household or
 * one phone gets a whole /64, and can use any address in it).
 */
export function clientNetwork(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${normaliseAddress(`${groups.slice(0, 4).join(':')}::`)}/64`;
}

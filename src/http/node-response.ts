import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';

/**
 * Node's response under @hono/node-server, absent in app.request (tests). Headers every response
 * carries are set on it directly: through c.header they cost a web Headers object per request,
 * more than the rest of a webhook's HTTP handling. A header of the same name on the route's own
 * Response replaces them when the head is written.
 */
export function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  return outgoing && !outgoing.headersSent ? outgoing : undefined;
}

/** Sets a header on Node's response when there is one, else on the route's Response (c.header). */
export function setHeader(c: Context, name: string, value: string): void {
  const outgoing = nodeResponse(c);
  if (outgoing) outgoing.setHeader(name, value);
  else c.header(name, value);
}

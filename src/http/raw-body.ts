import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/** The request body as UTF-8 text, or `tooLarge()` past `limit` bytes (see readBody). */
export async function readTextBody(c: Context, limit: number, tooLarge: () => never): Promise<string> {
  return (await readBody(c, limit, tooLarge)).toString('utf8');
}

/**
 * The request body's bytes, or `tooLarge()` past `limit` bytes. Served by @hono/node-server, it
 * reads Node's request directly: building the web Request and its stream costs more than a
 * webhook's database work. Elsewhere (app.request in tests) it reads the web Request.
 */
export async function readBody(c: Context, limit: number, tooLarge: () => never): Promise<Buffer> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming || incoming.readableDidRead) {
    const body = await c.req.arrayBuffer();
    if (body.byteLength > limit) tooLarge();
    return Buffer.from(body);
  }
  if (Number(incoming.headers['content-length']) > limit) tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

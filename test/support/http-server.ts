import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

export interface Served {
  /** http://127.0.0.1:<port> */
  base: string;
  close(): Promise<void>;
}

/** Serves an app over real HTTP (@hono/node-server), so Node's request and response are in play. */
export async function serveApp(app: {
  fetch: (req: Request, env: unknown) => Response | Promise<Response>;
}): Promise<Served> {
  const server = serve({ fetch: (req, env) => app.fetch(req, env), port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

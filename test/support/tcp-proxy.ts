import type { AddressInfo } from 'node:net';
import { connect, createServer, type NetConnectOpts, type Server, type Socket } from 'node:net';

/**
 * A TCP relay between the service and PostgreSQL that a test can cut (every connection dropped,
 * new ones refused at once) and restore: a database that goes away and comes back. Or blackhole:
 * nothing forwarded any more and nothing closed, on open connections and new ones alike, as a
 * network partition or a dead NAT entry does; the connections it swallowed stay swallowed.
 */
export class TcpProxy {
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  #pairs: Array<[Socket, Socket]> = [];
  #cut = false;
  #blackhole = false;
  port = 0;

  constructor(private readonly upstream: NetConnectOpts) {}

  /** A relay to the server of a PostgreSQL URL: its TCP host and port, or its Unix socket (`?host=/dir`). */
  static forDatabase(url: string): TcpProxy {
    const u = new URL(url);
    const socketDir = u.searchParams.get('host');
    return new TcpProxy(
      socketDir?.startsWith('/')
        ? { path: `${socketDir}/.s.PGSQL.${u.port || 5432}` }
        : { host: u.hostname, port: Number(u.port || 5432) },
    );
  }

  /** The same database's URL through this relay (over TCP to it; start() first). */
  databaseUrl(url: string): string {
    const u = new URL(url);
    u.searchParams.delete('host');
    u.host = `127.0.0.1:${this.port}`;
    return u.toString();
  }

  async start(): Promise<this> {
    this.#server = createServer((client) => {
      this.#track(client);
      if (this.#cut) {
        client.destroy();
        return;
      }
      if (this.#blackhole) {
        client.pause();
        return;
      }
      const upstream = connect(this.upstream);
      this.#track(upstream);
      for (const s of [client, upstream]) {
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
      this.#pairs.push([client, upstream]);
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  #track(s: Socket) {
    this.#sockets.add(s);
    s.on('close', () => this.#sockets.delete(s));
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  blackhole(): void {
    this.#blackhole = true;
    for (const [client, upstream] of this.#pairs.splice(0)) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  restore(): void {
    this.#cut = false;
    this.#blackhole = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.#server?.close(() => r()) ?? r());
  }
}

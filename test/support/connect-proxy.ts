/**
 * A forward proxy on loopback that speaks HTTP CONNECT, as corporate proxies (squid …) do for
 * HTTPS and gRPC: it opens a TCP tunnel to the requested host:port and counts the tunnels per
 * target. Anything but CONNECT is answered 405. Always binds 127.0.0.1.
 */
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";

export class ConnectProxy {
  /** Tunnels opened, by target "host:port", in order. */
  readonly tunnels: string[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<ConnectProxy> {
    const server = createServer((_req, res) => {
      res.writeHead(405, { "Content-Type": "text/plain" });
      res.end("only CONNECT\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = new ConnectProxy(server, (server.address() as { port: number }).port);
    server.on("connect", (req, client: Socket, head: Buffer) => proxy.tunnel(req.url ?? "", client, head));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Tunnels opened to `target` ("host:port"). */
  count(target: string): number {
    return this.tunnels.filter((opened) => opened === target).length;
  }

  private tunnel(target: string, client: Socket, head: Buffer): void {
    const match = /^(.+):(\d+)$/.exec(target);
    if (!match) {
      client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    this.tunnels.push(target);
    const upstream = connect(Number(match[2]), (match[1] as string).replace(/^\[|\]$/g, ""), () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

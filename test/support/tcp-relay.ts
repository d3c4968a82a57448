/**
 * A TCP relay on loopback in front of a server, which can turn into a black hole for the
 * connections it carries: `freeze()` stops moving bytes on them both ways while keeping them
 * open (a NAT or firewall that forgot the flow, a peer that stopped reading), and connections
 * opened afterwards go through as usual. Always binds 127.0.0.1.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export class TcpRelay {
  /** Connections accepted so far. */
  accepted = 0;
  /** Connections still relaying (not frozen). */
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Relays 127.0.0.1:<any free port> to `targetPort` on 127.0.0.1. */
  static async start(targetPort: number): Promise<TcpRelay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const relay = new TcpRelay(server, (server.address() as { port: number }).port);
    server.on("connection", (client) => relay.carry(client, connect(targetPort, "127.0.0.1")));
    return relay;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Stops the connections open now from moving any byte, without closing them. */
  freeze(): void {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private carry(client: Socket, upstream: Socket): void {
    this.accepted++;
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    for (const socket of pair) {
      this.sockets.add(socket);
      socket.on("error", () => {});
      socket.once("close", () => {
        this.sockets.delete(socket);
        this.pairs.delete(pair);
        // One side gone ends the other, unless frozen: a black hole does not pass on closes.
        if (!this.frozen(pair)) for (const other of pair) other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private frozen(pair: [Socket, Socket]): boolean {
    return !this.pairs.has(pair) && pair.every((socket) => socket.isPaused());
  }
}

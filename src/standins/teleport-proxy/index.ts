/**
 * A Teleport proxy stand-in on loopback, in front of the auth server stand-in, for the two ways
 * a plugin reaches the auth API through the proxy's one public port (TELEPORT-WIRE.md §7 "via
 * proxy"):
 *
 * - TLS routing (Teleport 8+): the proxy peeks each ClientHello (alpn-router.ts); the
 *   `teleport-auth@<hex(cluster)>.teleport.cluster.local` ALPN route is forwarded untouched to
 *   the auth server, whose host certificate the client verifies; every other ClientHello gets
 *   the proxy's web certificate (web.ts) from a "public" CA that is not the cluster's.
 * - Behind an L7 load balancer (`behindLoadBalancer`): TLS ends at the web certificate for every
 *   connection, so ALPN never reaches the router; the client upgrades `GET
 *   /webapi/connectionupgrade` to a WebSocket (Teleport 15.1+) and runs the same TLS routing
 *   inside it.
 *
 * Only the auth route is modelled: SSH, reverse tunnels, Kubernetes, databases and apps are not.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createWebPki, type WebPki } from "../pki.js";
import { authRouteCluster, forward, peekClientHello } from "./alpn-router.js";
import { createWebServer, PROXY_PING_INTERVAL_MS } from "./web.js";

export { type ClientHello, parseClientHello } from "./client-hello.js";

export interface TeleportProxyStandinOptions {
  /** host:port of the auth server stand-in on loopback. */
  authAddr: string;
  /** The cluster the proxy serves; a route to any other is refused. */
  clusterName: string;
  /** Teleport version reported by /webapi/ping. */
  version?: string;
  /** The proxy routes `teleport-auth@` (Teleport 8+ with its ALPN listener; default true). */
  tlsRouting?: boolean;
  /** An L7 load balancer in front ends TLS with the web certificate (default false). */
  behindLoadBalancer?: boolean;
  /** The WebSocket connection upgrade exists (Teleport 15.1+; default true). */
  webSocketUpgrade?: boolean;
  /** Interval of the WebSocket pings of an `alpn-ping` upgrade (default Teleport's 30 s). */
  pingIntervalMs?: number;
  /** Web certificate and its public CA (default a fresh pair for localhost/127.0.0.1/::1). */
  webPki?: WebPki;
  /** Port on 127.0.0.1 (default 0 = any free port). */
  port?: number;
}

/** One connection that asked for the auth route. */
export interface ProxyRoute {
  /** How it arrived: straight on the public port, or inside a connection upgrade. */
  via: "tls-routing" | "upgrade";
  cluster: string;
  outcome: "forwarded" | "refused";
}

export class TeleportProxyStandin {
  /** Every auth route asked for, in order. */
  readonly routes: ProxyRoute[] = [];
  /** Every HTTP request the web side answered: "GET /webapi/ping 200". */
  readonly requests: string[] = [];
  private readonly sockets = new Set<Duplex>();
  private front: Server | undefined;
  private web: Server | undefined;

  private constructor(
    private readonly options: TeleportProxyStandinOptions,
    readonly webPki: WebPki,
  ) {}

  static async start(options: TeleportProxyStandinOptions): Promise<TeleportProxyStandin> {
    const proxy = new TeleportProxyStandin(options, options.webPki ?? (await createWebPki()));
    await proxy.open();
    return proxy;
  }

  private async open(): Promise<void> {
    const { options } = this;
    const web = createWebServer({
      cert: this.webPki.server,
      ping: () => this.pingBody(),
      upgrade: (options.webSocketUpgrade ?? true) && (options.tlsRouting ?? true),
      pingIntervalMs: options.pingIntervalMs ?? PROXY_PING_INTERVAL_MS,
      onUpgraded: (stream) => void this.route(stream, "upgrade"),
      onRequest: (method, path, status) => this.requests.push(`${method} ${path} ${status}`),
    });
    web.on("connection", (socket: Socket) => this.track(socket));
    if (options.behindLoadBalancer || options.tlsRouting === false) {
      // Nothing reads the ClientHello before TLS ends at the web certificate.
      this.front = web;
    } else {
      this.web = web;
      await listen(web, 0);
      this.front = createServer((socket) => void this.acceptFront(socket));
    }
    await listen(this.front, options.port ?? 0);
  }

  get port(): number {
    const address = this.front?.address();
    return typeof address === "object" && address ? address.port : 0;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** What a client must trust to verify the web certificate (a system store would hold it). */
  get webCaCert(): string {
    return this.webPki.caCert;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([this.front && close(this.front), this.web && close(this.web)]);
  }

  private pingBody(): Record<string, unknown> {
    return {
      auth: { type: "local", second_factor: "otp", local: { name: "" } },
      proxy: {
        kube: { enabled: false },
        ssh: { listen_addr: "0.0.0.0:3023", public_addr: this.addr },
        db: {},
        tls_routing_enabled: this.options.tlsRouting ?? true,
      },
      server_version: this.options.version ?? "18.0.0",
      min_client_version: "17.0.0",
      cluster_name: this.options.clusterName,
      automatic_upgrades: false,
    };
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  }

  /** A connection on the public port: the auth route is forwarded, everything else goes to the web side. */
  private async acceptFront(socket: Socket): Promise<void> {
    this.track(socket);
    socket.setNoDelay(true);
    const peeked = await peekClientHello(socket);
    if (!peeked) {
      socket.destroy();
      return;
    }
    if (authRouteCluster(peeked.hello) !== undefined) {
      this.routeAuth(socket, peeked.bytes, authRouteCluster(peeked.hello) ?? "", "tls-routing");
      return;
    }
    const web = this.web?.address();
    if (!web || typeof web !== "object") {
      socket.destroy();
      return;
    }
    this.track(forward(socket, peeked.bytes, web.port));
  }

  /** The TLS stream inside an upgrade: only the auth route leads anywhere. */
  private async route(stream: Duplex, via: ProxyRoute["via"]): Promise<void> {
    this.track(stream);
    const peeked = await peekClientHello(stream);
    const cluster = peeked ? authRouteCluster(peeked.hello) : undefined;
    if (!peeked || cluster === undefined) {
      stream.destroy();
      return;
    }
    this.routeAuth(stream, peeked.bytes, cluster, via);
  }

  private routeAuth(client: Duplex, replay: Buffer, cluster: string, via: ProxyRoute["via"]): void {
    if (cluster !== this.options.clusterName) {
      this.routes.push({ via, cluster, outcome: "refused" });
      client.destroy();
      return;
    }
    this.routes.push({ via, cluster, outcome: "forwarded" });
    const port = Number(this.options.authAddr.slice(this.options.authAddr.lastIndexOf(":") + 1));
    this.track(forward(client, replay, port));
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

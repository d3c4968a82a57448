/**
 * Transport as Teleport's auth server has it (WIRE §7): TLS with the server certificate signed
 * by the Host CA, ALPN h2, client certificates verified against the User CA, and Go's
 * VerifyClientCertIfGiven — a certificate is asked for but optional (no certificate = Nop
 * identity), an unverifiable one is refused. On 4.3–6.2 an SNI of the form
 * `<x>.teleport.cluster.local` other than `<hex(cluster)>.teleport.cluster.local` aborts the
 * handshake.
 *
 * Node's TLS server has no VerifyClientCertIfGiven mode (grpc-js's `createSsl(…, false)` does not
 * even ask for a certificate, `true` refuses callers without one), so TLS is terminated here with
 * `tls.Server` (requestCert, verification done by us) and each accepted socket is handed to
 * grpc-js through a connection injector. That also gives us the listening socket for the fault
 * hooks (refuse, restart on the same port).
 */
import type { Http2Server } from "node:http2";
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { type ConnectionInjector, Server, ServerCredentials } from "@grpc/grpc-js";
import { type CertAndKey, type ClusterPki, TELEPORT_SERVER_NAME } from "../pki.js";
import { enforcePingPolicy, type PingPolicyCounters } from "./ping-policy.js";

const TELEPORT_SNI_SUFFIX = `.${TELEPORT_SERVER_NAME}`;

/**
 * How much a client connection lets the server send before the client asks for more (HTTP/2
 * flow control), in bytes: per stream (its SETTINGS_INITIAL_WINDOW_SIZE) and in all (the
 * connection window, which only a WINDOW_UPDATE raises past 64 KB).
 */
export interface ClientWindows {
  stream: number;
  connection: number;
}

/** Records the windows of each client connection when its first call arrives. */
function recordClientWindows(server: Http2Server, into: ClientWindows[]): void {
  server.on("session", (session) => {
    session.once("stream", () => {
      into.push({
        stream: session.remoteSettings.initialWindowSize ?? 65_535,
        connection: session.state.remoteWindowSize ?? 65_535,
      });
    });
  });
}

export interface TransportOptions {
  pki: ClusterPki;
  serverCert: CertAndKey;
  /** Refuse `<non-hex>.teleport.cluster.local` SNI (the version profile's `strictSni`). */
  strictSni: boolean;
  /** Client pings closer together than this end the connection (ping-policy.ts); none if undefined. */
  pingMinTimeMs: number | undefined;
  pingCounters: PingPolicyCounters;
  /** Where each client connection's flow-control windows are recorded, at its first call. */
  clientWindows: ClientWindows[];
  /** Adds the gRPC services to each new server. */
  register: (server: Server) => void;
  /** A TLS handshake was refused. */
  onTlsRejected: (reason: string) => void;
}

export class Transport {
  private readonly sockets = new Set<Socket>();
  private listener: tls.Server | undefined;
  private grpcServer: Server | undefined;
  private injector: ConnectionInjector | undefined;
  private boundPort = 0;

  constructor(private readonly options: TransportOptions) {}

  get port(): number {
    return this.boundPort;
  }

  /** A new gRPC server with the services registered, listening on `port` (0 = any free port). */
  async open(port: number): Promise<void> {
    const server = new Server();
    this.options.register(server);
    this.grpcServer = server;
    this.injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    const { pingMinTimeMs, pingCounters, clientWindows } = this.options;
    const http2Server = injectorHttp2Server(server);
    enforcePingPolicy(http2Server, pingMinTimeMs, pingCounters);
    recordClientWindows(http2Server, clientWindows);
    await this.openListener(port);
  }

  /** Closes the listener and every connection, and shuts the gRPC server down. */
  close(): void {
    this.closeListener();
    this.destroySockets();
    this.injector?.destroy();
    this.injector = undefined;
    this.grpcServer?.forceShutdown();
    this.grpcServer = undefined;
  }

  /**
   * Stops accepting connections (clients get ECONNREFUSED) or accepts again on the same port.
   * Open connections are kept unless `dropExisting`.
   */
  async refuse(on: boolean, dropExisting: boolean): Promise<void> {
    if (on) {
      this.closeListener();
      if (dropExisting) this.destroySockets();
    } else if (!this.listener) {
      await this.openListener(this.boundPort);
    }
  }

  private openListener(port: number): Promise<void> {
    const { serverCert, pki } = this.options;
    const listener = tls.createServer({
      cert: serverCert.cert,
      key: serverCert.key,
      // Client certificates are checked against the User CA only (WIRE §7 "client certificate").
      ca: pki.userCa.cert,
      requestCert: true,
      rejectUnauthorized: false, // verified below: a certificate is optional but must be valid
      ALPNProtocols: ["h2"], // WIRE §7 "server ALPN"
      SNICallback: (serverName, done) => done(this.checkServerName(serverName), undefined),
      // Go sets TCP_NODELAY on every connection; without it Nagle holds back small answers
      // while an earlier one is unacknowledged, up to the peer's delayed-ACK timeout (40 ms).
      noDelay: true,
    });
    listener.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      socket.on("error", () => {}); // resets are normal here; the close handler does the bookkeeping
    });
    listener.on("secureConnection", (socket: tls.TLSSocket) => this.acceptSecureConnection(socket));
    listener.on("tlsClientError", (error: Error) => this.options.onTlsRejected(error.message));
    return new Promise((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(port, "127.0.0.1", () => {
        listener.off("error", reject);
        const address = listener.address();
        this.boundPort = typeof address === "object" && address ? address.port : port;
        this.listener = listener;
        resolve();
      });
    });
  }

  private closeListener(): void {
    this.listener?.close();
    this.listener = undefined;
  }

  private destroySockets(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /**
   * Teleport's SNI rule (WIRE §7 "server SNI handling"): `<hex(cluster)>.teleport.cluster.local`
   * selects the cluster; any other `<x>.teleport.cluster.local` aborts the handshake on 4.3–6.2.
   */
  private checkServerName(serverName: string): Error | null {
    if (!this.options.strictSni || !serverName.endsWith(TELEPORT_SNI_SUFFIX)) return null;
    const prefix = serverName.slice(0, -TELEPORT_SNI_SUFFIX.length);
    if (prefix === Buffer.from(this.options.pki.clusterName).toString("hex")) return null;
    return new Error(`unsupported server name ${serverName}`);
  }

  /** VerifyClientCertIfGiven (WIRE §7): no certificate = Nop identity; an unverifiable one is refused. */
  private acceptSecureConnection(socket: tls.TLSSocket): void {
    const presented = Object.keys(socket.getPeerCertificate()).length > 0;
    if (presented && !socket.authorized) {
      this.options.onTlsRejected(String(socket.authorizationError));
      socket.destroy();
      return;
    }
    if (!this.injector) {
      socket.destroy();
      return;
    }
    this.injector.injectConnection(socket);
  }
}

/**
 * The HTTP/2 server behind `server`'s connection injector, whose sessions the ping policy watches.
 * grpc-js keeps it in a private map (server.ts `http2Servers`, 1.10+); a grpc-js that stops doing
 * so fails every stand-in start here, saying why, instead of silently dropping the policy.
 */
function injectorHttp2Server(server: Server): Http2Server {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  const newest = servers ? [...servers.keys()].at(-1) : undefined;
  if (!newest) {
    throw new Error(
      "grpc-js no longer keeps its HTTP/2 servers in Server.http2Servers: the Teleport stand-in cannot " +
        "enforce Teleport's keepalive ping policy (src/standins/teleport/ping-policy.ts)",
    );
  }
  return newest;
}

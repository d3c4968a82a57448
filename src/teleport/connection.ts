/**
 * The client's connection to the auth API: which route `addr` needs (found once by
 * route-detect.ts, found again after a connection on it fails) and the last reason a connection
 * could not be made, so that calls failing with gRPC UNAVAILABLE can say it with its fix.
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { parseHostPort } from "../config/host-port.js";
import { AppError } from "../errors.js";
import type { ProxyChoice } from "../lib/proxy-env.js";
import { openTcp } from "./forward-proxy.js";
import {
  clusterNameOf,
  HANDSHAKE_TIMEOUT_MS,
  openRoute,
  type RouteIdentity,
  TELEPORT_SERVER_NAME,
} from "./route.js";
import { type DetectOptions, detectRouteOver, type RouteReport } from "./route-detect.js";

export interface ConnectionOptions {
  /** host:port from `[teleport] addr`. */
  addr: string;
  identity: RouteIdentity;
  serverName?: string;
  /** PEM CAs trusted for a proxy's web certificate besides Node's public list. */
  proxyCa?: string;
  /** Force the connection upgrade on (true) or off (false); undefined detects. */
  upgrade?: boolean;
  /** The forward proxy (HTTPS_PROXY) the connections to addr go through. */
  forwardProxy?: ProxyChoice;
}

export class Connection {
  /** The route in use, once one worked. */
  route: RouteReport | undefined;
  /** Why the last connection attempt failed; cleared by the next that works. */
  lastFailure: AppError | undefined;
  private detecting: Promise<RouteReport> | undefined;
  /** Connections handed to grpc-js that are still open. */
  private readonly opened = new Set<TLSSocket>();
  private readonly params;
  private readonly detect: DetectOptions;

  constructor(options: ConnectionOptions) {
    const target = parseHostPort(options.addr, { hostRequired: true });
    if (!target)
      throw new AppError("CONFIG", `[teleport] addr ${JSON.stringify(options.addr)} is not host:port`);
    this.params = {
      host: target.host,
      port: target.port,
      identity: options.identity,
      clusterName: clusterNameOf(options.identity.cert),
      serverName: options.serverName ?? TELEPORT_SERVER_NAME,
      ...(options.proxyCa ? { proxyCa: options.proxyCa } : {}),
      ...(options.forwardProxy ? { forwardProxy: options.forwardProxy } : {}),
    };
    this.detect = options.upgrade === undefined ? {} : { upgrade: options.upgrade };
  }

  get clusterName(): string {
    return this.params.clusterName;
  }

  /** The connections handed to grpc-js that are open now. */
  openSockets(): TLSSocket[] {
    return [...this.opened];
  }

  /**
   * Closes those of `sockets` still open: grpc-js fails their calls and connects again. For a
   * connection that stopped answering without closing (stall-check.ts). Returns how many it closed.
   */
  drop(sockets: TLSSocket[]): number {
    let closed = 0;
    for (const socket of sockets) {
      if (!this.opened.delete(socket)) continue;
      socket.destroy();
      closed++;
    }
    return closed;
  }

  private track(socket: TLSSocket): TLSSocket {
    this.opened.add(socket);
    socket.once("close", () => this.opened.delete(socket));
    return socket;
  }

  /**
   * Opens the route over grpc-js's TCP socket, finding the route first when none is known. The
   * search tries `direct` on that socket: on an auth server its handshake is the connection. When
   * the route is another, that socket is spent on the failed try and the route is opened over a
   * new one.
   */
  async open(socket: Socket): Promise<TLSSocket> {
    let over = socket;
    // grpc-js hands the socket over with no 'error' listener. While it waits here unwrapped (for
    // a route another open is finding), a reset of it would be an uncaught exception: the end of
    // the process. Kept until TLS runs on it, which then reports its errors.
    let reset: Error | undefined;
    const onError = (error: Error) => {
      reset ??= error;
    };
    socket.on("error", onError);
    try {
      let route = this.route;
      if (!route && !this.detecting) {
        const found = await this.detectOver(over);
        if (found.secure) {
          this.lastFailure = undefined;
          return this.track(found.secure);
        }
        route = found.route;
        if (over.destroyed) over = await openTcp(this.params, HANDSHAKE_TIMEOUT_MS);
      }
      route ??= await this.detecting!;
      if (reset) throw reset;
      const secure = await openRoute(route.kind, over, this.params);
      this.lastFailure = undefined;
      return this.track(secure);
    } catch (error) {
      if (over !== socket) over.destroy();
      this.route = undefined;
      this.lastFailure = AppError.from(error, "TELEPORT");
      throw this.lastFailure;
    } finally {
      socket.off("error", onError);
    }
  }

  /** Finds the route, trying `direct` on `socket`; other opens meanwhile wait for the route found. */
  private async detectOver(socket: Socket): Promise<{ route: RouteReport; secure?: TLSSocket }> {
    const detection = detectRouteOver(socket, this.params, this.detect);
    const detecting = detection.then((found) => found.route);
    detecting.catch(() => {}); // the caller gets the failure from `detection`
    this.detecting = detecting;
    try {
      const found = await detection;
      this.route = found.route;
      return found;
    } finally {
      if (this.detecting === detecting) this.detecting = undefined;
    }
  }
}

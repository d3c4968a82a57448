/**
 * The proxy's HTTPS side: the web certificate (from a public CA, not the cluster's), HTTP/1.1 and
 * h2, `GET /webapi/ping`, and the TLS routing connection upgrade `GET /webapi/connectionupgrade`
 * that clients behind an L7 load balancer use (Teleport `lib/web/conn_upgrade.go`, RFD 0123):
 * a WebSocket upgrade (Teleport 15.1+) whose sub-protocol is `alpn` or `alpn-ping`; the binary
 * frames then carry a TLS stream that goes through the same ALPN router as a direct connection.
 * With `alpn-ping` the proxy sends a WebSocket ping every ProxyPingInterval (30 s in
 * `lib/defaults`). An upgrade type the proxy does not handle is a 404 (trace.NotFound
 * "unsupported upgrade types").
 */
import type { IncomingMessage } from "node:http";
import * as http2 from "node:http2";
import type { Duplex } from "node:stream";
import { createWebSocketStream, WebSocketServer } from "ws";
import type { CertAndKey } from "../pki.js";

export const UPGRADE_PATH = "/webapi/connectionupgrade";
export const PING_PATH = "/webapi/ping";
/** WebSocket sub-protocols of the upgrade (Teleport `constants.WebAPIConnUpgradeTypeALPN…`). */
export const UPGRADE_PROTOCOLS = ["alpn", "alpn-ping"] as const;
/** Teleport `lib/defaults.ProxyPingInterval`. */
export const PROXY_PING_INTERVAL_MS = 30_000;

export interface WebOptions {
  cert: CertAndKey;
  /** Body of /webapi/ping. */
  ping: () => Record<string, unknown>;
  /** Whether the WebSocket upgrade exists (Teleport 15.1+) and leads anywhere. */
  upgrade: boolean;
  pingIntervalMs: number;
  /** Handles the TLS stream carried by an accepted upgrade. */
  onUpgraded: (stream: Duplex, protocol: string) => void;
  /** Told about every request, for tests. */
  onRequest: (method: string, path: string, status: number) => void;
}

/** The proxy's HTTPS server (not yet listening). */
export function createWebServer(options: WebOptions): http2.Http2SecureServer {
  const server = http2.createSecureServer(
    { cert: options.cert.cert, key: options.cert.key, allowHTTP1: true },
    (request, response) => {
      const path = new URL(request.url, "https://proxy").pathname;
      const [status, body] =
        request.method === "GET" && path === PING_PATH
          ? [200, options.ping()]
          : [404, { error: { message: "not found" } }];
      options.onRequest(request.method, path, status);
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    },
  );
  const sockets = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => UPGRADE_PROTOCOLS.find((protocol) => offered.has(protocol)) ?? false,
  });
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? "/", "https://proxy").pathname;
    const upgrades = [...headerValues(request, "x-teleport-upgrade"), ...headerValues(request, "upgrade")];
    if (path !== UPGRADE_PATH || !options.upgrade || !upgrades.includes("websocket")) {
      options.onRequest(request.method ?? "GET", path, 404);
      const body = JSON.stringify({
        error: { message: `unsupported upgrade types: [${upgrades.join(" ")}]` },
      });
      socket.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      options.onRequest(request.method ?? "GET", path, 101);
      if (ws.protocol === "") {
        ws.close(); // Teleport closes an upgrade without a known sub-protocol
        return;
      }
      if (ws.protocol === "alpn-ping") {
        const timer = setInterval(() => ws.ping("teleport"), options.pingIntervalMs);
        ws.once("close", () => clearInterval(timer));
      }
      options.onUpgraded(createWebSocketStream(ws), ws.protocol);
    });
  });
  server.once("close", () => sockets.close());
  return server;
}

function headerValues(request: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    if (request.rawHeaders[i]?.toLowerCase() === name)
      values.push(...(request.rawHeaders[i + 1] ?? "").split(","));
  }
  return values.map((value) => value.trim().toLowerCase()).filter((value) => value !== "");
}

/**
 * `GET /webapi/ping` on a Teleport proxy: the unauthenticated answer every Teleport client reads
 * first (`api/client/webclient`). Route detection uses it only to word its findings (is this a
 * Teleport proxy, of which cluster, with TLS routing?), never to decide whom to trust, so the web
 * certificate is not verified here.
 */
import * as https from "node:https";
import { isIP, type Socket } from "node:net";
import * as tls from "node:tls";
import { openTcp } from "./forward-proxy.js";
import type { RouteParams } from "./route.js";

export const PING_PATH = "/webapi/ping";
/** A ping answer is small; anything bigger is not one. */
const MAX_PING_BYTES = 64 * 1024;

export interface ProxyPing {
  clusterName: string;
  serverVersion: string;
  /** `proxy.tls_routing_enabled`; undefined when the answer does not say. */
  tlsRoutingEnabled: boolean | undefined;
}

/** The proxy's ping answer, or undefined when `host:port` does not answer like a Teleport proxy. */
export async function webPing(
  params: Pick<RouteParams, "host" | "port" | "forwardProxy">,
  timeoutMs: number,
): Promise<ProxyPing | undefined> {
  let socket: Socket;
  try {
    socket = await openTcp(params, timeoutMs);
  } catch {
    return undefined;
  }
  const secure = tls.connect({
    socket,
    ...(isIP(params.host) === 0 ? { servername: params.host } : {}),
    rejectUnauthorized: false,
    ALPNProtocols: ["http/1.1"],
  });
  secure.on("error", () => {});
  return new Promise((resolve) => {
    const request = https.get(
      {
        host: params.host,
        port: params.port,
        path: PING_PATH,
        // No agent: with one, Node ignores createConnection (and `agent: false` makes one).
        createConnection: () => secure,
        timeout: timeoutMs,
        headers: { accept: "application/json" },
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
          if (body.length > MAX_PING_BYTES) request.destroy();
        });
        response.on("end", () => resolve(response.statusCode === 200 ? parsePing(body) : undefined));
        response.on("error", () => resolve(undefined));
      },
    );
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(undefined));
    request.on("close", () => socket.destroy());
  });
}

function parsePing(body: string): ProxyPing | undefined {
  try {
    const data = JSON.parse(body) as {
      cluster_name?: unknown;
      server_version?: unknown;
      proxy?: { tls_routing_enabled?: unknown };
    };
    if (typeof data.server_version !== "string" && typeof data.cluster_name !== "string") return undefined;
    return {
      clusterName: typeof data.cluster_name === "string" ? data.cluster_name : "",
      serverVersion: typeof data.server_version === "string" ? data.server_version : "",
      tlsRoutingEnabled:
        typeof data.proxy?.tls_routing_enabled === "boolean" ? data.proxy.tls_routing_enabled : undefined,
    };
  } catch {
    return undefined;
  }
}

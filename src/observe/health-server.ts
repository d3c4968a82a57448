/**
 * The plain-HTTP listener for probes and scrapes, apart from the callback server so that it can
 * stay on loopback without TLS: GET /healthz (the process answers: 200), /readyz (200 when
 * ready, else 503, JSON with the reason either way) and /metrics (Prometheus text format).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { listenOn } from "../lib/listen.js";
import type { Metrics } from "./metrics.js";
import type { Readiness } from "./readiness.js";

export interface HealthServerOptions {
  /** host:port or :port. */
  listenAddr: string;
  readiness: Readiness;
  metrics: Metrics;
}

export class HealthServer {
  private readonly server: http.Server;

  constructor(private readonly options: HealthServerOptions) {
    this.server = http.createServer(
      { headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 },
      (req, res) => void this.handle(req, res),
    );
  }

  listen(): Promise<AddressInfo> {
    return listenOn(this.server, this.options.listenAddr);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(res, 405, "application/json", JSON.stringify({ error: "method not allowed" }));
    }
    switch (path) {
      case "/healthz":
        return send(res, 200, "application/json", JSON.stringify({ status: "ok" }));
      case "/readyz": {
        const status = this.options.readiness.status();
        return send(res, status.ready ? 200 : 503, "application/json", JSON.stringify(status));
      }
      case "/metrics":
        try {
          const text = await this.options.metrics.text();
          return send(res, 200, this.options.metrics.registry.contentType, text);
        } catch (error) {
          return send(res, 500, "text/plain", `metrics failed: ${(error as Error).message}\n`);
        }
      default:
        return send(res, 404, "application/json", JSON.stringify({ error: "not found" }));
    }
  }
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

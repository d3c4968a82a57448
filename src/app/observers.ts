/**
 * What a running daemon reports about itself: every Teleport and Mattermost call (the clients'
 * CallObserver, lib/call-observer.ts) goes to the Prometheus metrics and, for Mattermost, to
 * readiness; the watch's state goes to both; the plain-HTTP health listener serves them.
 * Nothing is global: each daemon has its own, unless the caller hands in one to keep (reload).
 */
import { X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import type { AppError } from "../errors.js";
import { type CallObserver, fanOut } from "../lib/call-observer.js";
import { explainListenError } from "../lib/listen.js";
import type { MattermostClientOptions } from "../mattermost/client.js";
import { HealthServer } from "../observe/health-server.js";
import { Metrics } from "../observe/metrics.js";
import { Readiness } from "../observe/readiness.js";
import type { WatchEvent } from "../teleport/client.js";

export interface ObserversOptions {
  version: string;
  /** The Teleport identity's certificate (PEM), whose expiry is exported as a metric. */
  identityCert: string;
  /** The /healthz, /readyz, /metrics listener; none when absent (demo, some tests). */
  healthListenAddr?: string;
}

export interface ObserversDeps {
  logger: Logger;
  /** Default: a registry of the daemon's own. */
  metrics?: Metrics;
  readiness?: Readiness;
}

export class Observers {
  private constructor(
    readonly metrics: Metrics,
    readonly readiness: Readiness,
    private readonly health: HealthServer | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * Sets the starting state and starts the health listener. It is up before Teleport is, so
   * probes get 503 with the reason while the daemon waits for the auth server.
   */
  static async start(options: ObserversOptions, deps: ObserversDeps): Promise<Observers> {
    const metrics = deps.metrics ?? new Metrics(options.version);
    const readiness = deps.readiness ?? new Readiness();
    readiness.watchDisconnected("starting");
    metrics.setIdentityExpiry(new Date(new X509Certificate(options.identityCert).validTo));
    const health = options.healthListenAddr
      ? await startHealthServer(options.healthListenAddr, metrics, readiness, deps.logger)
      : undefined;
    return new Observers(metrics, readiness, health, deps.logger);
  }

  /** Where the Teleport client reports its calls. */
  get teleportCalls(): CallObserver {
    return this.metrics.teleportCalls;
  }

  /**
   * The Mattermost client's hooks: each call to metrics and readiness, each retry counted and
   * logged with the server's `url` (the log otherwise says only the path).
   */
  mattermostHooks(url: string): Required<Pick<MattermostClientOptions, "observer" | "onRetry">> {
    return {
      observer: fanOut(this.metrics.mattermostCalls, this.readiness.mattermostCalls),
      onRetry: (info) => {
        this.metrics.retry("mattermost", retryReason(info.reason));
        this.logger.warn({ ...info, url }, "Mattermost call failed, retrying");
      },
    };
  }

  /** The auth server did not answer at start; the daemon tries again. */
  teleportUnreachable(failure: AppError): void {
    this.metrics.retry("teleport", "unavailable");
    this.readiness.watchDisconnected(`auth server not reachable: ${failure.describe()}`);
  }

  /** A connection to Teleport stopped answering and was replaced (teleport/stall-check.ts). */
  teleportStalled(addr: string, waitedMs: number): void {
    this.metrics.teleportConnectionDropped();
    this.logger.warn(
      { addr, waited_ms: Math.round(waitedMs) },
      "Teleport stopped answering on its connection; connecting again",
    );
  }

  watchConnected(): void {
    this.readiness.watchConnected();
  }

  watchLost(error: AppError | undefined): void {
    this.readiness.watchDisconnected(error?.describe() ?? "the watch stream closed; reconnecting");
    this.metrics.watchReconnect();
  }

  requestEvent(event: Exclude<WatchEvent, { type: "init" }>): void {
    this.metrics.requests.event(event.type === "put" ? { request: event.request } : { deleted: event.id });
  }

  async close(): Promise<void> {
    await this.health?.close();
  }
}

async function startHealthServer(
  listenAddr: string,
  metrics: Metrics,
  readiness: Readiness,
  logger: Logger,
): Promise<HealthServer> {
  const server = new HealthServer({ listenAddr, metrics, readiness });
  const { port } = await server.listen().catch((error: unknown) => {
    throw explainListenError(error, listenAddr, "[health] listen_addr");
  });
  logger.info({ listen_addr: listenAddr, port }, `Health and metrics listening on ${listenAddr}`);
  return server;
}

/** A low-cardinality label for the reason the Mattermost client gives for a retry. */
function retryReason(reason: string): string {
  if (reason.includes("429")) return "rate_limited";
  if (reason.startsWith("server error")) return "server_error";
  if (reason.startsWith("malformed reply")) return "malformed_reply";
  return "network";
}

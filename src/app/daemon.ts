/**
 * The daemon's wiring and lifecycle: checks Teleport and Mattermost in the order the operator's
 * guide promises, serves the callback route, watches access requests, keeps posts in step, and
 * stops gracefully. All I/O clients are built here and handed to the parts that use them.
 */
import { randomUUID, X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import { ACTION_PATH, CallbackServer } from "../callback/server.js";
import type { AccessRequest } from "../core/access-request.js";
import type { RequestView } from "../core/plan.js";
import { AppError } from "../errors.js";
import { backoffDelay } from "../lib/backoff.js";
import { fanOut } from "../lib/call-observer.js";
import { type Clock, systemClock } from "../lib/clock.js";
import { MattermostClient } from "../mattermost/client.js";
import { HealthServer } from "../observe/health-server.js";
import { Metrics } from "../observe/metrics.js";
import { Readiness } from "../observe/readiness.js";
import { type PingResult, TeleportClient, type TeleportIdentityPem } from "../teleport/client.js";
import { isAtLeast, MIN_SERVER_VERSION } from "../teleport/version.js";
import { ClickHandler } from "./click-handler.js";
import { KeyedWork } from "./keyed-work.js";
import { botChannelId, tokenAccount } from "./mattermost-setup.js";
import { RequestSync } from "./request-sync.js";
import { RequestWatcher, WATCH_BACKOFF } from "./watcher.js";

/** Requests handled at once; events of one request are always handled in order. */
export const SYNC_CONCURRENCY = 16;
/** How long shutdown waits for in-flight work before it stops anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** While Mattermost's last answer was a failure, it is asked again this often (for /readyz). */
export const MATTERMOST_RECHECK_MS = 15_000;

export interface DaemonOptions {
  version: string;
  teleport: { addr: string; identity: TeleportIdentityPem };
  mattermost: { url: string; token: string; team: string; channel: string; secret: string; ca?: string };
  http: {
    listenAddr: string;
    /** Base URL Mattermost uses to reach the callback server. */
    publicAddr: string;
    tls?: { cert: string; key: string; verifyClientCert?: boolean; clientCa?: string };
    basicAuth?: { user: string; password: string };
  };
  /** The plain-HTTP /healthz, /readyz, /metrics listener; none when absent (demo, some tests). */
  health?: { listenAddr: string };
}

export interface DaemonDeps {
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  instanceId?: string;
  /** Where calls, requests and clicks are counted; default a registry of the daemon's own. */
  metrics?: Metrics;
  /** What /readyz reports; the daemon keeps it up to date. */
  readiness?: Readiness;
}

/** The observability a running daemon reports to. */
interface Observers {
  metrics: Metrics;
  readiness: Readiness;
  health: HealthServer | undefined;
}

export class Daemon {
  private readonly abort = new AbortController();
  private watcherDone: Promise<void> = Promise.resolve();
  /** State of every request Teleport has, as last seen; for the requests-seen and pending metrics. */
  private readonly requestStates = new Map<string, AccessRequest["state"]>();
  /** Per running catch-up: ids that events changed meanwhile, which its listing may show stale. */
  private readonly catchUpsRunning = new Set<Set<string>>();
  private recheckTimer: NodeJS.Timeout | undefined;
  private rechecking = false;

  private constructor(
    private readonly logger: Logger,
    private readonly teleport: TeleportClient,
    private readonly mattermost: MattermostClient,
    private readonly callbackServer: CallbackServer,
    private readonly work: KeyedWork<RequestView>,
    private readonly observers: Observers,
    readonly ping: PingResult,
    readonly callbackPort: number,
  ) {}

  /** True once the watch is live (INIT received) and Mattermost answers. */
  get ready(): boolean {
    return this.observers.readiness.status().ready;
  }

  get metrics(): Metrics {
    return this.observers.metrics;
  }

  static async start(options: DaemonOptions, deps: DaemonDeps): Promise<Daemon> {
    const { logger } = deps;
    const clock = deps.clock ?? systemClock;
    const instanceId = deps.instanceId ?? randomUUID();
    const metrics = deps.metrics ?? new Metrics(options.version);
    const readiness = deps.readiness ?? new Readiness();
    logger.info(
      { version: options.version, instance_id: instanceId },
      `Starting teleport-mattermost ${options.version}`,
    );
    metrics.setIdentityExpiry(new Date(new X509Certificate(options.teleport.identity.cert).validTo));
    // Up before Teleport is: probes get 503 with the reason while the daemon waits for it.
    const health = options.health
      ? await startHealthServer(options.health.listenAddr, metrics, readiness, logger)
      : undefined;
    const observers: Observers = { metrics, readiness, health };

    const teleport = new TeleportClient({
      addr: options.teleport.addr,
      identity: options.teleport.identity,
      observer: metrics.teleportCalls,
    });
    const mattermost = new MattermostClient({
      url: options.mattermost.url,
      token: options.mattermost.token,
      ...(options.mattermost.ca ? { ca: options.mattermost.ca } : {}),
      clock,
      ...(deps.random ? { random: deps.random } : {}),
      observer: fanOut(metrics.mattermostCalls, readiness.mattermostCalls),
      onRetry: (info) => {
        metrics.retry("mattermost", retryReason(info.reason));
        logger.warn(info, "Mattermost call failed, retrying");
      },
    });
    try {
      logger.debug({ addr: options.teleport.addr }, "Checking Teleport server version");
      const ping = await pingUntilAnswered(teleport, logger, clock, observers, deps.random);
      if (!isAtLeast(ping.serverVersion, MIN_SERVER_VERSION)) {
        throw new AppError(
          "TELEPORT_VERSION",
          `Teleport server version ${ping.serverVersion} is older than ${MIN_SERVER_VERSION}`,
          { fix: `Upgrade the Teleport auth server to ${MIN_SERVER_VERSION} or newer` },
        );
      }
      logger.info(
        { cluster: ping.clusterName, server_version: ping.serverVersion },
        "Teleport server version checked",
      );
      logger.debug("Starting a request watcher...");

      logger.debug({ url: options.mattermost.url }, "Starting Mattermost API health check...");
      const channelId = await checkMattermost(mattermost, options.mattermost, logger);

      const publicBase = options.http.publicAddr.replace(/\/+$/, "");
      const sync = new RequestSync({
        teleport,
        mattermost,
        channelId,
        clusterName: ping.clusterName,
        instanceId,
        actionUrl: `${publicBase}${ACTION_PATH}`,
        secret: options.mattermost.secret,
        clock,
        logger,
        onConflict: () => metrics.retry("teleport", "cas_conflict"),
      });
      const clicks = new ClickHandler({
        teleport,
        mattermost,
        sync,
        secret: options.mattermost.secret,
        clusterName: ping.clusterName,
        instanceId,
        logger,
        onRefused: (reason) => metrics.refusedClick(reason),
        onDecided: ({ outcome, mode }) => metrics.decision(outcome, mode),
      });
      const callbackServer = new CallbackServer({
        listenAddr: options.http.listenAddr,
        ...(options.http.tls ? { tls: options.http.tls } : {}),
        ...(options.http.basicAuth ? { basicAuth: options.http.basicAuth } : {}),
        handlers: {
          action: (body, signal) => clicks.handle(body, signal) as Promise<Record<string, unknown>>,
        },
        logger,
      });
      const address = await callbackServer.listen();
      logger.info(
        {
          listen_addr: options.http.listenAddr,
          port: address.port,
          action_url: `${publicBase}${ACTION_PATH}`,
        },
        `${callbackServer.protocol === "https" ? "HTTPS" : "HTTP"} callback server listening on ${options.http.listenAddr}`,
      );
      const work = new KeyedWork<RequestView>(
        SYNC_CONCURRENCY,
        (_id, view) => sync.sync(view),
        (id, error) =>
          logger.error(
            { request_id: id, err: AppError.from(error).describe() },
            "Failed to update Mattermost for request",
          ),
      );
      const daemon = new Daemon(
        logger,
        teleport,
        mattermost,
        callbackServer,
        work,
        observers,
        ping,
        address.port,
      );
      daemon.startWatching(clock, deps.random);
      daemon.recheckMattermostWhileFailing();
      return daemon;
    } catch (error) {
      teleport.close();
      mattermost.close();
      await health?.close();
      throw error;
    }
  }

  private startWatching(clock: Clock, random?: () => number): void {
    const watcher = new RequestWatcher({
      teleport: () => this.teleport,
      clock,
      ...(random ? { random } : {}),
      logger: this.logger,
      onEvent: (event) => {
        const view: RequestView =
          event.type === "put" ? { kind: "live", request: event.request } : { kind: "gone", id: event.id };
        for (const touched of this.catchUpsRunning)
          touched.add(view.kind === "live" ? view.request.id : view.id);
        if (event.type === "put") this.noteRequests([event.request]);
        else this.forgetRequest(event.id);
        this.logger.debug(
          { request_id: view.kind === "live" ? view.request.id : view.id, op: event.type },
          "Event",
        );
        this.work.push(view.kind === "live" ? view.request.id : view.id, view);
      },
      onConnected: () => {
        this.observers.readiness.watchConnected();
        this.logger.info("Watcher connected");
        void this.catchUp();
      },
      onDisconnected: (error) => {
        this.observers.readiness.watchDisconnected(
          error?.describe() ?? "the watch stream closed; reconnecting",
        );
        this.observers.metrics.watchReconnect();
      },
    });
    this.watcherDone = watcher.run(this.abort.signal);
  }

  /** After every (re)connect: bring every request Teleport has up to date (ARCHITECTURE.md §3). */
  private async catchUp(): Promise<void> {
    const touched = new Set<string>();
    this.catchUpsRunning.add(touched);
    try {
      const known = new Set(this.requestStates.keys());
      const requests = await this.teleport.listRequests().finally(() => this.catchUpsRunning.delete(touched));
      // The listing is the truth about what it saw: requests deleted while disconnected drop
      // out here. Events that arrived while it was on its way are newer, so they win.
      const listed = new Set(requests.map((request) => request.id));
      for (const id of known) if (!listed.has(id) && !touched.has(id)) this.requestStates.delete(id);
      this.noteRequests(requests.filter((request) => !touched.has(request.id)));
      for (const request of requests) this.work.push(request.id, { kind: "live", request });
      this.logger.debug({ requests: requests.length }, "Catch-up listed requests");
    } catch (error) {
      this.logger.warn(
        { err: AppError.from(error).describe() },
        "Catch-up listing failed; will retry on reconnect",
      );
    }
  }

  private noteRequests(requests: readonly AccessRequest[]): void {
    for (const request of requests) {
      if (!this.requestStates.has(request.id)) this.observers.metrics.requestSeen();
      this.requestStates.set(request.id, request.state);
    }
    this.countPending();
  }

  private forgetRequest(id: string): void {
    this.requestStates.delete(id);
    this.countPending();
  }

  private countPending(): void {
    let pending = 0;
    for (const state of this.requestStates.values()) if (state === "PENDING") pending++;
    this.observers.metrics.setPendingRequests(pending);
  }

  /**
   * Mattermost is only called when something happens, so after a failure nothing would find out
   * that it answers again and /readyz would stay 503; ask it now and then while that is so.
   */
  private recheckMattermostWhileFailing(): void {
    this.recheckTimer = setInterval(() => {
      if (this.rechecking || !this.observers.readiness.mattermostFailing) return;
      this.rechecking = true;
      void this.mattermost
        .getMe(this.abort.signal)
        .catch(() => undefined)
        .finally(() => {
          this.rechecking = false;
        });
    }, MATTERMOST_RECHECK_MS);
    this.recheckTimer.unref();
  }

  /** Resolves when no request work is queued or running (used by tests and shutdown). */
  idle(): Promise<void> {
    return this.work.idle();
  }

  async stop(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    this.abort.abort();
    clearInterval(this.recheckTimer);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([
      Promise.all([this.watcherDone, this.work.idle(), this.callbackServer.close(graceMs)]),
      deadline,
    ]);
    this.teleport.close();
    this.mattermost.close();
    await this.observers.health?.close();
  }
}

async function startHealthServer(
  listenAddr: string,
  metrics: Metrics,
  readiness: Readiness,
  logger: Logger,
): Promise<HealthServer> {
  const server = new HealthServer({ listenAddr, metrics, readiness });
  let port: number;
  try {
    port = (await server.listen()).port;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError("CONFIG", `The health listener cannot listen on ${listenAddr}: ${code ?? error}`, {
      cause: error,
      fix:
        code === "EADDRINUSE"
          ? "Another process uses that port; set [health] listen_addr to a free one"
          : "Check [health] listen_addr",
    });
  }
  logger.info({ listen_addr: listenAddr, port }, `Health and metrics listening on ${listenAddr}`);
  return server;
}

/** A low-cardinality label for the reason the Mattermost client gives for a retry. */
function retryReason(reason: string): string {
  if (reason.includes("429")) return "rate_limited";
  if (reason.startsWith("server error")) return "server_error";
  return "network";
}

async function pingUntilAnswered(
  teleport: TeleportClient,
  logger: Logger,
  clock: Clock,
  observers: Observers,
  random?: () => number,
): Promise<PingResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await teleport.ping(5_000);
    } catch (error) {
      const failure = AppError.from(error, "TELEPORT");
      if (!failure.retryable) throw failure;
      const delay = backoffDelay(WATCH_BACKOFF, attempt, random);
      observers.metrics.retry("teleport", "unavailable");
      observers.readiness.watchDisconnected(`auth server not reachable: ${failure.describe()}`);
      logger.warn(
        { addr: teleport.addr, err: failure.describe(), retry_in_ms: delay },
        "Teleport auth server is not reachable yet; check [teleport] addr and that the auth server runs. Retrying",
      );
      await clock.sleep(delay);
    }
  }
}

async function checkMattermost(
  mattermost: MattermostClient,
  options: DaemonOptions["mattermost"],
  logger: Logger,
): Promise<string> {
  const bot = await tokenAccount(mattermost);
  logger.debug({ bot: bot.username }, "Mattermost API health check finished ok");
  const channelId = await botChannelId(mattermost, bot, options);
  logger.info(
    { bot: bot.username, team: options.team, channel: options.channel },
    "Mattermost API health checked",
  );
  return channelId;
}

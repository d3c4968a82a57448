/**
 * The daemon's wiring and lifecycle: checks Teleport and Mattermost in the order the operator's
 * guide promises, serves the callback route, watches access requests, keeps posts in step, and
 * stops gracefully. All I/O clients are built here and handed to the parts that use them.
 */
import { randomUUID, X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import { ACTION_PATH, CallbackServer, DIALOG_PATH } from "../callback/server.js";
import type { ReviewConfig } from "../config/config.js";
import type { RequestView } from "../core/plan.js";
import { planFor, type ReminderPolicy } from "../core/plan.js";
import { decodeRecord, PLUGIN_NAME } from "../core/plugin-data.js";
import { isLinkOnly } from "../core/review-policy.js";
import { AppError } from "../errors.js";
import { backoffDelay } from "../lib/backoff.js";
import { fanOut } from "../lib/call-observer.js";
import { type Clock, systemClock } from "../lib/clock.js";
import { explainListenError } from "../lib/listen.js";
import { shownProxy } from "../lib/proxy-env.js";
import { MattermostClient } from "../mattermost/client.js";
import { HealthServer } from "../observe/health-server.js";
import { Metrics } from "../observe/metrics.js";
import { Readiness } from "../observe/readiness.js";
import { type PingResult, TeleportClient, type TeleportIdentityPem } from "../teleport/client.js";
import { isAtLeast, MIN_SERVER_VERSION } from "../teleport/version.js";
import { ClickHandler } from "./click-handler.js";
import { Decisions } from "./decisions.js";
import { DialogHandler } from "./dialog-handler.js";
import { KeyedWork } from "./keyed-work.js";
import { botChannelId, tokenAccount } from "./mattermost-setup.js";
import { type Recipient, RecipientResolver } from "./recipients.js";
import { RequestSync } from "./request-sync.js";
import { Reviewers } from "./reviewers.js";
import { SyncScheduler } from "./sync-scheduler.js";
import { RequestWatcher, WATCH_BACKOFF } from "./watcher.js";

/** Requests handled at once; events of one request are always handled in order. */
export const SYNC_CONCURRENCY = 16;
/** How long shutdown waits for in-flight work before it stops anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** Full reconciliation while connected, to heal anything an event or a retry missed. */
export const RECONCILE_INTERVAL_MS = 5 * 60_000;
/** Wait before listing again after a failed catch-up. */
const CATCH_UP_RETRY_MS = 5_000;
/** While Mattermost's last answer was a failure, it is asked again this often (for /readyz). */
export const MATTERMOST_RECHECK_MS = 15_000;

export interface DaemonOptions {
  version: string;
  teleport: { addr: string; identity: TeleportIdentityPem };
  mattermost: {
    url: string;
    token: string;
    secret: string;
    ca?: string;
    /** The seed's single channel; optional when recipients or role routing say where to post. */
    team?: string;
    channel?: string;
    recipients?: string[];
    roleToRecipients?: Record<string, string[]>;
    /** DM the request's suggested reviewers (default true). */
    dmSuggestedReviewers?: boolean;
    /** DM the requester the outcome (default true). */
    notifyRequester?: boolean;
    reminders?: ReminderPolicy;
  };
  http: {
    listenAddr: string;
    /** Base URL Mattermost uses to reach the callback server. */
    publicAddr: string;
    tls?: { cert: string; key: string; verifyClientCert?: boolean; clientCa?: string };
    basicAuth?: { user: string; password: string };
  };
  review: ReviewConfig;
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
  private connected = false;
  private recheckTimer: NodeJS.Timeout | undefined;
  private rechecking = false;

  private constructor(
    private readonly logger: Logger,
    private readonly teleport: TeleportClient,
    private readonly mattermost: MattermostClient,
    private readonly callbackServer: CallbackServer,
    private readonly work: KeyedWork<RequestView>,
    private readonly scheduler: SyncScheduler,
    private readonly sync: RequestSync,
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
      `Starting Teleport Access Mattermost Bot ${options.version}`,
    );
    readiness.watchDisconnected("starting");
    metrics.setIdentityExpiry(new Date(new X509Certificate(options.teleport.identity.cert).validTo));
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
    logProxies(logger, teleport, mattermost);
    // Up before Teleport is: probes get 503 with the reason while the daemon waits for it.
    const health = options.health
      ? await startHealthServer(options.health.listenAddr, metrics, readiness, logger).catch((error) => {
          teleport.close();
          mattermost.close();
          throw error;
        })
      : undefined;
    const observers: Observers = { metrics, readiness, health };
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
      const { defaultChannel, botUserId } = await checkMattermost(mattermost, options.mattermost, logger);
      const recipients = new RecipientResolver(
        mattermost,
        botUserId,
        {
          ...(defaultChannel ? { defaultChannel } : {}),
          recipients: options.mattermost.recipients ?? [],
          roleToRecipients: options.mattermost.roleToRecipients ?? {},
          dmSuggestedReviewers: options.mattermost.dmSuggestedReviewers ?? true,
        },
        clock,
        logger,
      );

      const publicBase = options.http.publicAddr.replace(/\/+$/, "");
      const callbackBase = withBasicAuth(publicBase, options.http.basicAuth);
      const sync = new RequestSync({
        teleport,
        mattermost,
        recipients,
        botUserId,
        clusterName: ping.clusterName,
        ...(ping.proxyPublicAddr ? { proxyAddr: ping.proxyPublicAddr } : {}),
        isLinkOnly: (roles) => isLinkOnly(options.review.rules, roles),
        instanceId,
        actionUrl: `${callbackBase}${ACTION_PATH}`,
        secret: options.mattermost.secret,
        ...(options.mattermost.reminders ? { reminders: options.mattermost.reminders } : {}),
        notifyRequester: options.mattermost.notifyRequester ?? true,
        clock,
        logger,
        onConflict: () => metrics.retry("teleport", "cas_conflict"),
      });
      const decisions = new Decisions({
        teleport,
        sync,
        review: options.review,
        serverVersion: ping.serverVersion,
        clock,
        logger,
      });
      logDecisionMode(decisions, options.review, logger);
      const reviewers = new Reviewers({ teleport, mattermost, review: options.review, logger });
      const clicks = new ClickHandler({
        decisions,
        reviewers,
        mattermost,
        review: options.review,
        secret: options.mattermost.secret,
        dialogUrl: `${callbackBase}${DIALOG_PATH}`,
        clock,
        logger,
        onRefused: (reason) => metrics.refusedClick(reason),
      });
      // The queue exists only once the server listens; decisions made before cannot happen.
      let work: KeyedWork<RequestView> | undefined;
      const dialogs = new DialogHandler({
        decisions,
        reviewers,
        review: options.review,
        secret: options.mattermost.secret,
        clock,
        logger,
        onDecided: (request) => {
          metrics.decision(request.state, decisions.mode);
          work?.push(request.id, { kind: "live", request });
        },
        onRefused: (reason) => metrics.refusedClick(reason),
      });
      const callbackServer = new CallbackServer({
        listenAddr: options.http.listenAddr,
        ...(options.http.tls ? { tls: options.http.tls } : {}),
        ...(options.http.basicAuth ? { basicAuth: options.http.basicAuth } : {}),
        handlers: {
          action: (body, signal) => clicks.handle(body, signal) as Promise<Record<string, unknown>>,
          dialog: (body, signal) => dialogs.handle(body, signal) as Promise<Record<string, unknown>>,
        },
        logger,
      });
      const address = await callbackServer.listen().catch((error: unknown) => {
        throw explainListenError(error, options.http.listenAddr, "[http] listen_addr");
      });
      // The seed guide's words (ORIGINAL-PLUGIN.md §5), which operators grep for; details in fields.
      logger.info(
        {
          listen_addr: options.http.listenAddr,
          port: address.port,
          action_url: `${publicBase}${ACTION_PATH}`,
          dialog_url: `${publicBase}${DIALOG_PATH}`,
        },
        `${callbackServer.protocol === "https" ? "Starting secure HTTPS server" : "Starting insecure HTTP server"} on ${options.http.listenAddr}`,
      );
      // The scheduler runs each sync and catches its failures, so the queue's own error hook never fires.
      const queue: KeyedWork<RequestView> = new KeyedWork<RequestView>(
        SYNC_CONCURRENCY,
        (id, view) => scheduler.run(id, view),
        () => {},
      );
      work = queue;
      const scheduler: SyncScheduler = new SyncScheduler({
        sync,
        work: queue,
        clock,
        logger,
        ...(deps.random ? { random: deps.random } : {}),
      });
      const daemon = new Daemon(
        logger,
        teleport,
        mattermost,
        callbackServer,
        queue,
        scheduler,
        sync,
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
        this.logger.debug(
          { request_id: view.kind === "live" ? view.request.id : view.id, op: event.type },
          "Event",
        );
        this.observers.metrics.requests.event(
          event.type === "put" ? { request: event.request } : { deleted: event.id },
        );
        this.work.push(view.kind === "live" ? view.request.id : view.id, view);
      },
      onConnected: () => {
        this.connected = true;
        this.observers.readiness.watchConnected();
        this.logger.info("Watcher connected");
        void this.catchUp();
      },
      onDisconnected: (error) => {
        this.connected = false;
        this.observers.readiness.watchDisconnected(
          error?.describe() ?? "the watch stream closed; reconnecting",
        );
        this.observers.metrics.watchReconnect();
      },
    });
    this.watcherDone = watcher.run(this.abort.signal);
    const periodic = setInterval(() => {
      if (this.connected) void this.catchUp();
    }, RECONCILE_INTERVAL_MS);
    periodic.unref();
    this.abort.signal.addEventListener("abort", () => clearInterval(periodic), { once: true });
  }

  /**
   * After every (re)connect, and every few minutes: compare every request Teleport has and every
   * plugin record with what the posts show, and queue those that differ (ARCHITECTURE.md §3):
   * requests created, decided or deleted while the watch was down.
   */
  private async catchUp(): Promise<void> {
    const census = this.observers.metrics.requests.beginListing();
    const started = Date.now();
    try {
      const [requests, records] = await Promise.all([
        this.teleport.listRequests(),
        this.teleport.listPluginData(PLUGIN_NAME),
      ]).catch((error: unknown) => {
        census.abandon();
        throw error;
      });
      census.finish(requests);
      const context = this.sync.planContext();
      let queued = 0;
      const live = new Set<string>();
      for (const request of requests) {
        live.add(request.id);
        const view: RequestView = { kind: "live", request };
        const record = decodeRecord(records.get(request.id));
        this.sync.prime(request.id, record);
        const plan = planFor(view, record, context);
        if (plan.kind !== "none") {
          this.work.push(request.id, view);
          queued++;
        } else if (plan.nextCheckAt !== undefined) {
          this.scheduler.recheck(request.id, view, plan.nextCheckAt);
        }
      }
      for (const [id, data] of records) {
        if (live.has(id)) continue;
        const view: RequestView = { kind: "gone", id };
        if (planFor(view, decodeRecord(data), context).kind !== "none") {
          this.work.push(id, view);
          queued++;
        }
      }
      // "Caught up" means every queued request was handled: from here on posts only lag behind
      // new events. Operators and the benchmark wait for this line.
      await this.work.idle();
      this.logger.info(
        { requests: requests.length, records: records.size, queued, duration_ms: Date.now() - started },
        "Catch-up finished",
      );
    } catch (error) {
      this.logger.warn({ err: AppError.from(error).describe() }, "Catch-up failed; will try again");
      this.scheduler.later(() => void this.catchUp(), CATCH_UP_RETRY_MS);
    }
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
    this.scheduler.stop();
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

/**
 * The callback base URL Mattermost calls. Basic-auth credentials go into it, because that is how
 * Mattermost's Go client sends them; they never reach the webapp through buttons (integrations are
 * stripped from posts, MATTERMOST-API.md §2) but they do through the dialog's URL (README,
 * residual risks).
 */
function withBasicAuth(base: string, auth: { user: string; password: string } | undefined): string {
  if (!auth) return base;
  const url = new URL(base);
  url.username = encodeURIComponent(auth.user);
  url.password = encodeURIComponent(auth.password);
  return url.toString().replace(/\/+$/, "");
}

function logDecisionMode(decisions: Decisions, review: ReviewConfig, logger: Logger): void {
  const mode = decisions.mode;
  logger.info(
    { mode, configured: review.mode },
    mode === "review"
      ? "Decisions are submitted as Teleport reviews on behalf of the Mattermost user"
      : mode === "state"
        ? "Decisions set the request state under the approver policy of [review.approvers]"
        : "Decisions will be submitted as reviews on behalf of the Mattermost user if Teleport accepts them, else set the request state under [review.approvers]",
  );
  if (decisions.mayUsePolicy && Object.keys(review.rules.approvers).length === 0) {
    logger.warn(
      "[review.approvers] is empty: where Teleport does not accept reviews on behalf of users, nobody can approve or deny from Mattermost. List approvers per role under [review.approvers] to allow it",
    );
  }
  const mapping = review.mapping;
  if (
    Object.keys(mapping.users).length === 0 &&
    !mapping.mattermostUserTrait &&
    !mapping.allowEmailUsernameMatch
  ) {
    logger.warn(
      "No way to map Mattermost users to Teleport users is configured ([review.users], mattermost_user_trait or allow_email_username_match), so every decision from Mattermost will be refused",
    );
  }
}

/** Says which connections go through a forward proxy (HTTPS_PROXY …), once at start. */
function logProxies(logger: Logger, teleport: TeleportClient, mattermost: MattermostClient): void {
  for (const [name, proxy] of [
    ["Teleport", teleport.proxy],
    ["Mattermost", mattermost.proxy],
  ] as const) {
    if (proxy)
      logger.info({ proxy: shownProxy(proxy) }, `${name} is reached through the proxy ${shownProxy(proxy)}`);
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
): Promise<{ defaultChannel?: Recipient; botUserId: string }> {
  const bot = await tokenAccount(mattermost);
  logger.debug({ bot: bot.username }, "Mattermost API health check finished ok");
  if (!options.team || !options.channel) {
    logger.info({ bot: bot.username }, "Mattermost API health checked");
    return { botUserId: bot.id };
  }
  const channelId = await botChannelId(mattermost, bot, { team: options.team, channel: options.channel });
  logger.info(
    { bot: bot.username, team: options.team, channel: options.channel },
    "Mattermost API health checked",
  );
  return {
    defaultChannel: { channelId, label: `${options.team}/${options.channel}` },
    botUserId: bot.id,
  };
}

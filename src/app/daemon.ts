/**
 * The daemon's wiring and lifecycle: builds the I/O clients and hands them to the parts that use
 * them, runs the startup checks (startup-checks.ts), serves the callback routes, watches access
 * requests and catches up (catch-up.ts), keeps posts in step, and stops gracefully. What it
 * reports goes through observers.ts; mattermost-recheck.ts keeps /readyz honest.
 */
import { randomUUID, X509Certificate } from "node:crypto";
import type { Logger } from "pino";
import { ACTION_PATH, CallbackServer, DIALOG_PATH } from "../callback/server.js";
import type { ReviewConfig } from "../config/config.js";
import type { ReminderPolicy, RequestView } from "../core/plan.js";
import { PLUGIN_NAME } from "../core/plugin-data.js";
import { clicksCanWork } from "../core/review-policy.js";
import { keyIdOf } from "../core/sign.js";
import { type Clock, systemClock } from "../lib/clock.js";
import { explainListenError } from "../lib/listen.js";
import { shownProxy } from "../lib/proxy-env.js";
import { MattermostClient } from "../mattermost/client.js";
import type { Metrics } from "../observe/metrics.js";
import type { Readiness } from "../observe/readiness.js";
import { type PingResult, TeleportClient, type TeleportIdentityPem } from "../teleport/client.js";
import { IdentityValidity } from "../teleport/identity-validity.js";
import { CatchUp } from "./catch-up.js";
import { ClickHandler } from "./click-handler.js";
import { Decisions } from "./decisions.js";
import { DeliveryFailures } from "./delivery-failures.js";
import { DialogHandler } from "./dialog-handler.js";
import { KeyedWork } from "./keyed-work.js";
import { recheckMattermostWhileFailing } from "./mattermost-recheck.js";
import { MonitoringRuleRouting } from "./monitoring-rules.js";
import { Observers } from "./observers.js";
import { RecipientResolver } from "./recipients.js";
import { RequestSync } from "./request-sync.js";
import { Reviewers } from "./reviewers.js";
import { checkMattermost, checkTeleport, logDecisionMode, mattermostSetup } from "./startup-checks.js";
import { SyncScheduler } from "./sync-scheduler.js";
import { RequestWatcher } from "./watcher.js";

/**
 * Requests handled at once; events of one request are always handled in order. 64 rather than
 * 16: a burst of 200 without a rate limit posts ~15 % sooner (311 vs 367 ms), CPU per request
 * unchanged. It once left Teleport calls hanging ~50 s after a Teleport restart mid-burst (a
 * Node HTTP/2 session left open after a reset); teleport/stall-check.ts now drops such a
 * connection within ~5 s.
 */
export const SYNC_CONCURRENCY = 64;
/** How long shutdown waits for in-flight work before it stops anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** Renews the identity when the operator's own command is not known (ARCHITECTURE.md §1). */
const RENEW_COMMAND = "tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h";

export interface DaemonOptions {
  version: string;
  teleport: {
    addr: string;
    identity: TeleportIdentityPem;
    /** The `tctl auth sign …` command that renews the identity, for messages once it expired. */
    renewCommand?: string;
    /** PEM CAs trusted for a proxy's web certificate (`[teleport] proxy_ca_file`). */
    proxyCa?: string;
    /** Force the proxy connection upgrade on or off (`[teleport] connection_upgrade`). */
    connectionUpgrade?: boolean;
  };
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
    /** Claim every new request before posting it (Mattermost HA cluster; default false). */
    haCluster?: boolean;
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
  /** Aborts a start still waiting for Teleport or Mattermost (SIGHUP with a new config, SIGTERM). */
  signal?: AbortSignal;
  /** Called after each catch-up that finished: everything missed while down was handled. */
  onCaughtUp?: () => void;
}

export class Daemon {
  private readonly abort = new AbortController();
  private watcherDone: Promise<void> = Promise.resolve();
  private rulesDone: Promise<void> = Promise.resolve();
  /** "Plugin is ready" is logged once, at the first watch that is up. */
  private announcedReady = false;

  private constructor(
    private readonly logger: Logger,
    private readonly teleport: TeleportClient,
    private readonly mattermost: MattermostClient,
    private readonly callbackServer: CallbackServer,
    private readonly work: KeyedWork<RequestView>,
    private readonly scheduler: SyncScheduler,
    private readonly catchUp: CatchUp,
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
    // scrypt runs in the thread pool while the checks below wait on the network.
    const keyId = keyIdOf(options.mattermost.secret);
    keyId.catch(() => {}); // awaited below; not an unhandled rejection if the start fails first
    logger.info(
      { version: options.version, instance_id: instanceId },
      `Starting Teleport Access Mattermost Bot ${options.version}`,
    );
    const observers = await Observers.start(
      {
        version: options.version,
        identityCert: options.teleport.identity.cert,
        ...(options.health ? { healthListenAddr: options.health.listenAddr } : {}),
      },
      deps,
    );
    const { metrics } = observers;
    const validity = new IdentityValidity({
      notAfter: new Date(new X509Certificate(options.teleport.identity.cert).validTo),
      renewCommand: options.teleport.renewCommand ?? RENEW_COMMAND,
      clock,
      logger,
      onExpired: (problem) => observers.readiness.identityExpired(problem),
    });
    observers.readiness.identityValid();
    validity.start();

    const teleport = new TeleportClient({
      ...options.teleport,
      observer: observers.teleportCalls,
      explain: (error) => validity.explain(error),
      onStall: (waitedMs) => observers.teleportStalled(options.teleport.addr, waitedMs),
    });
    const mattermost = new MattermostClient({
      url: options.mattermost.url,
      token: options.mattermost.token,
      ...(options.mattermost.ca ? { ca: options.mattermost.ca } : {}),
      clock,
      ...(deps.random ? { random: deps.random } : {}),
      ...observers.mattermostHooks(options.mattermost.url),
    });
    logProxies(logger, teleport, mattermost);
    try {
      // Mattermost is asked while Teleport is (whose first answer takes a TLS handshake too); the
      // log lines still come in the operator's guide's order.
      const early = mattermostSetup(mattermost, options.mattermost);
      early.catch(() => {}); // awaited in checkMattermost; not an unhandled rejection meanwhile
      const ping = await checkTeleport(teleport, {
        logger,
        clock,
        ...(deps.signal ? { signal: deps.signal } : {}),
        ...(deps.random ? { random: deps.random } : {}),
        onUnreachable: (failure) => observers.teleportUnreachable(failure),
      });
      const { defaultChannel, botUserId, botName } = await checkMattermost(
        mattermost,
        options.mattermost,
        logger,
        early,
      );
      deps.signal?.throwIfAborted();
      const monitoringRules = new MonitoringRuleRouting({
        teleport: () => teleport,
        pluginName: PLUGIN_NAME,
        clock,
        ...(deps.random ? { random: deps.random } : {}),
        logger,
      });
      const recipients = new RecipientResolver(
        mattermost,
        botUserId,
        {
          ...(defaultChannel ? { defaultChannel } : {}),
          recipients: options.mattermost.recipients ?? [],
          roleToRecipients: options.mattermost.roleToRecipients ?? {},
          dmSuggestedReviewers: options.mattermost.dmSuggestedReviewers ?? true,
          monitoringRules,
        },
        clock,
        logger,
      );

      const publicBase = options.http.publicAddr.replace(/\/+$/, "");
      const callbackBase = withBasicAuth(publicBase, options.http.basicAuth);
      const sync: RequestSync = new RequestSync({
        teleport,
        mattermost,
        recipients,
        botUserId,
        clusterName: ping.clusterName,
        ...(ping.proxyPublicAddr ? { proxyAddr: ping.proxyPublicAddr } : {}),
        // Buttons only where a click can be accepted; the mode is known after the first decision.
        isLinkOnly: (roles): boolean => !clicksCanWork(options.review, decisions.mode, roles),
        instanceId,
        actionUrl: `${callbackBase}${ACTION_PATH}`,
        secret: options.mattermost.secret,
        keyId: await keyId,
        ...(options.mattermost.reminders ? { reminders: options.mattermost.reminders } : {}),
        notifyRequester: options.mattermost.notifyRequester ?? true,
        claimFirst: options.mattermost.haCluster ?? false,
        clock,
        logger,
        onConflict: () => metrics.retry("teleport", "cas_conflict"),
        deliveries: new DeliveryFailures(logger, botName),
      });
      const decisions: Decisions = new Decisions({
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
      const catchUp = new CatchUp({
        teleport,
        sync,
        work: queue,
        scheduler,
        census: metrics.requests,
        logger,
        ...(deps.onCaughtUp ? { onFinished: deps.onCaughtUp } : {}),
      });
      const daemon = new Daemon(
        logger,
        teleport,
        mattermost,
        callbackServer,
        queue,
        scheduler,
        catchUp,
        observers,
        ping,
        address.port,
      );
      daemon.abort.signal.addEventListener("abort", () => validity.stop(), { once: true });
      daemon.rulesDone = monitoringRules.run(daemon.abort.signal);
      daemon.run(clock, deps.random);
      return daemon;
    } catch (error) {
      validity.stop();
      teleport.close();
      mattermost.close();
      await observers.close();
      throw error;
    }
  }

  /** Watches access requests, catches up after each (re)connect and now and then, rechecks Mattermost. */
  private run(clock: Clock, random?: () => number): void {
    const signal = this.abort.signal;
    const watcher = new RequestWatcher({
      teleport: () => this.teleport,
      clock,
      ...(random ? { random } : {}),
      logger: this.logger,
      onEvent: (event) => {
        const view: RequestView =
          event.type === "put" ? { kind: "live", request: event.request } : { kind: "gone", id: event.id };
        const id = view.kind === "live" ? view.request.id : view.id;
        this.logger.debug({ request_id: id, op: event.type }, "Event");
        this.observers.requestEvent(event);
        this.catchUp.sawEvent(view);
        this.work.push(id, view);
      },
      onConnected: () => {
        this.observers.watchConnected();
        this.logger.info("Watcher connected");
        // The 6.x+ plugins' line for the first watch that is up (ORIGINAL-PLUGIN.md §3).
        if (!this.announcedReady) this.logger.info("Plugin is ready");
        this.announcedReady = true;
        this.catchUp.watchConnected();
      },
      onDisconnected: (error) => {
        this.catchUp.watchLost();
        this.observers.watchLost(error);
      },
    });
    this.watcherDone = watcher.run(signal);
    this.catchUp.start(signal);
    recheckMattermostWhileFailing(this.mattermost, this.observers.readiness, signal);
    // Requests waiting on a recipient go at once when Mattermost answers again after failing.
    const unsubscribe = this.observers.readiness.onMattermostRecovered(() => this.scheduler.resumeParked());
    signal.addEventListener("abort", unsubscribe, { once: true });
  }

  /** Resolves when no request work is queued or running (used by tests and shutdown). */
  idle(): Promise<void> {
    return this.work.idle();
  }

  async stop(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    this.abort.abort();
    this.scheduler.stop();
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([
      Promise.all([this.watcherDone, this.rulesDone, this.work.idle(), this.callbackServer.close(graceMs)]),
      deadline,
    ]);
    this.teleport.close();
    this.mattermost.close();
    await this.observers.close();
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

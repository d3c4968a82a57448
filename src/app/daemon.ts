/**
 * The daemon's wiring and lifecycle: checks Teleport and Mattermost in the order the operator's
 * guide promises, serves the callback route, watches access requests, keeps posts in step, and
 * stops gracefully. All I/O clients are built here and handed to the parts that use them.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ACTION_PATH, CallbackServer } from "../callback/server.js";
import type { RequestView } from "../core/plan.js";
import { AppError, isAppError } from "../errors.js";
import { backoffDelay } from "../lib/backoff.js";
import { type Clock, systemClock } from "../lib/clock.js";
import { MattermostClient } from "../mattermost/client.js";
import { type PingResult, TeleportClient, type TeleportIdentityPem } from "../teleport/client.js";
import { isAtLeast, MIN_SERVER_VERSION } from "../teleport/version.js";
import { ClickHandler } from "./click-handler.js";
import { KeyedWork } from "./keyed-work.js";
import { RequestSync } from "./request-sync.js";
import { RequestWatcher, WATCH_BACKOFF } from "./watcher.js";

/** Requests handled at once; events of one request are always handled in order. */
export const SYNC_CONCURRENCY = 16;
/** How long shutdown waits for in-flight work before it stops anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;

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
}

export interface DaemonDeps {
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  instanceId?: string;
}

export class Daemon {
  private readonly abort = new AbortController();
  private watcherDone: Promise<void> = Promise.resolve();
  private connected = false;

  private constructor(
    private readonly logger: Logger,
    private readonly teleport: TeleportClient,
    private readonly mattermost: MattermostClient,
    private readonly callbackServer: CallbackServer,
    private readonly work: KeyedWork<RequestView>,
    private readonly sync: RequestSync,
    readonly ping: PingResult,
    readonly callbackPort: number,
  ) {}

  /** True once the watch is live (INIT received) and Mattermost answered. */
  get ready(): boolean {
    return this.connected;
  }

  static async start(options: DaemonOptions, deps: DaemonDeps): Promise<Daemon> {
    const { logger } = deps;
    const clock = deps.clock ?? systemClock;
    const instanceId = deps.instanceId ?? randomUUID();
    logger.info(
      { version: options.version, instance_id: instanceId },
      `Starting teleport-mattermost ${options.version}`,
    );

    const teleport = new TeleportClient({ addr: options.teleport.addr, identity: options.teleport.identity });
    const mattermost = new MattermostClient({
      url: options.mattermost.url,
      token: options.mattermost.token,
      ...(options.mattermost.ca ? { ca: options.mattermost.ca } : {}),
      clock,
      ...(deps.random ? { random: deps.random } : {}),
      onRetry: (info) => logger.warn(info, "Mattermost call failed, retrying"),
    });
    try {
      logger.debug({ addr: options.teleport.addr }, "Checking Teleport server version");
      const ping = await pingUntilAnswered(teleport, logger, clock, deps.random);
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
      });
      const clicks = new ClickHandler({
        teleport,
        mattermost,
        sync,
        secret: options.mattermost.secret,
        clusterName: ping.clusterName,
        instanceId,
        logger,
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
      const daemon = new Daemon(logger, teleport, mattermost, callbackServer, work, sync, ping, address.port);
      daemon.startWatching(clock, deps.random);
      return daemon;
    } catch (error) {
      teleport.close();
      mattermost.close();
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
        this.work.push(view.kind === "live" ? view.request.id : view.id, view);
      },
      onConnected: () => {
        this.connected = true;
        this.logger.info("Watcher connected");
        void this.catchUp();
      },
      onDisconnected: () => {
        this.connected = false;
      },
    });
    this.watcherDone = watcher.run(this.abort.signal);
  }

  /** After every (re)connect: bring every request Teleport has up to date (ARCHITECTURE.md §3). */
  private async catchUp(): Promise<void> {
    try {
      const started = performance.now();
      // Both listings at once: a request or record that changes in between is only ever
      // judged stale, and sync() reads it again.
      const [requests, records] = await Promise.all([this.teleport.listRequests(), this.sync.listRecords()]);
      const stale = this.sync.needingSync(requests, records);
      for (const request of stale) this.work.push(request.id, { kind: "live", request });
      this.logger.debug({ requests: requests.length, to_sync: stale.length }, "Catch-up listed requests");
      // "Caught up" means every listed request was handled (and anything queued meanwhile):
      // from here on posts only lag behind new events. Operators and the benchmark wait for it.
      await this.work.idle();
      this.logger.info(
        { requests: requests.length, duration_ms: Math.round(performance.now() - started) },
        "Catch-up finished",
      );
    } catch (error) {
      this.logger.warn(
        { err: AppError.from(error).describe() },
        "Catch-up listing failed; will retry on reconnect",
      );
    }
  }

  /** Resolves when no request work is queued or running (used by tests and shutdown). */
  idle(): Promise<void> {
    return this.work.idle();
  }

  async stop(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    this.abort.abort();
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([
      Promise.all([this.watcherDone, this.work.idle(), this.callbackServer.close(graceMs)]),
      deadline,
    ]);
    this.teleport.close();
    this.mattermost.close();
  }
}

async function pingUntilAnswered(
  teleport: TeleportClient,
  logger: Logger,
  clock: Clock,
  random?: () => number,
): Promise<PingResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await teleport.ping(5_000);
    } catch (error) {
      const failure = AppError.from(error, "TELEPORT");
      if (!failure.retryable) throw failure;
      const delay = backoffDelay(WATCH_BACKOFF, attempt, random);
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
  let bot: { id: string; username: string };
  try {
    bot = await mattermost.getMe();
  } catch (error) {
    throw new AppError("MATTERMOST", "Mattermost API health check failed", {
      cause: error,
      fix: `${AppError.from(error).describe()}. Check [mattermost] url and token`,
    });
  }
  logger.debug({ bot: bot.username }, "Mattermost API health check finished ok");
  let channel: { id: string };
  try {
    channel = await mattermost.getChannelByName(options.team, options.channel);
  } catch (error) {
    if (
      isAppError(error, "NOT_FOUND") ||
      (isAppError(error, "MATTERMOST") && error.details["status"] === 403)
    ) {
      throw new AppError(
        "MATTERMOST",
        `Mattermost channel "${options.channel}" in team "${options.team}" was not found or the bot @${bot.username} cannot see it`,
        {
          cause: error,
          fix: `Check [mattermost] team and channel (their URL names, not display names) and add @${bot.username} to that team and channel`,
        },
      );
    }
    throw error;
  }
  try {
    await mattermost.getChannelMember(channel.id, bot.id);
  } catch (error) {
    if (isAppError(error, "NOT_FOUND")) {
      throw new AppError(
        "MATTERMOST",
        `The bot @${bot.username} is not a member of channel "${options.channel}"`,
        {
          cause: error,
          fix: `Add @${bot.username} to ~${options.channel} in team "${options.team}" (e.g. /invite @${bot.username} there)`,
        },
      );
    }
    throw error;
  }
  logger.info(
    { bot: bot.username, team: options.team, channel: options.channel },
    "Mattermost API health checked",
  );
  return channel.id;
}

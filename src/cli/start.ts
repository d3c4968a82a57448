/**
 * `teleport-mattermost start`: loads the config and the identity, starts the daemon, and stops it
 * on SIGTERM/SIGINT (a second SIGINT forces the exit). Resolves with the process exit code.
 */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { Daemon, type DaemonOptions } from "../app/daemon.js";
import { stableInstanceId } from "../app/instance-id.js";
import { defaultCallbackPair } from "../callback/default-pair.js";
import type { Config } from "../config/config.js";
import { AppError } from "../errors.js";
import { Metrics } from "../observe/metrics.js";
import { Readiness } from "../observe/readiness.js";
import { loadIdentityFile, loadTlsIdentity, type TlsIdentity } from "../teleport/identity.js";
import { VERSION } from "../version.js";
import { applyServingFlags } from "./v8-flags.js";

export async function loadIdentity(config: Config): Promise<TlsIdentity> {
  const credentials = config.teleport.credentials;
  return credentials.kind === "identity-file"
    ? loadIdentityFile(credentials.identity)
    : loadTlsIdentity({
        clientCrt: credentials.clientCrt,
        clientKey: credentials.clientKey,
        rootCas: credentials.rootCas,
      });
}

/** The [teleport] settings for reaching the auth API through a proxy, with the CA file read. */
export async function teleportConnection(
  config: Config,
): Promise<{ proxyCa?: string; connectionUpgrade?: boolean }> {
  const { proxyCaFile, connectionUpgrade } = config.teleport;
  return {
    ...(proxyCaFile ? { proxyCa: await readFile(proxyCaFile, "utf8") } : {}),
    ...(connectionUpgrade === undefined ? {} : { connectionUpgrade }),
  };
}

export async function daemonOptions(
  config: Config,
  identity: TlsIdentity,
  logger: Logger,
): Promise<DaemonOptions> {
  const http = config.http;
  let tls: DaemonOptions["http"]["tls"];
  if (!http.insecureNoTls) {
    if (http.httpsKeyFile && http.httpsCertFile) {
      tls = {
        cert: await readFile(http.httpsCertFile, "utf8"),
        key: await readFile(http.httpsKeyFile, "utf8"),
      };
    } else {
      tls = await defaultCallbackPair(new URL(http.publicUrl).hostname, logger);
    }
    if (http.verifyClientCert) {
      tls.verifyClientCert = true;
      if (http.clientCaFile) tls.clientCa = await readFile(http.clientCaFile, "utf8");
    }
  }
  return {
    version: VERSION,
    teleport: {
      addr: config.teleport.addr,
      identity: { cert: identity.cert, key: identity.key, cas: identity.cas },
      renewCommand: identity.renewCommand,
      ...(await teleportConnection(config)),
    },
    mattermost: {
      url: config.mattermost.url,
      token: config.mattermost.token,
      ...(config.mattermost.caFile ? { ca: await readFile(config.mattermost.caFile, "utf8") } : {}),
      secret: config.mattermost.secret,
      ...(config.mattermost.team && config.mattermost.channel
        ? { team: config.mattermost.team, channel: config.mattermost.channel }
        : {}),
      recipients: config.mattermost.recipients,
      roleToRecipients: config.roleToRecipients,
      dmSuggestedReviewers: config.mattermost.dmSuggestedReviewers,
      notifyRequester: config.mattermost.notifyRequester,
      haCluster: config.mattermost.haCluster,
      ...(config.reminders ? { reminders: config.reminders } : {}),
    },
    http: {
      listenAddr: hostPort(http.listen),
      publicAddr: http.publicUrl,
      ...(tls ? { tls } : {}),
      ...(http.basicAuth ? { basicAuth: http.basicAuth } : {}),
    },
    review: config.review,
    health: { listenAddr: hostPort(config.health.listen) },
  };
}

/** `host:port` as listen() takes it, with IPv6 hosts in brackets and "" for every interface. */
export function hostPort(listen: { host: string; port: number }): string {
  return `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`;
}

async function prepare(config: Config, logger: Logger): Promise<DaemonOptions & { fingerprint: string }> {
  const identity = await loadIdentity(config);
  for (const warning of identity.warnings) logger.warn(warning);
  logger.debug(
    { user: identity.user, roles: identity.roles, not_after: identity.notAfter.toISOString() },
    "Loaded Teleport identity",
  );
  return { ...(await daemonOptions(config, identity, logger)), fingerprint: identity.fingerprint };
}

/** Signals the daemon handles: SIGTERM and SIGINT stop it, SIGHUP reloads. */
const HANDLED_SIGNALS = ["SIGHUP", "SIGTERM", "SIGINT"] as const;
type HandledSignal = (typeof HANDLED_SIGNALS)[number];

/**
 * Runs the daemon until SIGTERM/SIGINT stops it (a second SIGINT forces the exit) and returns
 * the exit code. SIGHUP re-reads the config file and the identity: when they are valid the
 * daemon restarts on them (the watch resumes with a catch-up, so nothing is missed); when not,
 * the running daemon keeps going and the log says why. A log file is reopened (logrotate); log
 * output, format and severity stay as started.
 */
export async function runDaemon(
  config: Config,
  logger: Logger,
  reload: () => Promise<Config>,
  reopenLog: () => void = () => {},
): Promise<number> {
  // Every SIGHUP first reopens a log file, so that logrotate may move it away at any time.
  const reopen = () => {
    try {
      reopenLog();
    } catch (error) {
      logger.error(
        { err: AppError.from(error).describe() },
        "Reopening the log file failed; logging on to the old one",
      );
    }
  };
  // SIGTERM/SIGINT while the start waits (for Teleport, possibly long) end it at once, as their
  // default action would, but as a clean exit: logged, and the pid file removed by the caller.
  let stopEarly: (signal: NodeJS.Signals) => void = () => {};
  const stoppedEarly = new Promise<NodeJS.Signals>((resolve) => {
    stopEarly = resolve;
  });
  // A SIGHUP while the start waits (say, for a Teleport at a wrong addr) reloads the config and,
  // when it is valid, starts again on it: `systemctl reload` after fixing the file works at once.
  let reloadedEarly: (next: Config) => void = () => {};
  const nextReload = () =>
    new Promise<Config>((resolve) => {
      reloadedEarly = resolve;
    });
  let hangupEarly = nextReload();
  const tooEarly = () => {
    reopen();
    logger.info("SIGHUP during startup: reloading the configuration and the Teleport identity");
    reload().then(
      (next) => reloadedEarly(next),
      (error: unknown) =>
        logger.error(
          { err: AppError.from(error).describe() },
          "Reload failed; the start goes on with the previous configuration",
        ),
    );
  };
  // One listener per signal for the whole run, pointed at what the signal does now: Node drops
  // a signal that was caught while its listener was being swapped for another (libuv hands it to
  // the removed one), and swapping them when the start finished (its callback server listening)
  // lost a SIGTERM or SIGHUP that came at that moment.
  const onSignal: Record<HandledSignal, (signal: NodeJS.Signals) => void> = {
    SIGHUP: tooEarly,
    SIGTERM: stopEarly,
    SIGINT: stopEarly,
  };
  for (const name of HANDLED_SIGNALS) process.on(name, (signal) => onSignal[name](signal));
  // One registry and one readiness for the life of the process: a reload restarts the daemon
  // (and its health listener) but does not reset the counters.
  const metrics = new Metrics(VERSION);
  const readiness = new Readiness();
  const startOn = (startConfig: Config, signal: AbortSignal) =>
    (async () => {
      const prepared = await prepare(startConfig, logger);
      const shared = {
        logger,
        metrics,
        readiness,
        onCaughtUp: () => {
          if (applyServingFlags())
            logger.debug("Started and caught up: V8 optimizes hot code sooner from now on");
        },
        // Derived from this host and config, so a restart after a crash resumes its own claims.
        instanceId: stableInstanceId({
          hostname: hostname(),
          configPath: startConfig.configPath,
          listenAddr: prepared.http.listenAddr,
        }),
      };
      return { prepared, shared, started: await Daemon.start(prepared, { ...shared, signal }) };
    })();
  let startConfig = config;
  let first: Awaited<ReturnType<typeof startOn>> | NodeJS.Signals | undefined;
  while (first === undefined) {
    const attempt = new AbortController();
    const starting = startOn(startConfig, attempt.signal);
    const outcome = await Promise.race([starting, stoppedEarly, hangupEarly]);
    if (typeof outcome === "string") {
      starting.catch(() => {}); // the process exits now; a late failure of the start is moot
      first = outcome;
    } else if ("configPath" in outcome) {
      // Give up this start (its health listener closes) and begin again on the reloaded config.
      attempt.abort(new AppError("ABORTED", "Start given up for a reloaded configuration"));
      await starting.then(
        (started) => started.started.stop(),
        () => {},
      );
      startConfig = outcome;
      hangupEarly = nextReload();
    } else {
      first = outcome;
    }
  }
  if (typeof first === "string") {
    // The exit is under way: a further signal changes nothing.
    for (const name of HANDLED_SIGNALS) onSignal[name] = () => {};
    logger.info({ signal: first }, "Shutting down");
    logger.info("Stopped before the daemon was up");
    return 0;
  }
  let options = first.prepared;
  const deps = first.shared;
  let daemon = first.started;
  let current = startConfig;
  return new Promise<number>((resolve) => {
    let stopping = false;
    let reloading: Promise<void> | undefined;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        if (signal === "SIGINT") {
          logger.warn("Second interrupt: exiting now");
          resolve(1);
        }
        return;
      }
      stopping = true;
      logger.info({ signal }, "Shutting down");
      void (reloading ?? Promise.resolve())
        .then(() => daemon.stop())
        .then(() => {
          logger.info("Successfully shut down");
          resolve(0);
        });
    };
    const restart = (why: string, load: () => Promise<Config>) => {
      if (stopping || reloading) return;
      logger.info(why);
      reloading = (async () => {
        let next: DaemonOptions & { fingerprint: string };
        let nextConfig: Config;
        try {
          nextConfig = await load();
          next = await prepare(nextConfig, logger);
        } catch (error) {
          logger.error(
            { err: AppError.from(error).describe() },
            "Reload failed; the daemon keeps running unchanged",
          );
          return;
        }
        await daemon.stop();
        try {
          daemon = await Daemon.start(next, deps);
          options = next;
          current = nextConfig;
          logger.info("Reloaded");
        } catch (error) {
          logger.error(
            { err: AppError.from(error).describe() },
            "The reloaded configuration does not start; going back to the previous one",
          );
          daemon = await Daemon.start(options, deps);
        }
      })().finally(() => {
        reloading = undefined;
      });
    };
    const hangup = () => {
      reopen();
      restart("SIGHUP: reloading the configuration and the Teleport identity", reload);
    };
    onSignal.SIGTERM = stop;
    onSignal.SIGINT = stop;
    onSignal.SIGHUP = hangup;
    // tbot renews identity files in place: re-read it and restart on the new one when it changed.
    const refresh = config.teleport.refreshIdentity ? config.teleport.refreshIdentityIntervalMs : 0;
    if (refresh > 0) {
      const timer = setInterval(() => {
        if (stopping || reloading) return;
        void loadIdentity(current).then(
          (identity) => {
            if (identity.fingerprint !== options.fingerprint) {
              restart("The identity file changed: restarting on the renewed identity", async () => current);
            }
          },
          (error: unknown) =>
            logger.warn(
              { err: AppError.from(error).describe() },
              "Re-reading the identity file failed; keeping the current one",
            ),
        );
      }, refresh);
      timer.unref();
    }
  });
}

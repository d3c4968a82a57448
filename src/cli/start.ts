/**
 * `teleport-mattermost start`: loads the config and the identity, starts the daemon, and stops it
 * on SIGTERM/SIGINT (a second SIGINT forces the exit). Resolves with the process exit code.
 * SIGHUP (systemd's ExecReload) must never end the process, whose default action it would be.
 */
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { Daemon, type DaemonOptions } from "../app/daemon.js";
import { selfSignedCert } from "../callback/self-signed.js";
import type { Config } from "../config/config.js";
import { AppError } from "../errors.js";
import { loadIdentityFile, loadTlsIdentity, type TlsIdentity } from "../teleport/identity.js";
import { VERSION } from "../version.js";

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
      const host = new URL(http.publicUrl).hostname;
      logger.warn(
        { host },
        "No TLS key pair given ([http] https_key_file, https_cert_file); using a self-signed certificate. Mattermost must trust it or allow insecure outgoing connections",
      );
      tls = await selfSignedCert({ commonName: host, hosts: [host, "localhost", "127.0.0.1", "::1"] });
    }
    if (http.verifyClientCert) {
      tls.verifyClientCert = true;
      if (http.clientCaFile) tls.clientCa = await readFile(http.clientCaFile, "utf8");
    }
  }
  if (config.mattermost.recipients.length > 0 || Object.keys(config.roleToRecipients).length > 0) {
    throw new AppError(
      "CONFIG",
      "[mattermost] recipients and [role_to_recipients] are not supported by this version yet",
      {
        fix: "Remove them and set [mattermost] team and channel; every request is posted there",
      },
    );
  }
  if (!config.mattermost.team || !config.mattermost.channel) {
    throw new AppError("CONFIG", "[mattermost] team and channel are required", {
      fix: "Set [mattermost] team and channel to the team and channel the bot posts requests to",
    });
  }
  return {
    version: VERSION,
    teleport: {
      addr: config.teleport.addr,
      identity: { cert: identity.cert, key: identity.key, cas: identity.cas },
    },
    mattermost: {
      url: config.mattermost.url,
      token: config.mattermost.token,
      team: config.mattermost.team,
      channel: config.mattermost.channel,
      secret: config.mattermost.secret,
    },
    http: {
      listenAddr: hostPort(http.listen),
      publicAddr: http.publicUrl,
      ...(tls ? { tls } : {}),
      ...(http.basicAuth ? { basicAuth: http.basicAuth } : {}),
    },
    health: { listenAddr: hostPort(config.health.listen) },
  };
}

/** `host:port` as listen() takes it, with IPv6 hosts in brackets and "" for every interface. */
export function hostPort(listen: { host: string; port: number }): string {
  return `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`;
}

/** Runs the daemon until a signal stops it; returns the exit code. */
export async function runDaemon(config: Config, logger: Logger): Promise<number> {
  // From the first moment: a SIGHUP during a slow start (Teleport not up yet) must not kill it.
  process.on("SIGHUP", () => logger.warn("Reloading is not supported yet; restart to apply changes"));
  const identity = await loadIdentity(config);
  for (const warning of identity.warnings) logger.warn(warning);
  logger.debug(
    { user: identity.user, roles: identity.roles, not_after: identity.notAfter.toISOString() },
    "Loaded Teleport identity",
  );
  const daemon = await Daemon.start(await daemonOptions(config, identity, logger), { logger });
  return new Promise<number>((resolve) => {
    let stopping = false;
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
      void daemon.stop().then(() => {
        logger.info("Successfully shut down");
        resolve(0);
      });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

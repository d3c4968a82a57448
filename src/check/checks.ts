/**
 * `teleport-mattermost check`: tries every setting against the live servers, in the order the
 * daemon needs them, and reports one line per check: what was found, or what is wrong and how
 * to fix it. Checks that depend on a failed one are reported as not checked.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { botChannelId, tokenAccount } from "../app/mattermost-setup.js";
import { hostPort, loadIdentity } from "../cli/start.js";
import type { Config } from "../config/config.js";
import { loadConfig } from "../config/load.js";
import { PLUGIN_NAME } from "../core/plugin-data.js";
import { AppError, isAppError } from "../errors.js";
import { MattermostClient } from "../mattermost/client.js";
import type { MattermostUser } from "../mattermost/types.js";
import { TeleportClient } from "../teleport/client.js";
import { certificateDaysLeft, type TlsIdentity } from "../teleport/identity.js";
import { isAtLeast, MIN_SERVER_VERSION } from "../teleport/version.js";
import { checkCallbackReach } from "./callback-reach.js";

export type CheckStatus = "ok" | "fail" | "skip";

export interface CheckLine {
  status: CheckStatus;
  /** What was checked, e.g. "Teleport permissions". */
  subject: string;
  /** What was found, or the problem and its fix. */
  text: string;
}

/** Short deadlines: check is run by a person waiting for the answer. */
const TELEPORT_TIMEOUT_MS = 5_000;
const MATTERMOST_TIMEOUT_MS = 5_000;
const PERMISSION_DENIED = 7;
/** The rules the plugin's role needs (README, step 2). */
const ROLE_FIX =
  "Give the plugin's Teleport role the rules access_request: [list, read, update] and access_plugin_data: [update], then export its identity again with `tctl auth sign`";

export interface CheckOptions {
  configPath: string;
  insecureNoTls: boolean;
}

/** Runs every check, handing each line to `report` as soon as it is known. True when all passed. */
export async function runChecks(options: CheckOptions, report: (line: CheckLine) => void): Promise<boolean> {
  let passed = true;
  const emit = (status: CheckStatus, subject: string, text: string) => {
    if (status === "fail") passed = false;
    report({ status, subject, text });
  };
  const fail = (subject: string, error: unknown) => emit("fail", subject, AppError.from(error).describe());

  let config: Config;
  try {
    const loaded = await loadConfig(options.configPath, { insecureNoTls: options.insecureNoTls });
    config = loaded.config;
    const warned = loaded.warnings.length > 0 ? `; ${loaded.warnings.join("; ")}` : "";
    emit("ok", "config", `${config.configPath} loads${warned}`);
  } catch (error) {
    fail("config", error);
    emit("skip", "everything else", "not checked: fix the config first");
    return false;
  }

  await checkTeleport(config, emit, fail);
  await checkMattermost(config, emit, fail);
  await checkCallback(config, emit);
  return passed;
}

type Emit = (status: CheckStatus, subject: string, text: string) => void;
type Fail = (subject: string, error: unknown) => void;

async function checkTeleport(config: Config, emit: Emit, fail: Fail): Promise<void> {
  let identity: TlsIdentity;
  try {
    identity = await loadIdentity(config);
    const days = certificateDaysLeft(identity, Date.now());
    const left =
      days >= 1
        ? `${days} days left`
        : `${Math.floor((identity.notAfter.getTime() - Date.now()) / 3_600_000)} hours left`;
    const roles = identity.roles.length > 0 ? identity.roles.join(", ") : "none";
    const warnings = identity.warnings.length > 0 ? `; ${identity.warnings.join("; ")}` : "";
    emit(
      "ok",
      "Teleport identity",
      `user ${identity.user} (roles ${roles}), key matches, valid until ${identity.notAfter.toISOString()} (${left})${warnings}`,
    );
  } catch (error) {
    fail("Teleport identity", error);
    emit("skip", "Teleport", "not checked: the daemon cannot connect without a usable identity");
    return;
  }

  const teleport = new TeleportClient({
    addr: config.teleport.addr,
    identity: { cert: identity.cert, key: identity.key, cas: identity.cas },
    callTimeoutMs: TELEPORT_TIMEOUT_MS,
  });
  try {
    try {
      const ping = await teleport.ping();
      if (!isAtLeast(ping.serverVersion, MIN_SERVER_VERSION)) {
        emit(
          "fail",
          "Teleport auth server",
          `${config.teleport.addr} runs Teleport ${ping.serverVersion}, older than ${MIN_SERVER_VERSION}. Upgrade the auth server`,
        );
        return;
      }
      emit(
        "ok",
        "Teleport auth server",
        `${config.teleport.addr} answers: cluster ${ping.clusterName}, Teleport ${ping.serverVersion}`,
      );
    } catch (error) {
      emit(
        "fail",
        "Teleport auth server",
        `cannot reach ${config.teleport.addr}: ${AppError.from(error).message}. Check [teleport] addr, that the auth server runs, and that this host reaches it (and that root_cas is the cluster's CA)`,
      );
      emit("skip", "Teleport identity accepted, permissions", "not checked: Teleport did not answer");
      return;
    }

    try {
      // Ping answers without a client certificate; this call needs one.
      await teleport.listRequests({ id: randomUUID() });
      emit("ok", "Teleport identity accepted", `the auth server accepts user ${identity.user}`);
    } catch (error) {
      emit(
        "fail",
        "Teleport identity accepted",
        `the auth server refuses user ${identity.user}: ${AppError.from(error).message}. ` +
          "Check that the user, its roles and the certificate still exist and are not locked, " +
          "and export the identity again with `tctl auth sign`",
      );
      emit("skip", "Teleport permissions", "not checked: the identity was refused");
      return;
    }

    const missing = await missingPermissions(teleport);
    if (missing.length === 0) {
      emit(
        "ok",
        "Teleport permissions",
        "watch, list and read access requests, read and update plugin data, set request states",
      );
    } else {
      emit(
        "fail",
        "Teleport permissions",
        `user ${identity.user} may not ${missing.join(", ")}. ${ROLE_FIX}`,
      );
    }
  } finally {
    teleport.close();
  }
}

/**
 * Asks Teleport for each thing the daemon does, on a request id that does not exist: a call
 * that is allowed answers NOT_FOUND or nothing, one that is not answers PERMISSION_DENIED.
 * (GetAccessRequests cannot tell: without list/read it silently returns only one's own.)
 */
async function missingPermissions(teleport: TeleportClient): Promise<string[]> {
  const absent = randomUUID();
  const probes: Array<[string, () => Promise<unknown>]> = [
    ["watch access requests (list, read)", () => firstWatchEvent(teleport)],
    ["read plugin data", () => teleport.getPluginData(absent, PLUGIN_NAME)],
    ["update plugin data", () => teleport.updatePluginData(absent, PLUGIN_NAME, { check: "1" }, {})],
    ["update access requests", () => teleport.setRequestState(absent, "DENIED", { reason: "check" })],
  ];
  const missing: string[] = [];
  for (const [what, probe] of probes) {
    try {
      await probe();
    } catch (error) {
      if (isAppError(error, "NOT_FOUND")) continue;
      if (isAppError(error) && error.details["grpcCode"] === PERMISSION_DENIED) missing.push(what);
      else missing.push(`${what} (${AppError.from(error).message})`);
    }
  }
  return missing;
}

/** Opens the watch the daemon keeps and closes it after its first event (INIT). */
async function firstWatchEvent(teleport: TeleportClient): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), TELEPORT_TIMEOUT_MS);
  try {
    for await (const _event of teleport.watchRequests(stop.signal)) return;
    if (stop.signal.aborted) throw new AppError("TIMEOUT", "the watch sent no event in time");
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}

async function checkMattermost(config: Config, emit: Emit, fail: Fail): Promise<void> {
  const { url, team, channel } = config.mattermost;
  const mattermost = new MattermostClient({
    url,
    token: config.mattermost.token,
    ...(config.mattermost.caFile ? { ca: await readFile(config.mattermost.caFile, "utf8") } : {}),
    requestTimeoutMs: MATTERMOST_TIMEOUT_MS,
    maxRetries: 0,
  });
  try {
    try {
      await mattermost.ping();
      emit("ok", "Mattermost server", `${url} answers`);
    } catch (error) {
      const failure = AppError.from(error);
      emit(
        "fail",
        "Mattermost server",
        failure.details["tls"]
          ? failure.describe()
          : `${url} does not answer as Mattermost: ${failure.message}. Check [mattermost] url and that this host reaches it`,
      );
      emit("skip", "Mattermost token, team and channel", "not checked: Mattermost did not answer");
      return;
    }
    let bot: MattermostUser;
    try {
      bot = await tokenAccount(mattermost);
      const kind = bot.is_bot === false ? "user (not a bot account; a bot is recommended)" : "bot";
      emit("ok", "Mattermost token", `valid: ${kind} @${bot.username}`);
    } catch (error) {
      fail("Mattermost token", error);
      emit("skip", "Mattermost team and channel", "not checked: the token was refused");
      return;
    }
    if (team && channel) {
      try {
        await botChannelId(mattermost, bot, { team, channel });
        emit("ok", "Mattermost channel", `@${bot.username} is a member of ~${channel} in team ${team}`);
      } catch (error) {
        fail("Mattermost channel", error);
      }
    }
    const names = [
      ...new Set([...config.mattermost.recipients, ...Object.values(config.roleToRecipients).flat()]),
    ];
    if (names.length > 0) await checkRecipients(mattermost, bot, names, emit);
  } finally {
    mattermost.close();
  }
}

/** Every configured recipient exists: a channel (`team/channel`) with the bot in it, or a user. */
async function checkRecipients(
  mattermost: MattermostClient,
  bot: MattermostUser,
  names: string[],
  emit: Emit,
): Promise<void> {
  const problems: string[] = [];
  for (const name of names) {
    try {
      if (name.includes("/")) {
        const [team = "", channel = ""] = name.split("/", 2);
        await botChannelId(mattermost, bot, { team, channel });
      } else {
        const handle = name.trim().replace(/^@/, "");
        await (handle.includes("@")
          ? mattermost.getUserByEmail(handle)
          : mattermost.getUserByUsername(handle));
      }
    } catch (error) {
      problems.push(
        isAppError(error, "NOT_FOUND")
          ? `"${name}" is not a Mattermost user`
          : AppError.from(error).describe(),
      );
    }
  }
  if (problems.length === 0) {
    emit("ok", "Mattermost recipients", `found ${names.join(", ")}`);
  } else {
    emit(
      "fail",
      "Mattermost recipients",
      `${problems.join("; ")}. Fix [mattermost] recipients or [role_to_recipients]: usernames, emails or team/channel`,
    );
  }
}

async function checkCallback(config: Config, emit: Emit): Promise<void> {
  const { http } = config;
  let pair: { cert: string; key: string } | undefined;
  if (!http.insecureNoTls && http.httpsCertFile && http.httpsKeyFile) {
    pair = {
      cert: await readFile(http.httpsCertFile, "utf8"),
      key: await readFile(http.httpsKeyFile, "utf8"),
    };
  }
  const reach = await checkCallbackReach({
    publicUrl: http.publicUrl,
    listenAddr: hostPort(http.listen),
    plainHttp: http.insecureNoTls,
    ...(pair ? { tls: pair } : {}),
  });
  if (reach.reached) emit("ok", "callback URL", `${http.publicUrl}: ${reach.how}`);
  else emit("fail", "callback URL", `${http.publicUrl}: ${reach.problem}. ${reach.fix}`);
}

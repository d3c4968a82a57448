/**
 * `teleport-mattermost check`: tries every setting against the live servers, in the order the
 * daemon needs them, and reports one line per check: what was found, or what is wrong and how
 * to fix it. Checks that depend on a failed one are reported as not checked.
 */
import { readFile } from "node:fs/promises";
import { botChannelId, tokenAccount } from "../app/mattermost-setup.js";
import { hostPort } from "../cli/start.js";
import type { Config } from "../config/config.js";
import { loadConfig } from "../config/load.js";
import { NOWHERE_TO_POST } from "../config/sections/mattermost.js";
import { AppError, isAppError } from "../errors.js";
import { MattermostClient } from "../mattermost/client.js";
import type { MattermostUser } from "../mattermost/types.js";
import { checkCallbackReach } from "./callback-reach.js";
import { decisionsVerdict, postsVerdict } from "./decisions.js";
import { checkTeleport } from "./teleport-checks.js";

export type CheckStatus = "ok" | "fail" | "skip";

export interface CheckLine {
  status: CheckStatus;
  /** What was checked, e.g. "Teleport permissions". */
  subject: string;
  /** What was found, or the problem and its fix. */
  text: string;
}

/** Short deadline: check is run by a person waiting for the answer. */
const MATTERMOST_TIMEOUT_MS = 5_000;

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
    // Nowhere to post is its own ✗ line below.
    const warnings = loaded.warnings.filter((warning) => !warning.endsWith(NOWHERE_TO_POST));
    const warned = warnings.length > 0 ? `; ${warnings.join("; ")}` : "";
    emit("ok", "config", `${config.configPath} loads${warned}`);
  } catch (error) {
    fail("config", error);
    emit("skip", "everything else", "not checked: fix the config first");
    return false;
  }

  const found = await checkTeleport(config, emit, fail);
  const decisions = decisionsVerdict(config.review, found);
  emit(decisions.status, "Mattermost decisions", decisions.text);
  const posts = postsVerdict(config);
  if (posts) emit(posts.status, "Mattermost posts", posts.text);
  await checkMattermost(config, emit, fail);
  await checkCallback(config, emit);
  return passed;
}

export type Emit = (status: CheckStatus, subject: string, text: string) => void;
export type Fail = (subject: string, error: unknown) => void;

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

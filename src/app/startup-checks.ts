/**
 * The checks the daemon makes before it serves anything, in the order and with the log lines of
 * the operator's guide (../shared/seed/): Teleport answers — retried with a log line per attempt
 * while it does not, unless the failure is one waiting cannot heal (teleport/transport-failures) —
 * and is new enough; then the Mattermost token names a bot that is in the
 * configured team and channel. Last, what the daemon will do with decisions and which part of
 * the config keeps it from deciding at all.
 */
import type { Logger } from "pino";
import type { ReviewConfig } from "../config/config.js";
import { hasMapping } from "../core/review-policy.js";
import { AppError } from "../errors.js";
import { backoffDelay } from "../lib/backoff.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { MattermostUser } from "../mattermost/types.js";
import type { PingResult, TeleportClient } from "../teleport/client.js";
import { describeRoute } from "../teleport/route-detect.js";
import { isAtLeast, MIN_SERVER_VERSION } from "../teleport/version.js";
import type { Decisions } from "./decisions.js";
import { botChannelId, tokenAccount } from "./mattermost-setup.js";
import type { Recipient } from "./recipients.js";
import { WATCH_BACKOFF } from "./watcher.js";

/** How long one Ping may take before it counts as "not reachable". */
const PING_TIMEOUT_MS = 5_000;

export interface TeleportCheckDeps {
  logger: Logger;
  clock: Clock;
  random?: () => number;
  /** Told of each failed attempt before the wait (metrics, readiness). */
  onUnreachable(failure: AppError): void;
  /** Ends the waiting (the start was given up): the wait rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Pings the auth server until it answers and refuses one older than MIN_SERVER_VERSION. */
export async function checkTeleport(teleport: TeleportClient, deps: TeleportCheckDeps): Promise<PingResult> {
  const { logger } = deps;
  logger.debug({ addr: teleport.addr }, "Checking Teleport server version");
  const ping = await pingUntilAnswered(teleport, deps);
  if (!isAtLeast(ping.serverVersion, MIN_SERVER_VERSION)) {
    throw new AppError(
      "TELEPORT_VERSION",
      `Teleport server version ${ping.serverVersion} is older than ${MIN_SERVER_VERSION}`,
      { fix: `Upgrade the Teleport auth server to ${MIN_SERVER_VERSION} or newer` },
    );
  }
  logger.info(
    { cluster: ping.clusterName, server_version: ping.serverVersion, connection: teleport.route?.kind },
    "Teleport server version checked",
  );
  if (teleport.route)
    logger.debug({ connection: describeRoute(teleport.route) }, "Teleport connection found");
  logger.debug("Starting a request watcher...");
  return ping;
}

async function pingUntilAnswered(teleport: TeleportClient, deps: TeleportCheckDeps): Promise<PingResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await teleport.ping(PING_TIMEOUT_MS);
    } catch (error) {
      const failure = AppError.from(error, "TELEPORT");
      if (!failure.retryable) throw failure;
      // Waiting does not fix a wrong port or another cluster's CA: say so and stop.
      if (failure.details["transport"] !== undefined) {
        throw new AppError("TELEPORT", failure.message, {
          cause: failure,
          details: failure.details,
          ...(failure.fix ? { fix: failure.fix } : {}),
        });
      }
      const delay = backoffDelay(WATCH_BACKOFF, attempt, deps.random);
      deps.onUnreachable(failure);
      deps.logger.warn(
        { addr: teleport.addr, err: failure.describe(), retry_in_ms: delay },
        "Teleport auth server is not reachable yet; check [teleport] addr and that the auth server runs. Retrying",
      );
      await deps.clock.sleep(delay, deps.signal);
    }
  }
}

export interface MattermostCheckOptions {
  url: string;
  /** The seed's single channel; optional when recipients or role routing say where to post. */
  team?: string;
  channel?: string;
}

export interface MattermostSetup {
  bot: MattermostUser;
  defaultChannel?: Recipient;
}

/**
 * The bot behind the token and, when configured, its channel (it must be a member), without a log
 * line: the daemon starts this while it pings Teleport and checkMattermost reports it in order.
 */
export async function mattermostSetup(
  mattermost: MattermostClient,
  options: MattermostCheckOptions,
): Promise<MattermostSetup> {
  const bot = await tokenAccount(mattermost);
  if (!options.team || !options.channel) return { bot };
  const channelId = await botChannelId(mattermost, bot, { team: options.team, channel: options.channel });
  return { bot, defaultChannel: { channelId, label: `${options.team}/${options.channel}` } };
}

/**
 * Checks the token (it must name a bot) and, when configured, the bot's membership of the channel.
 * `early` is the same check started before Teleport answered; when it failed (Mattermost down
 * while Teleport was still out of reach, say) it is made again now, as in order.
 */
export async function checkMattermost(
  mattermost: MattermostClient,
  options: MattermostCheckOptions,
  logger: Logger,
  early?: Promise<MattermostSetup>,
): Promise<{ defaultChannel?: Recipient; botUserId: string; botName: string }> {
  logger.debug({ url: options.url }, "Starting Mattermost API health check...");
  const { bot, defaultChannel } = await (early ?? mattermostSetup(mattermost, options)).catch(() =>
    mattermostSetup(mattermost, options),
  );
  logger.debug({ bot: bot.username }, "Mattermost API health check finished ok");
  logger.info(
    { bot: bot.username, ...(defaultChannel ? { team: options.team, channel: options.channel } : {}) },
    "Mattermost API health checked",
  );
  return { ...(defaultChannel ? { defaultChannel } : {}), botUserId: bot.id, botName: bot.username };
}

/** Says how decisions will be made, and warns when the config lets nobody decide from Mattermost. */
export function logDecisionMode(decisions: Decisions, review: ReviewConfig, logger: Logger): void {
  const mode = decisions.mode;
  logger.info(
    { mode, configured: review.mode },
    mode === "review"
      ? "Decisions are submitted as Teleport reviews on behalf of the Mattermost user"
      : mode === "state"
        ? "Decisions set the request state under the approver policy of [review.approvers]"
        : "Decisions will be submitted as reviews on behalf of the Mattermost user if Teleport accepts them, else set the request state under [review.approvers]",
  );
  if (!hasMapping(review.mapping)) {
    logger.warn(
      "No way to map Mattermost users to Teleport users is configured ([review.users], mattermost_user_trait or allow_email_username_match), so no decision can be made from Mattermost: posts show the link to Teleport and the tsh request review commands instead of Approve and Deny buttons",
    );
  } else if (decisions.mayUsePolicy && Object.keys(review.rules.approvers).length === 0) {
    logger.warn(
      "[review.approvers] is empty: where Teleport does not accept reviews on behalf of users, nobody can approve or deny from Mattermost (posts then show the link to Teleport instead of buttons). List approvers per role under [review.approvers] to allow it",
    );
  }
}

/**
 * The Mattermost side of the operator's setup, checked the same way by `start` (before it
 * serves anything) and by `check`: the token is a bot's, and the bot is in the team and the
 * channel. Each failure is an AppError whose fix names the setting or the Mattermost step.
 */
import { AppError, isAppError } from "../errors.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { MattermostUser } from "../mattermost/types.js";

/** The account the token belongs to; throws when Mattermost refuses the token or is unreachable. */
export async function tokenAccount(mattermost: MattermostClient): Promise<MattermostUser> {
  try {
    return await mattermost.getMe();
  } catch (error) {
    const failure = AppError.from(error);
    // A TLS failure already says what failed and which key fixes it; url and token are fine.
    if (failure.details["tls"]) {
      throw new AppError("MATTERMOST", `Mattermost API health check failed: ${failure.message}`, {
        cause: error,
        details: failure.details,
        ...(failure.fix ? { fix: failure.fix } : {}),
      });
    }
    throw new AppError("MATTERMOST", "Mattermost API health check failed", {
      cause: error,
      fix: `${failure.describe()}. Check [mattermost] url and token`,
    });
  }
}

/** The id of the channel the bot posts to; throws when it cannot see it or is not a member. */
export async function botChannelId(
  mattermost: MattermostClient,
  bot: Pick<MattermostUser, "id" | "username">,
  place: { team: string; channel: string },
): Promise<string> {
  let channel: { id: string };
  try {
    channel = await mattermost.getChannelByName(place.team, place.channel);
  } catch (error) {
    if (
      isAppError(error, "NOT_FOUND") ||
      (isAppError(error, "MATTERMOST") && error.details["status"] === 403)
    ) {
      throw new AppError(
        "MATTERMOST",
        `Mattermost channel "${place.channel}" in team "${place.team}" was not found or the bot @${bot.username} cannot see it`,
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
        `The bot @${bot.username} is not a member of channel "${place.channel}"`,
        {
          cause: error,
          fix: `Add @${bot.username} to ~${place.channel} in team "${place.team}" (e.g. /invite @${bot.username} there)`,
        },
      );
    }
    throw error;
  }
  return channel.id;
}

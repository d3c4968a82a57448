/**
 * What the servers accept for the names and values the config holds, so that a value no server
 * would take is refused at load (with its key and line) instead of failing, and being logged, on
 * every retry. Mattermost's rules are those of its model package (server/public/model): the
 * loosest across the versions we support, so that no name a server accepts is refused here.
 */
import { hostProblem } from "./host-port.js";

/** model.TeamNameMinLength / TeamNameMaxLength; team URL names (model.IsValidTeamName). */
export const TEAM_NAME_MIN = 2;
export const TEAM_NAME_MAX = 64;
const TEAM_NAME = /^[a-z0-9]+([a-z0-9-]+|(__)?)[a-z0-9]+$/;
/** model.ChannelNameMaxLength; channel URL names (model.IsValidChannelIdentifier). */
export const CHANNEL_NAME_MIN = 1;
export const CHANNEL_NAME_MAX = 64;
const CHANNEL_NAME = /^[a-z0-9]+([a-z0-9_-]+|(__)?)[a-z0-9]*$/;
/**
 * model.IsValidUsername: lower-case letters, digits, `.`, `-`, `_`; 1–64 characters on current
 * servers (3–22 on 5.x, whose shorter bound the server itself enforces when asked).
 */
export const USERNAME_MIN = 1;
export const USERNAME_MAX = 64;
const USERNAME = /^[a-z0-9.\-_]+$/;
/** model.UserEmailMaxLength. */
export const EMAIL_MAX = 128;
/** Longest URL accepted: common proxies and browsers refuse longer ones. */
export const URL_MAX = 2_048;
/** Longest [mattermost] secret: an HMAC key needs 32 bytes; anything this long is a pasted file. */
export const SECRET_MAX = 1_024;
/**
 * Longest bot token. Mattermost's are 26 characters (model.NewId), but the original plugin read
 * up to 2000 bytes of a token file (ORIGINAL-PLUGIN.md §1), so that stays the bound.
 */
export const TOKEN_MAX = 2_000;
/** Longest Teleport role or trait name we accept (Teleport's resource names stay far below). */
export const TELEPORT_NAME_MAX = 255;
/** Longest basic-auth user and password. */
export const BASIC_AUTH_MAX = 256;

/** A Mattermost username as the server stores it (lower case), or why it cannot be one. */
export function usernameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.length < USERNAME_MIN || lower.length > USERNAME_MAX) {
    return `a Mattermost username has ${USERNAME_MIN}–${USERNAME_MAX} characters`;
  }
  if (!USERNAME.test(lower)) {
    return "a Mattermost username holds only letters, digits, '.', '-' and '_'";
  }
  return undefined;
}

export function emailProblem(email: string): string | undefined {
  if (email.length > EMAIL_MAX) return `an email address has at most ${EMAIL_MAX} characters`;
  if (!/^[^\s@<>()",;]+@[^\s@<>()",;]+$/.test(email)) return "it is not an email address";
  return undefined;
}

export function teamNameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.length < TEAM_NAME_MIN || lower.length > TEAM_NAME_MAX) {
    return `a Mattermost team name has ${TEAM_NAME_MIN}–${TEAM_NAME_MAX} characters`;
  }
  if (!TEAM_NAME.test(lower)) {
    return "a Mattermost team name holds only letters, digits and '-' (it is the name in the team's address, not its display name)";
  }
  return undefined;
}

export function channelNameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.length < CHANNEL_NAME_MIN || lower.length > CHANNEL_NAME_MAX) {
    return `a Mattermost channel name has ${CHANNEL_NAME_MIN}–${CHANNEL_NAME_MAX} characters`;
  }
  if (!CHANNEL_NAME.test(lower)) {
    return "a Mattermost channel name holds only letters, digits, '-' and '_' (it is the name in the channel's address, not its display name)";
  }
  return undefined;
}

/**
 * A recipient as written in the config: `team/channel`, a username (optionally `@name`) or an
 * email. Returns it as Mattermost stores it (lower case), or the problem.
 */
export function checkRecipient(text: string): { ok: true; value: string } | { ok: false; problem: string } {
  const value = text.trim();
  if (value.includes("/")) {
    const [team = "", channel = "", ...rest] = value.split("/");
    const problem =
      rest.length > 0
        ? "a channel is written team/channel"
        : (teamNameProblem(team) ?? channelNameProblem(channel));
    return problem
      ? { ok: false, problem }
      : { ok: true, value: `${team.toLowerCase()}/${channel.toLowerCase()}` };
  }
  const handle = value.replace(/^@/, "");
  const problem = handle.includes("@") ? emailProblem(handle) : usernameProblem(handle);
  return problem ? { ok: false, problem } : { ok: true, value: handle.toLowerCase() };
}

/** A Teleport user, role or trait name: bounded, without control characters. */
export function teleportNameProblem(name: string): string | undefined {
  if (name.length > TELEPORT_NAME_MAX) return `a Teleport name has at most ${TELEPORT_NAME_MAX} characters`;
  if (CONTROL_CHARACTERS.test(name)) return "a Teleport name holds no control characters";
  return undefined;
}

/** What is wrong with a URL's length or host ("is …", "has …"), or undefined. */
export function urlProblem(url: URL, text: string): string | undefined {
  if (text.length > URL_MAX) return `is ${text.length} characters long; at most ${URL_MAX} are accepted`;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host.includes(":")) return undefined;
  return host === "" ? "names no host" : hostProblem(host);
}

/** Text with control characters, which no header, name or key may carry. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point.
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

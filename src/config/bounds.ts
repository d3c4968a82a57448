/**
 * What the servers accept for the names and values the config holds, so that a value no server
 * would take is refused at load (with its key and line) instead of failing, and being logged, on
 * every retry. Mattermost's names follow mattermost/names.ts.
 */
import {
  channelNameProblem,
  emailProblem,
  normalizeUserHandle,
  teamNameProblem,
  usernameProblem,
} from "../mattermost/names.js";
import { hostProblem } from "./host-port.js";

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
  const handle = normalizeUserHandle(value);
  const problem = handle.includes("@") ? emailProblem(handle) : usernameProblem(handle);
  return problem ? { ok: false, problem } : { ok: true, value: handle };
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

/**
 * [mattermost]: the server, the bot's token, the button-signing secret and where posts go.
 */

import { quoted } from "../../lib/bounded.js";
import { channelNameProblem, teamNameProblem } from "../../mattermost/names.js";
import { CONTROL_CHARACTERS, checkRecipient, SECRET_MAX, TOKEN_MAX, urlProblem } from "../bounds.js";
import type { MattermostConfig } from "../config.js";
import { ConfigIssue, type KeyPath } from "../config-issue.js";
import { readCertificates } from "../read-certificates.js";
import { readNamedFile } from "../read-named-file.js";
import type { RawConfig } from "../schema.js";
import { configFilePath, given, type SectionContext } from "../section-context.js";

type MattermostTable = NonNullable<RawConfig["mattermost"]>;

/** The original plugin read at most this much of a token file (ORIGINAL-PLUGIN.md §1). */
export const TOKEN_FILE_MAX_BYTES = 2000;
/** Shorter HMAC keys are guessable; `openssl rand -hex 32` gives 64 characters. */
export const MIN_SECRET_LENGTH = 16;
const URL_EXAMPLE = 'url = "https://mattermost.example.com"';

/**
 * Without team/channel, recipients and [role_to_recipients], requests go only to their suggested
 * reviewers by DM (Teleport's own plugin runs like that by default); with those DMs off too, no
 * request is ever posted. That loads, as the peer's config does, but says so.
 */
export const NOWHERE_TO_POST =
  "no request will ever be posted: [mattermost] names no team and channel and no recipients, there is no [role_to_recipients], and dm_suggested_reviewers = false. " +
  'Set team and channel, recipients (e.g. recipients = ["team/channel", "alice@example.com"]) or [role_to_recipients], or remove dm_suggested_reviewers = false';

export async function resolveMattermost(
  table: MattermostTable,
  ctx: SectionContext,
  /** [role_to_recipients] is set, so posts have somewhere to go without team/channel. */
  hasRoleRecipients: boolean,
): Promise<MattermostConfig> {
  const recipients = resolveRecipients(table.recipients ?? [], ctx);
  if (recipients.length > 0 && hasRoleRecipients) {
    // Teleport's own plugin (integrations/access/mattermost config.go) let `recipients` replace the
    // whole map; an operator coming from it should know that here both apply.
    ctx.warn(
      ["mattermost", "recipients"],
      `${ctx.keyName(["mattermost", "recipients"])} and [role_to_recipients] are both set: each request goes to both (Teleport's own Mattermost plugin used only recipients and ignored [role_to_recipients]). Remove the one you do not want`,
    );
  }
  const { team, channel } = resolveChannel(table, ctx);
  const dmSuggestedReviewers = table.dm_suggested_reviewers ?? true;
  if (!team && recipients.length === 0 && !hasRoleRecipients && !dmSuggestedReviewers) {
    ctx.warn(["mattermost", "dm_suggested_reviewers"], NOWHERE_TO_POST);
  }
  const { token, tokenFile } = await resolveToken(table, ctx);
  const url = resolveUrl(table, ctx);
  return {
    url,
    caFile: await resolveCaFile(table, url, ctx),
    team,
    channel,
    token,
    tokenFile,
    secret: resolveSecret(table, ctx),
    recipients,
    dmSuggestedReviewers,
    notifyRequester: table.notify_requester ?? true,
    haCluster: table.ha_cluster ?? false,
  };
}

function required(path: KeyPath, ctx: SectionContext, value: string | undefined, fix: string): string {
  if (given(value)) return value;
  const why = value === undefined ? "" : " (it is empty)";
  throw new ConfigIssue(path, `missing required value ${ctx.keyName(path)}${why}`, fix);
}

function resolveUrl(table: MattermostTable, ctx: SectionContext): string {
  const path = ["mattermost", "url"];
  const fix = `Write the address you open Mattermost at, e.g. ${URL_EXAMPLE}`;
  const text = required(path, ctx, table.url, `Add ${URL_EXAMPLE} under [mattermost]`).trim();
  const shown = `${ctx.keyName(path)} ${quoted(text)}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigIssue(path, `${shown} is not a URL`, fix);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigIssue(path, `${shown} is not an http or https URL`, fix);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigIssue(path, `${shown} must not carry a user, a ?query or a #fragment`, fix);
  }
  const problem = urlProblem(url, text);
  if (problem) throw new ConfigIssue(path, `${shown} ${problem}`, fix);
  // Client paths are appended as `${url}/api/v4/…`; a trailing slash would double it.
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** CA certificates that sign Mattermost's certificate, trusted besides the usual public ones. */
async function resolveCaFile(
  table: MattermostTable,
  url: string,
  ctx: SectionContext,
): Promise<string | undefined> {
  const path = ["mattermost", "ca_file"];
  if (!given(table.ca_file)) return undefined;
  const file = configFilePath(ctx, table.ca_file);
  if (url.startsWith("http:")) {
    ctx.warn(path, `${ctx.keyName(path)} has no effect: ${ctx.keyName(["mattermost", "url"])} is http://`);
  }
  await readCertificates(
    ctx,
    path,
    file,
    "Check the path, or remove ca_file to trust only the usual public CAs",
  );
  return file;
}

async function resolveToken(
  table: MattermostTable,
  ctx: SectionContext,
): Promise<{ token: string; tokenFile: string | undefined }> {
  const path = ["mattermost", "token"];
  const value = required(
    path,
    ctx,
    table.token,
    'Add token = "<the bot\'s access token>" under [mattermost] (Integrations → Bot Accounts), ' +
      'or token = "/path/to/a/file" that holds it',
  ).trim();
  // Tokens are one word of letters and digits: a value like "secrets/token" meant a file.
  if (!value.startsWith("/") && /[/\\]|^~/.test(value)) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${JSON.stringify(value)} looks like a file path, but only a value starting with "/" is read from a file`,
      value.startsWith("~")
        ? "Write the file's absolute path (~ is not expanded), or the token itself"
        : `Write the file's absolute path, e.g. token = ${JSON.stringify(configFilePath(ctx, value))} for the one beside the config, or the token itself`,
    );
  }
  if (!value.startsWith("/")) return { token: checkToken(value, path, ctx), tokenFile: undefined };
  // As in the original plugin: a value starting with "/" is the path of a file holding the token.
  const content = await readNamedFile(
    ctx,
    path,
    value,
    `Write the bot's access token into ${value}, or set token to the token itself`,
  );
  const token = content.subarray(0, TOKEN_FILE_MAX_BYTES).toString("utf8").trim();
  if (token === "") {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)}: token file ${value} is empty`,
      `Write the bot's access token into ${value}`,
    );
  }
  return { token: checkToken(token, path, ctx), tokenFile: value };
}

/** A token goes into the Authorization header of every call: bounded, one word, printable. */
function checkToken(token: string, path: KeyPath, ctx: SectionContext): string {
  if (token.length > TOKEN_MAX || /\s/.test(token) || CONTROL_CHARACTERS.test(token)) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} is not a Mattermost access token (${token.length} characters${/\s/.test(token) ? ", with spaces or line breaks" : ""}; tokens are one word of at most ${TOKEN_MAX})`,
      "Copy the bot's access token again from Integrations → Bot Accounts (a file may hold only the token)",
    );
  }
  return token;
}

function resolveSecret(table: MattermostTable, ctx: SectionContext): string {
  const path = ["mattermost", "secret"];
  const generate = "Generate one with `openssl rand -hex 32` and set";
  const secret = required(path, ctx, table.secret, `${generate} secret = "<its output>" under [mattermost]`);
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} is too short (${secret.length} characters; at least ${MIN_SECRET_LENGTH} are needed)`,
      `${generate} secret = "<its output>"`,
    );
  }
  if (secret.length > SECRET_MAX) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} is too long (${secret.length} characters; at most ${SECRET_MAX})`,
      `${generate} secret = "<its output>"`,
    );
  }
  return secret;
}

function resolveRecipients(recipients: string[], ctx: SectionContext): string[] {
  return recipients.map((recipient, index) => {
    if (!given(recipient)) {
      throw new ConfigIssue(
        ["mattermost", "recipients", index],
        `${ctx.keyName(["mattermost", "recipients"])}[${index}] is empty`,
        'Remove it, or write a user (name or email) or a channel as "team/channel"',
      );
    }
    const checked = checkRecipient(recipient);
    if (!checked.ok) {
      throw new ConfigIssue(
        ["mattermost", "recipients", index],
        `${ctx.keyName(["mattermost", "recipients"])}[${index}] ${quoted(recipient)} is not a recipient: ${checked.problem}`,
        'Write a user (username or email) or a channel as "team/channel", with the names from its address',
      );
    }
    return checked.value;
  });
}

function resolveChannel(
  table: MattermostTable,
  ctx: SectionContext,
): { team: string | undefined; channel: string | undefined } {
  const teamPath = ["mattermost", "team"];
  const channelPath = ["mattermost", "channel"];
  const where =
    "the names in the channel's address, https://mattermost.example.com/<team>/channels/<channel>";
  if (given(table.team) && given(table.channel)) {
    const team = table.team.trim();
    const channel = table.channel.trim();
    for (const [path, value, problem] of [
      [teamPath, team, teamNameProblem(team)],
      [channelPath, channel, channelNameProblem(channel)],
    ] as const) {
      if (problem) {
        throw new ConfigIssue(
          path,
          `${ctx.keyName(path)} ${quoted(value)} is not usable: ${problem}`,
          `Write ${where}`,
        );
      }
    }
    // Mattermost stores team and channel names in lower case and refuses others in look-ups.
    return { team: team.toLowerCase(), channel: channel.toLowerCase() };
  }
  if (given(table.team) || given(table.channel)) {
    const [set, unset] = given(table.team) ? [teamPath, channelPath] : [channelPath, teamPath];
    throw new ConfigIssue(
      set,
      `${ctx.keyName(set)} is set but ${ctx.keyName(unset)} is not`,
      `Set both team and channel (${where}), or neither and list recipients`,
    );
  }
  // Neither: posts go to recipients, [role_to_recipients] and suggested reviewers' DMs.
  return { team: undefined, channel: undefined };
}

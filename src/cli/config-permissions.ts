/**
 * The config file may hold the bot's token, and `configure > FILE` creates FILE readable by
 * every user (umask 022). `start` warns while that is so.
 */
import { stat } from "node:fs/promises";

/** Permission bits: readable by the file's group, and by every other user. */
const GROUP_READ = 0o040;
const OTHER_READ = 0o004;

export interface ProcessIds {
  /** The daemon's own groups; a file readable by one of them is not readable by strangers. */
  groups: number[];
}

export function processIds(): ProcessIds {
  const groups = [process.getgid?.(), ...(process.getgroups?.() ?? [])].filter(
    (gid): gid is number => gid !== undefined,
  );
  return { groups };
}

/**
 * A warning when the file holding the token may be read by users other than the daemon's: by
 * everyone, or by a group the daemon is not in. `holder` says which file that is: the config
 * (the token written in it) or a token file ([mattermost] token = "/path").
 */
export async function tokenExposureWarning(
  path: string,
  holder: "config" | "token file" = "config",
  ids: ProcessIds = processIds(),
): Promise<string | undefined> {
  let mode: number;
  let gid: number;
  try {
    ({ mode, gid } = await stat(path));
  } catch {
    return undefined; // it was just read; a file gone meanwhile is not this check's business
  }
  const byOthers = (mode & OTHER_READ) !== 0;
  const byGroup = (mode & GROUP_READ) !== 0 && !ids.groups.includes(gid);
  if (!byOthers && !byGroup) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  const who = byOthers ? "every user" : `the members of group ${gid}`;
  const chmod = `Run chmod 600 ${path} (or chmod 640 with the daemon's group)`;
  return holder === "config"
    ? `The config file ${path} holds the Mattermost bot token and is readable by ${who} (mode ${octal}). ` +
        `${chmod}, or set [mattermost] token to the path of a file only the daemon can read`
    : `The token file ${path} ([mattermost] token) is readable by ${who} (mode ${octal}). ${chmod}`;
}

/**
 * Names as Mattermost's model package (server/public/model) defines them: team and channel URL
 * names, usernames, emails. Mattermost stores usernames and emails in lower case (User.PreSave,
 * NormalizeUsername/NormalizeEmail) and answers 400 to a username look-up in any other case, so
 * every name is compared and looked up lower-cased. The bounds are the loosest across the
 * versions we support, so that no name a server accepts is refused here.
 */

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

/** A user name or email the way Mattermost stores it: no leading `@`, lower case. */
export function normalizeUserHandle(name: string): string {
  return name.trim().replace(/^@/, "").toLowerCase();
}

/**
 * [review]: who may decide from Mattermost and how (ARCHITECTURE.md §4): the decision mode, how a
 * Mattermost user maps to a Teleport user, whether approving and denying need a reason, which
 * roles are decided in Teleport only, and the approvers of each role for the state-change mode.
 */

import { ANY_ROLE, type ApproverRule, type ReasonRule } from "../../core/review-policy.js";
import { quoted } from "../../lib/bounded.js";
import { teamNameProblem, usernameProblem } from "../../mattermost/names.js";
import { teleportNameProblem } from "../bounds.js";
import type { ReviewConfig, ReviewMode } from "../config.js";
import { ConfigIssue, type KeyPath } from "../config-issue.js";
import type { RawConfig } from "../schema.js";
import { given, type SectionContext } from "../section-context.js";

type ReviewTable = NonNullable<RawConfig["review"]>;

const MODES: readonly ReviewMode[] = ["auto", "review", "state"];
const REASON_RULES: readonly ReasonRule[] = ["optional", "required"];
/** Teleport trait names are free text but never blank or multi-line. */
const TRAIT_NAME = /^[^\s]+$/;

export function resolveReview(table: ReviewTable, ctx: SectionContext): ReviewConfig {
  return {
    mode: oneOf(table.mode, ["review", "mode"], MODES, "auto", ctx),
    mapping: {
      users: resolveUsers(table, ctx),
      mattermostUserTrait: resolveTrait(table, ctx),
      allowEmailUsernameMatch: table.allow_email_username_match ?? false,
    },
    rules: {
      approveReason: oneOf(table.approve_reason, ["review", "approve_reason"], REASON_RULES, "optional", ctx),
      denyReason: oneOf(table.deny_reason, ["review", "deny_reason"], REASON_RULES, "optional", ctx),
      linkOnlyRoles: resolveLinkOnlyRoles(table, ctx),
      approvers: resolveApprovers(table, ctx),
    },
  };
}

function oneOf<T extends string>(
  value: string | undefined,
  path: KeyPath,
  allowed: readonly T[],
  fallback: T,
  ctx: SectionContext,
): T {
  if (!given(value)) return fallback;
  const normalised = value.trim().toLowerCase();
  const found = allowed.find((candidate) => candidate === normalised);
  if (found === undefined) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(value)} is not one of ${allowed.map((a) => quoted(a)).join(", ")}`,
      `Write ${String(path.at(-1))} = ${quoted(fallback)} or another of those values; the default is ${quoted(fallback)}`,
    );
  }
  return found;
}

function resolveTrait(table: ReviewTable, ctx: SectionContext): string | undefined {
  const path = ["review", "mattermost_user_trait"];
  if (table.mattermost_user_trait === undefined) return undefined;
  const trait = table.mattermost_user_trait.trim();
  if (!TRAIT_NAME.test(trait) || teleportNameProblem(trait)) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(table.mattermost_user_trait)} is not a trait name`,
      'Name the Teleport user trait that holds the Mattermost user id or username, e.g. mattermost_user_trait = "mattermost_user_id", or remove the key',
    );
  }
  return trait;
}

function resolveUsers(table: ReviewTable, ctx: SectionContext): Record<string, string> {
  const users: Record<string, string> = {};
  for (const [mattermostUser, teleportUser] of Object.entries(table.users ?? {})) {
    const path = ["review", "users", mattermostUser];
    if (!given(mattermostUser) || !given(teleportUser)) {
      throw new ConfigIssue(
        path,
        `${ctx.keyName(path)} maps ${quoted(mattermostUser)} to ${quoted(teleportUser)}; neither may be empty`,
        'Write one line per person under [review.users]: "mattermost-username" = "teleport-user"',
      );
    }
    // Mattermost stores usernames in lower case, so "Alice" here is the user alice.
    const username = checked(path, mattermostUser.trim(), usernameProblem, ctx).toLowerCase();
    if (Object.hasOwn(users, username)) {
      throw new ConfigIssue(
        path,
        `${ctx.keyName(path)}: ${quoted(mattermostUser)} is listed twice (Mattermost usernames ignore case)`,
        "Keep one line per Mattermost user under [review.users]",
      );
    }
    users[username] = checked(path, teleportUser.trim(), teleportNameProblem, ctx);
  }
  return users;
}

/** `value` when `problem` finds nothing wrong with it; else a ConfigIssue at `path`. */
function checked(
  path: KeyPath,
  value: string,
  problem: (value: string) => string | undefined,
  ctx: SectionContext,
): string {
  const found = problem(value);
  if (found) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(value)} is not usable: ${found}`,
      "Write the name as the server shows it",
    );
  }
  return value;
}

function resolveLinkOnlyRoles(table: ReviewTable, ctx: SectionContext): string[] | "*" {
  const path = ["review", "link_only_roles"];
  const value = table.link_only_roles;
  if (value === undefined) return [];
  const fix = 'Write link_only_roles = "*" (every role) or a list of role names, e.g. ["prod-admin"]';
  if (typeof value === "string") {
    if (value.trim() === ANY_ROLE) return ANY_ROLE;
    throw new ConfigIssue(path, `${ctx.keyName(path)} ${quoted(value)} is neither "*" nor a list`, fix);
  }
  const roles = value.map((role, index) => {
    if (!given(role)) throw new ConfigIssue([...path, index], `${ctx.keyName(path)}[${index}] is empty`, fix);
    return checked([...path, index], role.trim(), teleportNameProblem, ctx);
  });
  return roles.includes(ANY_ROLE) ? ANY_ROLE : roles;
}

function resolveApprovers(table: ReviewTable, ctx: SectionContext): Record<string, ApproverRule> {
  const approvers: Record<string, ApproverRule> = {};
  for (const [role, entry] of Object.entries(table.approvers ?? {})) {
    const names = (key: "mattermost_users" | "mattermost_teams" | "teleport_users") =>
      (entry[key] ?? []).map((name, index) => {
        const path = ["review", "approvers", role, key, index];
        if (!given(name)) {
          throw new ConfigIssue(
            path,
            `${ctx.keyName(["review", "approvers", role, key])}[${index}] is empty`,
            "Remove it, or write a name",
          );
        }
        const problem = {
          mattermost_users: usernameProblem,
          mattermost_teams: teamNameProblem,
          teleport_users: teleportNameProblem,
        }[key];
        return checked(path, name.trim(), problem, ctx);
      });
    checked(["review", "approvers", role], role, teleportNameProblem, ctx);
    // Mattermost user and team names are lower case on the server; Teleport names keep their case.
    const rule: ApproverRule = {
      mattermostUsers: names("mattermost_users").map((name) => name.toLowerCase()),
      mattermostTeams: names("mattermost_teams").map((name) => name.toLowerCase()),
      teleportUsers: names("teleport_users"),
    };
    if (rule.mattermostUsers.length + rule.mattermostTeams.length + rule.teleportUsers.length === 0) {
      ctx.warn(
        ["review", "approvers", role],
        `[${ctx.keyName(["review", "approvers", role])}] names nobody, so nobody may decide requests for ${role === ANY_ROLE ? "roles without their own entry" : `role ${role}`} in state-change mode`,
      );
    }
    approvers[role] = rule;
  }
  return approvers;
}

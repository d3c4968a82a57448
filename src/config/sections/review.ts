/**
 * [review]: who may decide from Mattermost and how (ARCHITECTURE.md §4): the decision mode, how a
 * Mattermost user maps to a Teleport user, whether approving and denying need a reason, which
 * roles are decided in Teleport only, and the approvers of each role for the state-change mode.
 */

import { ANY_ROLE, type ApproverRule, type ReasonRule } from "../../core/review-policy.js";
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
      `${ctx.keyName(path)} ${JSON.stringify(value)} is not one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
      `Write ${String(path.at(-1))} = ${JSON.stringify(fallback)} or another of those values; the default is ${JSON.stringify(fallback)}`,
    );
  }
  return found;
}

function resolveTrait(table: ReviewTable, ctx: SectionContext): string | undefined {
  const path = ["review", "mattermost_user_trait"];
  if (table.mattermost_user_trait === undefined) return undefined;
  const trait = table.mattermost_user_trait.trim();
  if (!TRAIT_NAME.test(trait)) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${JSON.stringify(table.mattermost_user_trait)} is not a trait name`,
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
        `${ctx.keyName(path)} maps ${JSON.stringify(mattermostUser)} to ${JSON.stringify(teleportUser)}; neither may be empty`,
        'Write one line per person under [review.users]: "mattermost-username" = "teleport-user"',
      );
    }
    users[mattermostUser.trim()] = teleportUser.trim();
  }
  return users;
}

function resolveLinkOnlyRoles(table: ReviewTable, ctx: SectionContext): string[] | "*" {
  const path = ["review", "link_only_roles"];
  const value = table.link_only_roles;
  if (value === undefined) return [];
  const fix = 'Write link_only_roles = "*" (every role) or a list of role names, e.g. ["prod-admin"]';
  if (typeof value === "string") {
    if (value.trim() === ANY_ROLE) return ANY_ROLE;
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${JSON.stringify(value)} is neither "*" nor a list`,
      fix,
    );
  }
  const roles = value.map((role, index) => {
    if (!given(role)) throw new ConfigIssue([...path, index], `${ctx.keyName(path)}[${index}] is empty`, fix);
    return role.trim();
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
        return name.trim();
      });
    const rule: ApproverRule = {
      mattermostUsers: names("mattermost_users"),
      mattermostTeams: names("mattermost_teams"),
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

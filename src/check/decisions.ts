/**
 * The `check` lines that need no server: whether a click in Mattermost can ever decide (a
 * mapping, and approvers where the daemon's policy decides; otherwise posts show the way to
 * decide in Teleport instead of buttons), and where requests are posted when no channel is set.
 */
import type { Config } from "../config/config.js";
import { NOWHERE_TO_POST } from "../config/sections/mattermost.js";
import { ANY_ROLE, hasApprovers, hasMapping } from "../core/review-policy.js";
import type { CheckStatus } from "./checks.js";
import type { PermissionReport } from "./permissions.js";

export interface Verdict {
  status: CheckStatus;
  text: string;
}

const NO_BUTTONS =
  "posts show the link to Teleport and the tsh request review commands instead of Approve and Deny buttons";

/** How decisions from Mattermost would go, given what Teleport showed (undefined: not reached). */
export function decisionsVerdict(
  review: Config["review"],
  found: Pick<PermissionReport, "mode" | "stateBecause" | "unsupported"> | undefined,
): Verdict {
  if (review.rules.linkOnlyRoles === ANY_ROLE) {
    return {
      status: "ok",
      text: `every role is link-only ([review] link_only_roles = "*"): ${NO_BUTTONS}; decisions are made in Teleport`,
    };
  }
  if (!hasMapping(review.mapping)) {
    return {
      status: "fail",
      text:
        `no way to map Mattermost users to Teleport users is configured, so every click would be refused: ${NO_BUTTONS}. ` +
        'To decide from Mattermost, add under [review] a [review.users] table ("mattermost-username" = "teleport-user"), mattermost_user_trait = "<trait>" or allow_email_username_match = true; ' +
        'to decide in Teleport only, set link_only_roles = "*"',
    };
  }
  if (found?.unsupported) return { status: "fail", text: found.unsupported };
  const mode = found?.mode ?? (review.mode === "auto" ? undefined : review.mode);
  const mapped = `users mapped by ${mappingWays(review.mapping).join(", ")}`;
  if (mode === undefined) {
    return { status: "skip", text: "not checked: whether Teleport accepts reviews on behalf of users" };
  }
  if (mode === "review") {
    return {
      status: "ok",
      text: `reviews on behalf of the mapped Teleport user, judged by Teleport with that user's permissions; ${mapped}`,
    };
  }
  const because = found?.stateBecause ? ` (${found.stateBecause})` : "";
  const roles = Object.keys(review.rules.approvers).filter((role) => hasApprovers(review.rules, role));
  if (roles.length === 0) {
    return {
      status: "fail",
      text:
        `decisions are state changes under [review.approvers]${because}, which names nobody, so every click would be refused: ${NO_BUTTONS}. ` +
        'Name who may decide, e.g. [review.approvers."*"] mattermost_users = ["alice"] (or per role)',
    };
  }
  const others = hasApprovers(review.rules, ANY_ROLE)
    ? ""
    : '; requests for other roles get no buttons (no [review.approvers."*"])';
  return {
    status: "ok",
    text: `state changes under [review.approvers]${because}: approvers for ${roles.join(", ")}${others}; ${mapped}`,
  };
}

function mappingWays(mapping: Config["review"]["mapping"]): string[] {
  const ways: string[] = [];
  const users = Object.keys(mapping.users).length;
  if (users > 0) ways.push(`[review.users] (${users})`);
  if (mapping.mattermostUserTrait) ways.push(`trait ${mapping.mattermostUserTrait}`);
  if (mapping.allowEmailUsernameMatch) ways.push("email or username match");
  return ways;
}

/** Where requests go without [mattermost] team and channel; undefined when a channel is set. */
export function postsVerdict(config: Config): Verdict | undefined {
  const { mattermost, roleToRecipients } = config;
  if (mattermost.team && mattermost.channel) return undefined;
  const places: string[] = [];
  if (mattermost.recipients.length > 0) places.push("[mattermost] recipients");
  if (Object.keys(roleToRecipients).length > 0) places.push("[role_to_recipients]");
  if (mattermost.dmSuggestedReviewers) {
    places.push("each request's suggested reviewers who are Mattermost users, by DM");
  }
  if (places.length === 0) return { status: "fail", text: NOWHERE_TO_POST };
  const only =
    places.length === 1 && mattermost.dmSuggestedReviewers
      ? " (tsh request create --reviewers); requests without them are not posted"
      : "";
  return { status: "ok", text: `no team and channel: requests go to ${places.join(", ")}${only}` };
}

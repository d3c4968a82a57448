/**
 * Who may decide a request from Mattermost, and with what reason: the pure rules of
 * ARCHITECTURE.md §4. The app gathers the facts (the clicker's Mattermost account, the Teleport
 * user it maps to, the teams it belongs to); these functions only judge them, so every rule is
 * testable without a server.
 */
import type { Decision } from "./render.js";

export type ReasonRule = "optional" | "required";

/** Who may decide requests for one role when Teleport cannot judge reviews itself. */
export interface ApproverRule {
  /** Mattermost usernames. */
  mattermostUsers: string[];
  /** Mattermost team names (URL names); members of any of them may decide. */
  mattermostTeams: string[];
  /** Teleport users (after mapping). */
  teleportUsers: string[];
}

/** The `*` entry applies to roles without their own. */
export const ANY_ROLE = "*";

export interface ReviewRules {
  approveReason: ReasonRule;
  denyReason: ReasonRule;
  /** Roles decided in Teleport only: a list, or every role. */
  linkOnlyRoles: readonly string[] | "*";
  /** Requested role (or `*`) → who may decide it in state-change mode. Empty = nobody. */
  approvers: Readonly<Record<string, ApproverRule>>;
}

/** Longest reason accepted from the dialog; Teleport cuts reasons at 500 (MATTERMOST-API.md §6). */
export const MAX_DECISION_REASON_RUNES = 500;

export function isLinkOnly(rules: Pick<ReviewRules, "linkOnlyRoles">, roles: readonly string[]): boolean {
  return rules.linkOnlyRoles === "*" || roles.some((role) => rules.linkOnlyRoles.includes(role));
}

/** How decisions reach Teleport, once known: "unknown" until an "auto" daemon has tried a review. */
export type DecisionMode = "review" | "state" | "unknown";

/** At least one way to map a Mattermost user to a Teleport user is configured. */
export function hasMapping(mapping: MappingRules): boolean {
  return (
    Object.keys(mapping.users).length > 0 ||
    mapping.mattermostUserTrait !== undefined ||
    mapping.allowEmailUsernameMatch
  );
}

/** The approver rule of a role (its own, else `*`) names somebody. */
export function hasApprovers(rules: Pick<ReviewRules, "approvers">, role: string): boolean {
  const rule = rules.approvers[role] ?? rules.approvers[ANY_ROLE];
  return (
    rule !== undefined &&
    rule.mattermostUsers.length + rule.mattermostTeams.length + rule.teleportUsers.length > 0
  );
}

/**
 * Whether a click on a request for `roles` could ever be accepted: not link-only, some mapping
 * configured, and, where the daemon's approver policy decides, an approver for every role.
 * Posts show buttons only then; otherwise every click would be refused, so they show the way to
 * decide in Teleport instead.
 */
export function clicksCanWork(
  review: { mapping: MappingRules; rules: ReviewRules },
  mode: DecisionMode,
  roles: readonly string[],
): boolean {
  if (isLinkOnly(review.rules, roles) || !hasMapping(review.mapping)) return false;
  return mode !== "state" || roles.every((role) => hasApprovers(review.rules, role));
}

export type ReasonCheck = { ok: true; reason: string } | { ok: false; error: string };

/** The dialog's reason, trimmed; refused when required and empty, or too long. */
export function checkReason(rules: ReviewRules, action: Decision, submitted: unknown): ReasonCheck {
  const reason = typeof submitted === "string" ? submitted.trim() : "";
  const rule = action === "approve" ? rules.approveReason : rules.denyReason;
  if (rule === "required" && reason === "") {
    return { ok: false, error: `A reason is required to ${action} this request.` };
  }
  if (Array.from(reason).length > MAX_DECISION_REASON_RUNES) {
    return { ok: false, error: `Keep the reason under ${MAX_DECISION_REASON_RUNES} characters.` };
  }
  return { ok: true, reason };
}

/** Whoever asked for access never decides it, whichever way and in whichever mode. */
export function isSelfDecision(requester: string, teleportUser: string): boolean {
  return requester === teleportUser;
}

export interface Decider {
  mattermostUsername: string;
  teleportUser: string;
  /** Those of the teams named in the rules that the user is a member of. */
  teams: readonly string[];
}

export type ApproverVerdict = { allowed: true } | { allowed: false; role: string; why: string };

/** Every requested role must allow the decider (its own rule, else the `*` rule). */
export function approverVerdict(
  rules: Pick<ReviewRules, "approvers">,
  roles: readonly string[],
  decider: Decider,
): ApproverVerdict {
  for (const role of roles) {
    const rule = rules.approvers[role] ?? rules.approvers[ANY_ROLE];
    if (!rule)
      return { allowed: false, role, why: `nobody is configured to decide requests for role ${role}` };
    // Mattermost user and team names ignore case (the server stores them lower-cased).
    const username = decider.mattermostUsername.toLowerCase();
    const teams = decider.teams.map((team) => team.toLowerCase());
    const allowed =
      rule.mattermostUsers.some((name) => name.toLowerCase() === username) ||
      rule.teleportUsers.includes(decider.teleportUser) ||
      rule.mattermostTeams.some((team) => teams.includes(team.toLowerCase()));
    if (!allowed) return { allowed: false, role, why: `you are not an approver for role ${role}` };
  }
  return { allowed: true };
}

/** Every team any approver rule names (the app checks membership only of these). */
export function teamsNamed(rules: Pick<ReviewRules, "approvers">): string[] {
  return [...new Set(Object.values(rules.approvers).flatMap((rule) => rule.mattermostTeams))].sort();
}

/** How a Mattermost user is mapped to a Teleport user (`[review]` keys). */
export interface MappingRules {
  /** Mattermost username → Teleport user (`[review.users]`). */
  users: Readonly<Record<string, string>>;
  /** Teleport user trait that must hold the Mattermost user id or username. */
  mattermostUserTrait: string | undefined;
  /** Teleport user named like the Mattermost email or username, without any other proof. */
  allowEmailUsernameMatch: boolean;
}

export interface MappingCandidate {
  teleportUser: string;
  via: "map" | "trait" | "email" | "username";
}

/**
 * Teleport users to try, in order: the explicit map entry (trusted as the operator wrote it);
 * else the Mattermost username, accepted only if its trait holds the Mattermost user; else, when
 * the operator opted in, the email and then the username, accepted if such a user exists.
 */
export function mappingCandidates(
  rules: MappingRules,
  mattermost: { username: string; email?: string | undefined },
): MappingCandidate[] {
  // [review.users] keys are Mattermost usernames, which ignore case.
  const username = mattermost.username.toLowerCase();
  const key = Object.keys(rules.users).find((name) => name.toLowerCase() === username);
  const mapped = key === undefined ? undefined : rules.users[key];
  if (mapped !== undefined) return [{ teleportUser: mapped, via: "map" }];
  const candidates: MappingCandidate[] = [];
  if (rules.mattermostUserTrait) candidates.push({ teleportUser: mattermost.username, via: "trait" });
  if (rules.allowEmailUsernameMatch) {
    if (mattermost.email) candidates.push({ teleportUser: mattermost.email, via: "email" });
    candidates.push({ teleportUser: mattermost.username, via: "username" });
  }
  return candidates;
}

/** The trait check of a `trait` candidate: the trait names the Mattermost user id or username (any case). */
export function traitMatches(
  traits: Readonly<Record<string, readonly string[]>>,
  trait: string,
  mattermost: { id: string; username: string },
): boolean {
  const values = traits[trait] ?? [];
  const username = mattermost.username.toLowerCase();
  return values.some((value) => value === mattermost.id || value.toLowerCase() === username);
}

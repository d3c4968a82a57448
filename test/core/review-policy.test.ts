import assert from "node:assert/strict";
import { test } from "node:test";
import {
  approverVerdict,
  checkReason,
  clicksCanWork,
  isLinkOnly,
  isSelfDecision,
  MAX_DECISION_REASON_RUNES,
  mappingCandidates,
  type ReviewRules,
  teamsNamed,
  traitMatches,
} from "../../src/core/review-policy.js";

const rules: ReviewRules = {
  approveReason: "optional",
  denyReason: "required",
  linkOnlyRoles: ["prod-admin"],
  approvers: {
    dba: { mattermostUsers: ["bob"], mattermostTeams: [], teleportUsers: ["dave"] },
    "*": { mattermostUsers: [], mattermostTeams: ["security"], teleportUsers: [] },
  },
};
const bob = { mattermostUsername: "bob", teleportUser: "bob", teams: [] };

test("reasons: optional or required per decision, trimmed, bounded", () => {
  assert.deepEqual(checkReason(rules, "approve", undefined), { ok: true, reason: "" });
  assert.deepEqual(checkReason(rules, "approve", "  fine "), { ok: true, reason: "fine" });
  assert.equal(checkReason(rules, "deny", "   ").ok, false);
  assert.equal(checkReason(rules, "deny", 42).ok, false);
  assert.deepEqual(checkReason(rules, "deny", "no"), { ok: true, reason: "no" });
  assert.equal(checkReason(rules, "approve", "x".repeat(MAX_DECISION_REASON_RUNES + 1)).ok, false);
});

test("link-only: any listed role, or every role with *", () => {
  assert.equal(isLinkOnly(rules, ["dba", "prod-admin"]), true);
  assert.equal(isLinkOnly(rules, ["dba"]), false);
  assert.equal(isLinkOnly({ linkOnlyRoles: "*" }, ["dba"]), true);
});

test("buttons only where a click can be accepted: a mapping, and approvers where the policy decides", () => {
  const mapped = { users: { bob: "bob" }, mattermostUserTrait: undefined, allowEmailUsernameMatch: false };
  const unmapped = { users: {}, mattermostUserTrait: undefined, allowEmailUsernameMatch: false };
  const review = { mapping: mapped, rules };
  for (const mode of ["review", "state", "unknown"] as const) {
    assert.equal(clicksCanWork(review, mode, ["dba"]), true, mode);
    assert.equal(clicksCanWork({ mapping: unmapped, rules }, mode, ["dba"]), false, `${mode}, no mapping`);
    assert.equal(clicksCanWork(review, mode, ["prod-admin"]), false, `${mode}, link-only`);
  }
  assert.equal(
    clicksCanWork({ mapping: { ...unmapped, mattermostUserTrait: "mm_id" }, rules }, "review", ["x"]),
    true,
  );
  assert.equal(
    clicksCanWork({ mapping: { ...unmapped, allowEmailUsernameMatch: true }, rules }, "review", ["x"]),
    true,
  );
  // State mode: the daemon's approvers decide, so a role nobody may decide gets no buttons.
  const onlyDba = { ...rules, approvers: { dba: rules.approvers["dba"]! } };
  assert.equal(clicksCanWork({ mapping: mapped, rules: onlyDba }, "state", ["dba"]), true);
  assert.equal(clicksCanWork({ mapping: mapped, rules: onlyDba }, "state", ["dba", "web"]), false);
  assert.equal(clicksCanWork({ mapping: mapped, rules: onlyDba }, "review", ["dba", "web"]), true);
  assert.equal(clicksCanWork({ mapping: mapped, rules: onlyDba }, "unknown", ["web"]), true);
  const nobody = {
    ...rules,
    approvers: { "*": { mattermostUsers: [], mattermostTeams: [], teleportUsers: [] } },
  };
  assert.equal(clicksCanWork({ mapping: mapped, rules: nobody }, "state", ["dba"]), false);
});

test("requesters never decide their own request", () => {
  assert.equal(isSelfDecision("alice", "alice"), true);
  assert.equal(isSelfDecision("alice", "bob"), false);
});

test("approvers: every requested role must allow the decider, by username, Teleport user or team", () => {
  assert.deepEqual(approverVerdict(rules, ["dba"], bob), { allowed: true });
  assert.deepEqual(
    approverVerdict(rules, ["dba"], { ...bob, mattermostUsername: "x", teleportUser: "dave" }),
    {
      allowed: true,
    },
  );
  assert.deepEqual(approverVerdict(rules, ["dba", "web"], bob), {
    allowed: false,
    role: "web",
    why: "you are not an approver for role web",
  });
  assert.deepEqual(approverVerdict(rules, ["dba", "web"], { ...bob, teams: ["security"] }), {
    allowed: true,
  });
  assert.deepEqual(approverVerdict({ approvers: {} }, ["dba"], bob), {
    allowed: false,
    role: "dba",
    why: "nobody is configured to decide requests for role dba",
  });
  assert.deepEqual(teamsNamed(rules), ["security"]);
});

test("mapping: the explicit map wins; the trait needs the same name; email and username only on opt-in", () => {
  const mm = { username: "bob", email: "bob@example.com" };
  const none = { users: {}, mattermostUserTrait: undefined, allowEmailUsernameMatch: false };
  assert.deepEqual(mappingCandidates(none, mm), []);
  assert.deepEqual(
    mappingCandidates({ ...none, users: { bob: "bob.smith" }, allowEmailUsernameMatch: true }, mm),
    [{ teleportUser: "bob.smith", via: "map" }],
  );
  assert.deepEqual(mappingCandidates({ ...none, mattermostUserTrait: "mm" }, mm), [
    { teleportUser: "bob", via: "trait" },
  ]);
  assert.deepEqual(mappingCandidates({ ...none, allowEmailUsernameMatch: true }, mm), [
    { teleportUser: "bob@example.com", via: "email" },
    { teleportUser: "bob", via: "username" },
  ]);
  assert.deepEqual(mappingCandidates({ ...none, users: { toString: "x" } }, { username: "constructor" }), []);
  assert.equal(traitMatches({ mm: ["id1"] }, "mm", { id: "id1", username: "bob" }), true);
  assert.equal(traitMatches({ mm: ["bob"] }, "mm", { id: "id1", username: "bob" }), true);
  assert.equal(traitMatches({ mm: ["eve"] }, "mm", { id: "id1", username: "bob" }), false);
  assert.equal(traitMatches({}, "mm", { id: "id1", username: "bob" }), false);
});

test("Mattermost names match in any case (the server stores them lower-cased); Teleport names keep theirs", () => {
  const upper: ReviewRules = {
    ...rules,
    approvers: { dba: { mattermostUsers: ["Bob"], mattermostTeams: ["Security"], teleportUsers: ["Dave"] } },
  };
  assert.deepEqual(approverVerdict(upper, ["dba"], bob), { allowed: true });
  assert.deepEqual(
    approverVerdict(upper, ["dba"], { ...bob, mattermostUsername: "x", teams: ["security"] }),
    {
      allowed: true,
    },
  );
  assert.equal(
    approverVerdict(upper, ["dba"], { ...bob, mattermostUsername: "x", teleportUser: "dave" }).allowed,
    false,
  );
  const none = { users: {}, mattermostUserTrait: undefined, allowEmailUsernameMatch: false };
  assert.deepEqual(mappingCandidates({ ...none, users: { Bob: "bob.smith" } }, { username: "bob" }), [
    { teleportUser: "bob.smith", via: "map" },
  ]);
  assert.equal(traitMatches({ mm: ["Bob"] }, "mm", { id: "id1", username: "bob" }), true);
  assert.equal(traitMatches({ mm: ["ID1"] }, "mm", { id: "id1", username: "bob" }), false);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import type { AccessRequest } from "../../src/core/access-request.js";
import { type PostContext, planFor, postModelFor, statusFor } from "../../src/core/plan.js";
import { EMPTY_RECORD, formatClaim, type PluginRecord } from "../../src/core/plugin-data.js";

function request(state: AccessRequest["state"], extra: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: "r1",
    user: "alice",
    roles: ["editor"],
    state,
    requestReason: "deploy",
    resolveReason: "",
    created: undefined,
    accessExpires: undefined,
    requestExpires: undefined,
    suggestedReviewers: [],
    reviews: [],
    thresholdApprovals: 0,
    dryRun: false,
    longTerm: false,
    ...extra,
  };
}

const context: PostContext = {
  clusterName: "cluster",
  proxyPublicAddr: "teleport.example.com:3080",
  isLinkOnly: (roles) => roles.includes("prod-admin"),
};

const posted: PluginRecord = {
  ...EMPTY_RECORD,
  posts: [{ channelId: "c", postId: "p" }],
  rendered: "PENDING",
  user: "alice",
  roles: ["editor"],
  reason: "deploy",
};

test("a pending request never posted is posted", () => {
  assert.deepEqual(planFor({ kind: "live", request: request("PENDING") }, EMPTY_RECORD, 0, "me"), {
    kind: "post",
  });
});

test("a claim by another instance is respected until its lease ends, then taken over", () => {
  const claimed = { ...EMPTY_RECORD, claim: formatClaim("other", 1000) };
  const view = { kind: "live" as const, request: request("PENDING") };
  assert.deepEqual(planFor(view, claimed, 999, "me"), { kind: "wait", until: 1000 });
  assert.deepEqual(planFor(view, claimed, 1000, "me"), { kind: "post" });
  assert.deepEqual(planFor(view, { ...EMPTY_RECORD, claim: formatClaim("me", 5000) }, 0, "me"), {
    kind: "post",
  });
});

test("resolved requests update their posts once", () => {
  const view = { kind: "live" as const, request: request("APPROVED") };
  assert.deepEqual(planFor(view, posted, 0, "me"), { kind: "update", status: "APPROVED", reviews: 0 });
  assert.equal(planFor(view, { ...posted, rendered: "APPROVED" }, 0, "me").kind, "none");
});

test("requests resolved before they were posted are not posted", () => {
  assert.equal(planFor({ kind: "live", request: request("DENIED") }, EMPTY_RECORD, 0, "me").kind, "none");
});

test("a deleted pending request shows EXPIRED, a deleted decided one keeps its decision", () => {
  assert.equal(statusFor({ kind: "gone", id: "r1" }, posted), "EXPIRED");
  assert.equal(statusFor({ kind: "gone", id: "r1" }, { ...posted, rendered: "APPROVED" }), "APPROVED");
  assert.deepEqual(planFor({ kind: "gone", id: "r1" }, posted, 0, "me"), {
    kind: "update",
    status: "EXPIRED",
    reviews: 0,
  });
});

test("the post model of a gone request comes from the stored record", () => {
  const model = postModelFor({ kind: "gone", id: "r1" }, posted, context);
  assert.deepEqual(
    [model.user, model.roles, model.reason, model.status],
    ["alice", ["editor"], "deploy", "EXPIRED"],
  );
});

test("the decider is the Mattermost user recorded, else the last matching reviewer", () => {
  const reviewed = request("APPROVED", {
    reviews: [{ author: "carol", roles: [], proposedState: "APPROVED", reason: "fine", created: undefined }],
  });
  assert.equal(postModelFor({ kind: "live", request: reviewed }, posted, context).decidedBy, "carol");
  assert.equal(
    postModelFor({ kind: "live", request: reviewed }, { ...posted, decidedBy: "bob" }, context).decidedBy,
    "bob",
  );
});

test("a new review redraws a pending post; the post shows the review count and reasons", () => {
  const review = {
    author: "carol",
    roles: [],
    proposedState: "APPROVED" as const,
    reason: "ok",
    created: undefined,
  };
  const pending = request("PENDING", { thresholdApprovals: 2, reviews: [review] });
  const view = { kind: "live" as const, request: pending };
  assert.deepEqual(planFor(view, posted, 0, "me"), { kind: "update", status: "PENDING", reviews: 1 });
  assert.equal(planFor(view, { ...posted, renderedReviews: 1 }, 0, "me").kind, "none");
  assert.deepEqual(postModelFor(view, posted, context).reviews, {
    approvals: 1,
    approvalsNeeded: 2,
    reviews: [{ author: "carol", state: "APPROVED", reason: "ok" }],
  });
  assert.equal(
    postModelFor({ kind: "live", request: request("PENDING") }, posted, context).reviews,
    undefined,
  );
});

test("requests for link-only roles get a web UI link and the tsh command instead of buttons", () => {
  const linkOnly = request("PENDING", { id: "3f2c5f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f", roles: ["prod-admin"] });
  assert.deepEqual(postModelFor({ kind: "live", request: linkOnly }, posted, context).linkOnly, {
    webUrl: "https://teleport.example.com:3080/web/requests/3f2c5f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
    command: "tsh request review --approve 3f2c5f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
  });
  const noProxy = { ...context, proxyPublicAddr: "" };
  assert.equal(
    postModelFor({ kind: "live", request: linkOnly }, posted, noProxy).linkOnly?.webUrl,
    undefined,
  );
  assert.equal(
    postModelFor({ kind: "live", request: request("PENDING") }, posted, context).linkOnly,
    undefined,
  );
  const decided = { ...linkOnly, state: "APPROVED" as const };
  assert.equal(postModelFor({ kind: "live", request: decided }, posted, context).linkOnly, undefined);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import type { AccessRequest } from "../../src/core/access-request.js";
import {
  type PlanContext,
  planFor,
  postFingerprint,
  postModelFor,
  remindersDue,
  statusFor,
} from "../../src/core/plan.js";
import { EMPTY_RECORD, formatClaim, type PluginRecord } from "../../src/core/plugin-data.js";
import { renderFingerprint } from "../../src/core/render.js";
import { sampleRequest } from "../support/access-request.js";

function request(state: AccessRequest["state"], extra: Partial<AccessRequest> = {}): AccessRequest {
  return sampleRequest({ state, ...extra });
}

const context = (extra: Partial<PlanContext> = {}): PlanContext => ({
  now: 0,
  instanceId: "me",
  clusterName: "cluster",
  announceOutcome: true,
  ...extra,
});

/** A record whose posts show `view` exactly (as the sync leaves it after an update). */
function postedFor(req: AccessRequest, extra: Partial<PluginRecord> = {}): PluginRecord {
  const base: PluginRecord = {
    ...EMPTY_RECORD,
    posts: [{ channelId: "c", postId: "p" }],
    rendered: "PENDING",
    user: "alice",
    roles: ["editor"],
    reason: "deploy",
    ...extra,
  };
  const model = postModelFor({ kind: "live", request: req }, base, context());
  return { ...base, rendered: model.status, renderHash: renderFingerprint(model), ...extra };
}

test("a pending request never posted is posted", () => {
  assert.deepEqual(planFor({ kind: "live", request: request("PENDING") }, EMPTY_RECORD, context()), {
    kind: "post",
  });
});

test("a claim by another instance is respected until its lease ends, then taken over", () => {
  const claimed = { ...EMPTY_RECORD, claim: formatClaim("other", 1000) };
  const view = { kind: "live" as const, request: request("PENDING") };
  assert.deepEqual(planFor(view, claimed, context({ now: 999 })), { kind: "wait", until: 1000 });
  assert.deepEqual(planFor(view, claimed, context({ now: 1000 })), { kind: "post" });
  assert.deepEqual(planFor(view, { ...EMPTY_RECORD, claim: formatClaim("me", 5000) }, context()), {
    kind: "post",
  });
});

test("posting left half done (claim still set) is continued", () => {
  const req = request("PENDING");
  const half = postedFor(req, { claim: formatClaim("other", 10) });
  assert.deepEqual(planFor({ kind: "live", request: req }, half, context({ now: 11 })), { kind: "post" });
});

test("posts up to date need nothing; a decision updates them, then is announced once", () => {
  const pending = request("PENDING");
  const record = postedFor(pending);
  assert.equal(planFor({ kind: "live", request: pending }, record, context()).kind, "none");
  const approved = request("APPROVED");
  const plan = planFor({ kind: "live", request: approved }, record, context());
  assert.equal(plan.kind, "update");
  const updated = postedFor(approved);
  assert.equal(planFor({ kind: "live", request: approved }, updated, context()).kind, "announce");
  assert.equal(
    planFor({ kind: "live", request: approved }, { ...updated, notified: "APPROVED" }, context()).kind,
    "none",
  );
});

test("requests resolved before they were posted are not posted", () => {
  assert.equal(planFor({ kind: "live", request: request("DENIED") }, EMPTY_RECORD, context()).kind, "none");
});

test("new reviews are relayed before anything else", () => {
  const review = {
    author: "carol",
    roles: [],
    proposedState: "APPROVED" as const,
    reason: "ok",
    created: undefined,
  };
  const req = request("PENDING", { reviews: [review] });
  const plan = planFor({ kind: "live", request: req }, postedFor(request("PENDING")), context());
  assert.deepEqual(plan, { kind: "relay-reviews", reviews: [review], from: 0 });
});

test("a deleted pending request shows EXPIRED, a deleted decided one keeps its decision", () => {
  const record = postedFor(request("PENDING"));
  assert.equal(statusFor({ kind: "gone", id: "r1" }, record), "EXPIRED");
  assert.equal(statusFor({ kind: "gone", id: "r1" }, { ...record, rendered: "APPROVED" }), "APPROVED");
  const plan = planFor({ kind: "gone", id: "r1" }, record, context());
  assert.equal(plan.kind === "update" && plan.status, "EXPIRED");
  const decided = { ...record, rendered: "APPROVED" as const, notified: "APPROVED" as const };
  assert.equal(planFor({ kind: "gone", id: "r1" }, decided, context()).kind, "none");
});

test("the post model of a gone request comes from the stored record", () => {
  const model = postModelFor({ kind: "gone", id: "r1" }, postedFor(request("PENDING")), context());
  assert.deepEqual(
    [model.user, model.roles, model.reason, model.status],
    ["alice", ["editor"], "deploy", "EXPIRED"],
  );
});

test("the decider is the Mattermost user recorded, else the last matching reviewer", () => {
  const reviewed = request("APPROVED", {
    reviews: [{ author: "carol", roles: [], proposedState: "APPROVED", reason: "fine", created: undefined }],
  });
  const record = postedFor(request("PENDING"));
  assert.equal(postModelFor({ kind: "live", request: reviewed }, record, context()).decidedBy, "carol");
  assert.equal(
    postModelFor({ kind: "live", request: reviewed }, { ...record, decidedBy: "bob" }, context()).decidedBy,
    "bob",
  );
});

test("reminders fall due after `after` and then every `every`", () => {
  const policy = { afterMs: 30, everyMs: 60 };
  assert.deepEqual(remindersDue(0, 29, policy), { due: 0, next: 30 });
  assert.deepEqual(remindersDue(0, 30, policy), { due: 1, next: 90 });
  assert.deepEqual(remindersDue(0, 150, policy), { due: 3, next: 210 });
  assert.deepEqual(remindersDue(0, 1000, { afterMs: 30, everyMs: 0 }), {
    due: 1,
    next: Number.POSITIVE_INFINITY,
  });
  const req = request("PENDING");
  const record = postedFor(req);
  const ctx = context({ now: 100, reminders: policy });
  assert.deepEqual(planFor({ kind: "live", request: req }, record, ctx), { kind: "remind", due: 2 });
  assert.deepEqual(planFor({ kind: "live", request: req }, { ...record, reminders: 2 }, ctx), {
    kind: "none",
    why: "posts up to date",
    nextCheckAt: 150,
  });
});

const linkContext = context({
  proxyAddr: "teleport.example.com:3080",
  isLinkOnly: (roles) => roles.includes("prod-admin"),
});

test("a new review redraws a pending post; the post shows the review count and reasons", () => {
  const review = {
    author: "carol",
    roles: [],
    proposedState: "APPROVED" as const,
    reason: "ok",
    created: undefined,
  };
  const before = request("PENDING", { thresholdApprovals: 2 });
  const after = request("PENDING", { thresholdApprovals: 2, reviews: [review] });
  const view = { kind: "live" as const, request: after };
  const record = { ...postedFor(before), reviewsRelayed: 1 };
  const plan = planFor(view, record, context());
  assert.equal(plan.kind, "update");
  assert.deepEqual(postModelFor(view, record, context()).reviews, {
    approvals: 1,
    approvalsNeeded: 2,
    reviews: [{ author: "carol", state: "APPROVED", reason: "ok" }],
  });
  assert.equal(
    postModelFor({ kind: "live", request: request("PENDING") }, record, context()).reviews,
    undefined,
  );
});

test("requests for link-only roles get a web UI link and the tsh commands instead of buttons", () => {
  const record = postedFor(request("PENDING"));
  const linkOnly = request("PENDING", { id: "3f2c5f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f", roles: ["prod-admin"] });
  assert.deepEqual(postModelFor({ kind: "live", request: linkOnly }, record, linkContext).linkOnly, {
    webUrl: "https://teleport.example.com:3080/web/requests/3f2c5f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
    commands: {
      approve: "tsh request review --approve 3f2c5f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
      deny: "tsh request review --deny 3f2c5f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
    },
  });
  const noProxy = { ...linkContext, proxyAddr: "" };
  assert.equal(
    postModelFor({ kind: "live", request: linkOnly }, record, noProxy).linkOnly?.webUrl,
    undefined,
  );
  assert.equal(
    postModelFor({ kind: "live", request: request("PENDING") }, record, linkContext).linkOnly,
    undefined,
  );
  const decided = { ...linkOnly, state: "APPROVED" as const };
  assert.equal(postModelFor({ kind: "live", request: decided }, record, linkContext).linkOnly, undefined);
});

test("posts that could not be redrawn (lagging) are redrawn alone, unless that already failed in this run", () => {
  const req = request("APPROVED");
  const view = { kind: "live" as const, request: req };
  const record = postedFor(req, { lagging: ["c"] });
  const plan = planFor(view, record, context());
  assert.equal(plan.kind, "update");
  assert.equal(plan.kind === "update" && plan.targets, "lagging");
  assert.notEqual(planFor(view, record, context({ deferLagging: true })).kind, "update");
  // A decided request gone from Teleport keeps what it showed, but its lagging post catches up.
  const gone = planFor({ kind: "gone", id: "r1" }, { ...record, notified: "APPROVED" }, context());
  assert.equal(gone.kind === "update" && gone.targets, "lagging");
});

test("recipients not posted to yet are posted to while pending, unless that already failed in this run", () => {
  const req = request("PENDING");
  const view = { kind: "live" as const, request: req };
  const record = postedFor(req, { unposted: ["acme/security"] });
  assert.deepEqual(planFor(view, record, context()), { kind: "post" });
  assert.equal(planFor(view, record, context({ deferPosting: true })).kind, "none");
  // Once decided, nobody needs a new post.
  assert.notEqual(planFor({ kind: "live", request: request("DENIED") }, record, context()).kind, "post");
});

test("a pending post's fingerprint covers the key that signed its buttons; a decided post's does not", () => {
  const pending = request("PENDING");
  const model = postModelFor({ kind: "live", request: pending }, postedFor(pending), context());
  assert.notEqual(postFingerprint(model, "k1"), postFingerprint(model, "k2"));
  const signed = postedFor(pending, { renderHash: postFingerprint(model, "k1"), keyId: "k1" });
  const view = { kind: "live" as const, request: pending };
  assert.equal(planFor(view, signed, context({ keyId: "k1" })).kind, "none");
  // A new secret: redraw with buttons it signs.
  assert.equal(planFor(view, signed, context({ keyId: "k2" })).kind, "update");
  // Another running instance's key: its posts are not redrawn only to re-sign them.
  assert.equal(planFor(view, signed, context({ keyId: "k2", foreignKeyIds: new Set(["k1"]) })).kind, "none");
  const decided = postModelFor({ kind: "live", request: request("APPROVED") }, signed, context());
  assert.equal(postFingerprint(decided, "k1"), postFingerprint(decided, "k2"));
});

/**
 * What to do about a request: given what Teleport says now (the live request, or that it is
 * gone) and what this plugin stored, decide the next effect. Pure; the app carries it out and,
 * when a compare-and-swap fails, reads again and asks again.
 */
import type { AccessRequest } from "./access-request.js";
import { type PluginRecord, parseClaim } from "./plugin-data.js";
import type { PostModel, PostStatus } from "./render.js";

export type RequestView = { kind: "live"; request: AccessRequest } | { kind: "gone"; id: string };

export type Plan =
  /** Pending and never posted: claim it, post, record the posts. */
  | { kind: "post" }
  /** Another instance holds an unexpired claim: look again when it lapses. */
  | { kind: "wait"; until: number }
  /** Posts exist and show another status: update them. */
  | { kind: "update"; status: PostStatus }
  | { kind: "none"; why: string };

const FINAL: ReadonlySet<PostStatus> = new Set(["APPROVED", "DENIED", "PROMOTED"]);

/**
 * The status the posts should show. A deleted request that was pending shows EXPIRED; one
 * whose posts already show a decision keeps it (Teleport deletes approved requests when they
 * expire too, and "approved" stays the truth about what happened).
 */
export function statusFor(view: RequestView, record: PluginRecord): PostStatus {
  if (view.kind === "gone")
    return record.rendered && FINAL.has(record.rendered) ? record.rendered : "EXPIRED";
  switch (view.request.state) {
    case "APPROVED":
      return "APPROVED";
    case "DENIED":
      return "DENIED";
    case "PROMOTED":
      return "PROMOTED";
    default:
      return "PENDING";
  }
}

export function planFor(view: RequestView, record: PluginRecord, now: number, instanceId: string): Plan {
  const status = statusFor(view, record);
  if (record.posts.length > 0) {
    return record.rendered === status
      ? { kind: "none", why: "posts up to date" }
      : { kind: "update", status };
  }
  if (status !== "PENDING") return { kind: "none", why: "never posted and no longer pending" };
  const claim = parseClaim(record.claim);
  if (claim && claim.instanceId !== instanceId && claim.leaseEndsAt > now) {
    return { kind: "wait", until: claim.leaseEndsAt };
  }
  return { kind: "post" };
}

/** The post content for a request, falling back on stored facts once it is gone. */
export function postModelFor(view: RequestView, record: PluginRecord, clusterName: string): PostModel {
  const status = statusFor(view, record);
  const decidedBy = record.decidedBy || undefined;
  if (view.kind === "gone") {
    return {
      requestId: view.id,
      user: record.user,
      roles: record.roles,
      reason: record.reason,
      status,
      ...(decidedBy ? { decidedBy } : {}),
      ...(record.decisionReason ? { resolveReason: record.decisionReason } : {}),
      clusterName,
    };
  }
  const request = view.request;
  const reviewer = [...request.reviews].reverse().find((review) => review.proposedState === request.state);
  const decider = decidedBy ?? reviewer?.author;
  const resolveReason = request.resolveReason || record.decisionReason;
  return {
    requestId: request.id,
    user: request.user,
    roles: request.roles,
    reason: request.requestReason,
    status,
    ...(decider ? { decidedBy: decider } : {}),
    ...(resolveReason ? { resolveReason } : {}),
    clusterName,
    ...(request.accessExpires ? { accessExpires: request.accessExpires } : {}),
    ...(request.requestExpires ? { requestExpires: request.requestExpires } : {}),
  };
}

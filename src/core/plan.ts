/**
 * What to do about a request: given what Teleport says now (the live request, or that it is
 * gone) and what this plugin stored, decide the next effect. Pure; the app carries it out and,
 * when a compare-and-swap fails, reads again and asks again.
 */
import type { AccessRequest } from "./access-request.js";
import { type PluginRecord, parseClaim } from "./plugin-data.js";
import { linkOnlyFor, type PostModel, type PostStatus, type ReviewSummary } from "./render.js";

export type RequestView = { kind: "live"; request: AccessRequest } | { kind: "gone"; id: string };

export type Plan =
  /** Pending and never posted: claim it, post, record the posts. */
  | { kind: "post" }
  /** Another instance holds an unexpired claim: look again when it lapses. */
  | { kind: "wait"; until: number }
  /** Posts exist and show another status or another number of reviews: update them. */
  | { kind: "update"; status: PostStatus; reviews: number }
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

/** Reviews a pending post shows; what is stored is kept once the request is gone. */
export function reviewCountFor(view: RequestView, record: PluginRecord): number {
  return view.kind === "live" ? view.request.reviews.length : record.renderedReviews;
}

export function planFor(view: RequestView, record: PluginRecord, now: number, instanceId: string): Plan {
  const status = statusFor(view, record);
  const reviews = reviewCountFor(view, record);
  if (record.posts.length > 0) {
    return record.rendered === status && record.renderedReviews === reviews
      ? { kind: "none", why: "posts up to date" }
      : { kind: "update", status, reviews };
  }
  if (status !== "PENDING") return { kind: "none", why: "never posted and no longer pending" };
  const claim = parseClaim(record.claim);
  if (claim && claim.instanceId !== instanceId && claim.leaseEndsAt > now) {
    return { kind: "wait", until: claim.leaseEndsAt };
  }
  return { kind: "post" };
}

/** What a post shows besides the request: the cluster and how its requests are decided. */
export interface PostContext {
  clusterName: string;
  /** Ping's ProxyPublicAddr ("" before 6.2): where link-only posts point. */
  proxyPublicAddr: string;
  /** True when requests for these roles are decided in Teleport only (`[review] link_only_roles`). */
  isLinkOnly(roles: readonly string[]): boolean;
}

function reviewSummary(request: AccessRequest): ReviewSummary | undefined {
  const decisive = request.reviews.filter(
    (review): review is typeof review & { proposedState: "APPROVED" | "DENIED" } =>
      review.proposedState === "APPROVED" || review.proposedState === "DENIED",
  );
  if (request.thresholdApprovals <= 1 && decisive.length === 0) return undefined;
  return {
    approvals: decisive.filter((review) => review.proposedState === "APPROVED").length,
    approvalsNeeded: Math.max(1, request.thresholdApprovals),
    reviews: decisive.map((review) => ({
      author: review.author,
      state: review.proposedState,
      reason: review.reason,
    })),
  };
}

/** The post content for a request, falling back on stored facts once it is gone. */
export function postModelFor(view: RequestView, record: PluginRecord, context: PostContext): PostModel {
  const { clusterName } = context;
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
  const reviews = status === "PENDING" ? reviewSummary(request) : undefined;
  const linkOnly =
    status === "PENDING" && context.isLinkOnly(request.roles)
      ? linkOnlyFor(request.id, context.proxyPublicAddr)
      : undefined;
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
    ...(reviews ? { reviews } : {}),
    ...(linkOnly ? { linkOnly } : {}),
  };
}

/**
 * What to do about a request: given what Teleport says now (the live request, or that it is
 * gone) and what this plugin stored, decide the next effect. Pure; the app carries it out,
 * records the result by compare-and-swap, and asks again until nothing is left to do (or, when
 * a compare-and-swap fails, reads again and asks again).
 */
import type { AccessRequest, AccessReview } from "./access-request.js";
import { keptResources, type PluginRecord, parseClaim } from "./plugin-data.js";
import {
  linkOnlyFor,
  type PostModel,
  type PostStatus,
  type ReviewSummary,
  renderFingerprint,
} from "./render.js";

export type RequestView = { kind: "live"; request: AccessRequest } | { kind: "gone"; id: string };

export interface ReminderPolicy {
  /** First reminder this long after the request was created. */
  afterMs: number;
  /** Then one every this long while it stays pending (0 = only one). */
  everyMs: number;
}

export interface PlanContext {
  now: number;
  instanceId: string;
  clusterName: string;
  /** Public address of the Teleport proxy (from Ping), for links to the web UI. */
  proxyAddr?: string;
  /**
   * True when requests for these roles are decided in Teleport only: `[review] link_only_roles`,
   * or no click could be accepted (no mapping, no approvers where the daemon's policy decides).
   */
  isLinkOnly?: (roles: readonly string[]) => boolean;
  reminders?: ReminderPolicy;
  /** Post the final outcome in the threads and DM the requester. */
  announceOutcome?: boolean;
  /** Id of the secret that signs buttons now (core/sign keyIdOf); part of a pending post's fingerprint. */
  keyId?: string;
  /** Keys another running instance signs with: its posts are not redrawn only to re-sign them. */
  foreignKeyIds?: ReadonlySet<string>;
  /** Posting to the remaining recipients failed earlier in this run: do the other steps. */
  deferPosting?: boolean;
  /** Redrawing the lagging posts failed earlier in this run: do the other steps. */
  deferLagging?: boolean;
}

export type Plan =
  /** Pending and not (fully) posted: claim it, post to every recipient, record the posts. */
  | { kind: "post" }
  /** Another instance holds an unexpired claim: look again when it lapses. */
  | { kind: "wait"; until: number }
  /** Reviews not yet posted as thread replies. */
  | { kind: "relay-reviews"; reviews: AccessReview[]; from: number }
  /**
   * The posts show something else than the request now: redraw them (`all`), or only those
   * that could not be redrawn before (`lagging`: the bot had lost access to their channel).
   */
  | {
      kind: "update";
      status: PostStatus;
      model: PostModel;
      fingerprint: string;
      targets: "all" | "lagging";
    }
  /** A final decision not yet announced in the threads and to the requester. */
  | { kind: "announce"; status: PostStatus; model: PostModel }
  /** A reminder is due in the threads of a request still pending. */
  | { kind: "remind"; due: number }
  | { kind: "none"; why: string; nextCheckAt?: number };

const FINAL: ReadonlySet<PostStatus> = new Set(["APPROVED", "DENIED", "PROMOTED"]);

export function isFinal(status: PostStatus | ""): boolean {
  return status !== "" && FINAL.has(status);
}

/**
 * The status the posts should show. A deleted request that was pending shows EXPIRED; one
 * whose posts already show a decision keeps it (Teleport deletes approved requests when they
 * expire too, and "approved" stays the truth about what happened).
 */
export function statusFor(view: RequestView, record: PluginRecord): PostStatus {
  if (view.kind === "gone") return isFinal(record.rendered) ? (record.rendered as PostStatus) : "EXPIRED";
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

/** How many reminders are due by `now` for a request created at `created`. */
export function remindersDue(
  created: number,
  now: number,
  policy: ReminderPolicy,
): { due: number; next: number } {
  const first = created + policy.afterMs;
  if (now < first) return { due: 0, next: first };
  if (policy.everyMs <= 0) return { due: 1, next: Number.POSITIVE_INFINITY };
  const due = 1 + Math.floor((now - first) / policy.everyMs);
  return { due, next: first + due * policy.everyMs };
}

/** True when a post of this model carries Approve/Deny buttons. */
export function hasButtons(model: PostModel): boolean {
  return model.status === "PENDING" && !model.linkOnly && !model.longTerm;
}

/**
 * What a post shows, as stored in `renderHash`: the model's fingerprint and, when it has
 * buttons, the id of the key that signed them, so that a new secret redraws pending posts.
 */
export function postFingerprint(model: PostModel, keyId: string): string {
  const drawn = renderFingerprint(model);
  return hasButtons(model) && keyId ? `${drawn}:${keyId}` : drawn;
}

export function planFor(view: RequestView, record: PluginRecord, context: PlanContext): Plan {
  const status = statusFor(view, record);
  const postingUnfinished =
    record.posts.length === 0 || record.claim !== "" || (record.unposted.length > 0 && !context.deferPosting);
  if (postingUnfinished && status === "PENDING") {
    const claim = parseClaim(record.claim);
    if (claim && claim.instanceId !== context.instanceId && claim.leaseEndsAt > context.now) {
      return { kind: "wait", until: claim.leaseEndsAt };
    }
    return { kind: "post" };
  }
  if (record.posts.length === 0) return { kind: "none", why: "never posted and no longer pending" };

  if (view.kind === "live" && view.request.reviews.length > record.reviewsRelayed) {
    return { kind: "relay-reviews", reviews: view.request.reviews, from: record.reviewsRelayed };
  }
  // Once decided and gone, the posts keep what they showed: the request's details are gone too.
  // Posts this daemon never drew (adopted from an earlier version) are redrawn all the same.
  const keepAsIs = view.kind === "gone" && isFinal(record.rendered) && record.renderHash !== "";
  const model = postModelFor(view, record, context);
  // Posts another instance signed with its own key stay as they are unless their content changed.
  const signer =
    record.keyId && context.foreignKeyIds?.has(record.keyId) ? record.keyId : (context.keyId ?? "");
  const fingerprint = postFingerprint(model, signer);
  if (!keepAsIs && (record.rendered !== status || record.renderHash !== fingerprint || record.claim !== "")) {
    return { kind: "update", status, model, fingerprint, targets: "all" };
  }
  if (record.lagging.length > 0 && !context.deferLagging) {
    return {
      kind: "update",
      status: keepAsIs ? (record.rendered as PostStatus) : status,
      model,
      fingerprint: record.renderHash,
      targets: "lagging",
    };
  }
  if (context.announceOutcome && isFinal(status) && record.notified !== status) {
    return { kind: "announce", status, model };
  }
  if (view.kind === "live" && status === "PENDING" && context.reminders && view.request.created) {
    const { due, next } = remindersDue(view.request.created.getTime(), context.now, context.reminders);
    if (due > record.reminders) return { kind: "remind", due };
    return { kind: "none", why: "posts up to date", nextCheckAt: next };
  }
  return { kind: "none", why: "posts up to date" };
}

/** The reviews a pending post shows, for requests that need several approvals or have reviews. */
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
export function postModelFor(
  view: RequestView,
  record: PluginRecord,
  context: Pick<PlanContext, "clusterName" | "proxyAddr" | "isLinkOnly">,
): PostModel {
  const status = statusFor(view, record);
  const decidedBy = record.decidedBy || undefined;
  const common = {
    status,
    clusterName: context.clusterName,
    ...(context.proxyAddr ? { proxyAddr: context.proxyAddr } : {}),
  };
  if (view.kind === "gone") {
    return {
      ...common,
      requestId: view.id,
      user: record.user,
      roles: record.roles,
      reason: record.reason,
      ...(record.resources.total ? { resources: record.resources } : {}),
      ...(decidedBy ? { decidedBy } : {}),
      ...(record.decisionReason ? { resolveReason: record.decisionReason } : {}),
    };
  }
  const request = view.request;
  const reviewer = [...request.reviews].reverse().find((review) => review.proposedState === request.state);
  const decider = decidedBy ?? reviewer?.author;
  const resolveReason = request.resolveReason || record.decisionReason;
  const reviews = status === "PENDING" ? reviewSummary(request) : undefined;
  const linkOnly =
    status === "PENDING" && context.isLinkOnly?.(request.roles)
      ? linkOnlyFor(request.id, context.proxyAddr ?? "")
      : undefined;
  return {
    ...common,
    requestId: request.id,
    user: request.user,
    roles: request.roles,
    reason: request.requestReason,
    ...(decider && status !== "PENDING" ? { decidedBy: decider } : {}),
    ...(resolveReason ? { resolveReason } : {}),
    ...(request.suggestedReviewers.length ? { suggestedReviewers: request.suggestedReviewers } : {}),
    ...(request.resources.length ? { resources: keptResources(request.resources) } : {}),
    ...(request.accessExpires ? { accessExpires: request.accessExpires } : {}),
    ...(request.requestExpires ? { requestExpires: request.requestExpires } : {}),
    ...(request.longTerm ? { longTerm: true } : {}),
    ...(reviews ? { reviews } : {}),
    ...(linkOnly ? { linkOnly } : {}),
  };
}

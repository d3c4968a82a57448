/**
 * Applying a decision made in Mattermost to Teleport (ARCHITECTURE.md §4): checks what can be
 * checked without writing (the post belongs to the request, it is pending, not link-only, the
 * decider is not the requester, the approver policy where the daemon enforces it), then either
 * submits an access review authored by the mapped Teleport user, so Teleport judges it, or sets
 * the request's state under the daemon's approver policy. Every refusal leaves Teleport
 * untouched and carries a message for the person who clicked.
 */
import type { Logger } from "pino";
import type { ReviewConfig } from "../config/config.js";
import type { AccessRequest } from "../core/access-request.js";
import {
  encodeRecord,
  expectRecord,
  formatClaim,
  PLUGIN_NAME,
  type PluginRecord,
  parseClaim,
} from "../core/plugin-data.js";
import type { Decision } from "../core/render.js";
import { approverVerdict, isLinkOnly, isSelfDecision } from "../core/review-policy.js";
import { AppError, isAppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { TeleportClient } from "../teleport/client.js";
import { isAtLeast } from "../teleport/version.js";
import type { RequestSync } from "./request-sync.js";
import type { Identification, Reviewer } from "./reviewers.js";

/** SubmitAccessReview exists from 6.2 on (TELEPORT-WIRE.md §1). */
export const MIN_REVIEW_SERVER_VERSION = "6.2.0";
/** How a server without reviews on behalf of a user answers one (TELEPORT-WIRE.md §9 "older servers"). */
const ON_BEHALF_UNSUPPORTED = "cannot submit reviews on behalf of";
/** Teleport's answer when the author already reviewed (stand-in and 6.2 wording, TELEPORT-WIRE.md §9). */
const ALREADY_REVIEWED = /already reviewed/i;
/** 18.x answer to a review of a resolved request (TELEPORT-WIRE.md §9). */
const ALREADY_RESOLVED = "the access request has been already";
/** A state-change lock outlives any single decision; a crashed holder frees it after this. */
export const DECISION_LOCK_MS = 30_000;
/** Plugin-data rounds while taking or releasing the decision lock. */
const MAX_LOCK_ROUNDS = 8;

export type Refusal = { ok: false; reason: string; message: string };
export type Outcome = { ok: true; request: AccessRequest; message: string } | Refusal;
export type Target = { ok: true; request: AccessRequest; record: PluginRecord } | Refusal;
export type TargetAndReviewer =
  | { ok: true; target: Extract<Target, { ok: true }>; reviewer: Reviewer }
  | Refusal;

/** Whether decisions go out as reviews on behalf of the decider, or as state changes. */
export type OnBehalfSupport = "supported" | "unsupported" | "unknown";

export interface DecisionsDeps {
  teleport: TeleportClient;
  sync: Pick<RequestSync, "readRecord">;
  review: ReviewConfig;
  serverVersion: string;
  clock: Clock;
  logger: Logger;
}

const PAST_TENSE: Record<Decision, string> = { approve: "approved", deny: "denied" };

function refuse(reason: string, message: string): Refusal {
  return { ok: false, reason, message };
}

export class Decisions {
  private onBehalf: OnBehalfSupport;

  constructor(private readonly deps: DecisionsDeps) {
    const hasReviews = isAtLeast(deps.serverVersion, MIN_REVIEW_SERVER_VERSION);
    if (deps.review.mode === "review" && !hasReviews) {
      throw new AppError(
        "TELEPORT_VERSION",
        `[review] mode = "review" needs Teleport ${MIN_REVIEW_SERVER_VERSION} or newer; this server is ${deps.serverVersion}`,
        { fix: 'Set [review] mode = "state" (or "auto"), or upgrade Teleport' },
      );
    }
    this.onBehalf =
      deps.review.mode === "state" || !hasReviews
        ? "unsupported"
        : deps.review.mode === "review"
          ? "supported"
          : "unknown";
  }

  /** "review" or "state" once known; "unknown" until the first decision on an "auto" server. */
  get mode(): "review" | "state" | "unknown" {
    return this.onBehalf === "supported" ? "review" : this.onBehalf === "unsupported" ? "state" : "unknown";
  }

  /** True when the daemon's approver policy may be what decides (it names nobody by default). */
  get mayUsePolicy(): boolean {
    return this.onBehalf !== "supported";
  }

  /** The request behind a post, still pending, and the post one recorded for it. */
  async target(requestId: string, postId: string, channelId: string): Promise<Target> {
    // Both reads at once: a click waits for the slower one, not for both in turn.
    const requesting = this.deps.teleport.getRequest(requestId);
    requesting.catch(() => {}); // awaited below unless the post check refuses first
    const record = await this.deps.sync.readRecord(requestId);
    if (!record.posts.some((post) => post.postId === postId && post.channelId === channelId)) {
      return refuse("wrong_post", "This button does not belong to this post; nothing was changed.");
    }
    const request = await requesting;
    if (!request) {
      return refuse("gone", `Request ${requestId} no longer exists in Teleport; nothing was changed.`);
    }
    if (request.state !== "PENDING") {
      return refuse(
        "not_pending",
        `Request ${requestId} is already ${request.state.toLowerCase()}; nothing was changed.`,
      );
    }
    return { ok: true, request, record };
  }

  /**
   * The request a click or dialog is about and who made it, read at once (a Mattermost user
   * lookup does not wait for Teleport's answers); refused as {@link target} refuses first.
   */
  async targetAndReviewer(
    ids: { requestId: string; postId: string; channelId: string },
    identify: () => Promise<Identification>,
  ): Promise<TargetAndReviewer> {
    const identifying = identify();
    identifying.catch(() => {}); // awaited below unless the target refuses first
    const target = await this.target(ids.requestId, ids.postId, ids.channelId);
    if (!target.ok) return target;
    const identified = await identifying;
    return identified.ok ? { ok: true, target, reviewer: identified.reviewer } : identified;
  }

  /** What can be refused before anything is written. */
  precheck(request: AccessRequest, reviewer: Reviewer, action: Decision): Refusal | undefined {
    if (isLinkOnly(this.deps.review.rules, request.roles)) {
      return refuse(
        "link_only",
        `Requests for ${request.roles.join(", ")} are decided in Teleport only: tsh request review --${action === "approve" ? "approve" : "deny"} ${request.id}`,
      );
    }
    if (isSelfDecision(request.user, reviewer.teleportUser)) {
      return refuse(
        "self",
        `You (Teleport user ${reviewer.teleportUser}) asked for this access, so you cannot ${action} it; someone else has to.`,
      );
    }
    if (this.onBehalf === "unsupported") return this.policyCheck(request, reviewer);
    return undefined;
  }

  private policyCheck(request: AccessRequest, reviewer: Reviewer): Refusal | undefined {
    const verdict = approverVerdict(this.deps.review.rules, request.roles, {
      mattermostUsername: reviewer.mattermost.username,
      teleportUser: reviewer.teleportUser,
      teams: reviewer.teams,
    });
    if (verdict.allowed) return undefined;
    return refuse(
      "not_approver",
      `You may not decide this request: ${verdict.why}. Approvers are listed under [review.approvers] in the plugin's configuration.`,
    );
  }

  /** Applies the decision; `lockId` is unique per dialog (its nonce). */
  async decide(
    target: { request: AccessRequest; record: PluginRecord },
    reviewer: Reviewer,
    action: Decision,
    reason: string,
    lockId: string,
  ): Promise<Outcome> {
    const refused = this.precheck(target.request, reviewer, action);
    if (refused) return refused;
    if (this.onBehalf !== "unsupported") {
      const reviewed = await this.submitReview(target.request, reviewer, action, reason);
      if (reviewed !== "unsupported") return reviewed;
      const policy = this.policyCheck(target.request, reviewer);
      if (policy) return policy;
    }
    return this.setState(target.request, reviewer, action, reason, lockId);
  }

  private async submitReview(
    request: AccessRequest,
    reviewer: Reviewer,
    action: Decision,
    reason: string,
  ): Promise<Outcome | "unsupported"> {
    const log = this.deps.logger.child({ request_id: request.id, teleport_user: reviewer.teleportUser });
    try {
      const updated = await this.deps.teleport.submitReview(request.id, {
        author: reviewer.teleportUser,
        state: action === "approve" ? "APPROVED" : "DENIED",
        reason,
        onBehalfOfAuthor: true,
      });
      this.onBehalf = "supported";
      log.info({ state: updated.state }, `Submitted a review for the Mattermost user: ${action}`);
      const approvals = updated.reviews.filter((review) => review.proposedState === "APPROVED").length;
      const message =
        updated.state === "PENDING"
          ? `Your review (${action}) was recorded; ${approvals} of ${Math.max(1, updated.thresholdApprovals)} approvals so far.`
          : `You ${PAST_TENSE[action]} request ${request.id}.`;
      return { ok: true, request: updated, message };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (isAppError(error, "NOT_FOUND")) {
        return refuse("gone", `Request ${request.id} no longer exists in Teleport; nothing was changed.`);
      }
      if (text.includes(ON_BEHALF_UNSUPPORTED)) {
        if (this.deps.review.mode === "review") {
          return refuse(
            "review_unsupported",
            "Teleport does not accept reviews from this plugin on behalf of users. Its role needs review_requests.submit_for_users (preset role access-plugin-with-review).",
          );
        }
        this.onBehalf = "unsupported";
        log.warn(
          "Teleport does not accept reviews on behalf of users from this plugin; deciding with state changes under [review.approvers] from now on",
        );
        return "unsupported";
      }
      if (ALREADY_REVIEWED.test(text)) {
        return refuse("already_reviewed", "You have already reviewed this request; nothing was changed.");
      }
      if (text.includes(ALREADY_RESOLVED)) {
        return refuse("not_pending", `Request ${request.id} is already resolved; nothing was changed.`);
      }
      if (isAppError(error, "TELEPORT") && error.details["grpcCode"] === 7) {
        return refuse("teleport_denied", `Teleport did not accept your review: ${teleportText(text)}`);
      }
      throw error;
    }
  }

  private async setState(
    request: AccessRequest,
    reviewer: Reviewer,
    action: Decision,
    reason: string,
    lockId: string,
  ): Promise<Outcome> {
    const decider = reviewer.mattermost.username;
    const refused = await this.lock(request.id, lockId, decider, reason);
    if (refused) return refused;
    const state = action === "approve" ? "APPROVED" : "DENIED";
    try {
      await this.deps.teleport.setRequestState(request.id, state, {
        delegator: `mattermost:${decider}`,
        reason,
      });
    } catch (error) {
      await this.unlock(request.id, lockId).catch((unlockError: unknown) =>
        this.deps.logger.warn(
          { err: AppError.from(unlockError).describe() },
          "Could not release the decision lock",
        ),
      );
      if (isAppError(error, "NOT_FOUND")) {
        return refuse("gone", `Request ${request.id} no longer exists in Teleport; nothing was changed.`);
      }
      throw error;
    }
    this.deps.logger.info(
      { request_id: request.id, mm_user_name: decider, teleport_user: reviewer.teleportUser, state },
      `Mattermost user ${PAST_TENSE[action]} the request`,
    );
    return {
      ok: true,
      request: { ...request, state, resolveReason: reason },
      message: `You ${PAST_TENSE[action]} request ${request.id}.`,
    };
  }

  /**
   * Takes the request's decision lock by compare-and-swap and records who decides and why, so
   * the post names them as soon as the watcher sees the change.
   */
  private async lock(
    requestId: string,
    lockId: string,
    decider: string,
    reason: string,
  ): Promise<Refusal | undefined> {
    for (let round = 0; round < MAX_LOCK_ROUNDS; round++) {
      const record = await this.deps.sync.readRecord(requestId);
      const held = parseClaim(record.decisionLock);
      if (held && held.instanceId !== lockId && held.leaseEndsAt > this.deps.clock.now()) {
        return refuse(
          "being_decided",
          `Someone else (${record.decidedBy || "another approver"}) is deciding this request right now; nothing was changed.`,
        );
      }
      const locked: PluginRecord = {
        ...record,
        decidedBy: decider,
        decisionReason: reason,
        decisionLock: formatClaim(lockId, this.deps.clock.now() + DECISION_LOCK_MS),
      };
      try {
        await this.deps.teleport.updatePluginData(
          requestId,
          PLUGIN_NAME,
          encodeRecord(locked),
          expectRecord(record),
        );
        return undefined;
      } catch (error) {
        if (!isAppError(error, "CONFLICT")) throw error;
      }
    }
    return refuse("busy", "This request is changing right now; try again in a moment.");
  }

  private async unlock(requestId: string, lockId: string): Promise<void> {
    for (let round = 0; round < MAX_LOCK_ROUNDS; round++) {
      const record = await this.deps.sync.readRecord(requestId);
      if (parseClaim(record.decisionLock)?.instanceId !== lockId) return;
      const released: PluginRecord = { ...record, decisionLock: "", decidedBy: "", decisionReason: "" };
      try {
        await this.deps.teleport.updatePluginData(
          requestId,
          PLUGIN_NAME,
          encodeRecord(released),
          expectRecord(record),
        );
        return;
      } catch (error) {
        if (!isAppError(error, "CONFLICT")) throw error;
      }
    }
  }
}

/** Teleport's own words, without our "Teleport denied <method>:" prefix. */
function teleportText(message: string): string {
  return message.replace(/^Teleport denied \w+: /, "");
}

/**
 * What a dialog submission does: it carries the decision and its reason. The submission is
 * unauthenticated like every Mattermost callback (MATTERMOST-API.md §5, §10), so it counts only
 * with a valid, unexpired signed `state` whose user is the submitting `user_id`; each dialog
 * decides at most once (its nonce is spent on the first attempt that reaches Teleport), and all
 * click-time checks are made again, because time has passed since the click.
 */
import type { Logger } from "pino";
import type { ReviewConfig } from "../config/config.js";
import type { AccessRequest } from "../core/access-request.js";
import { MATTERMOST_ID } from "../core/ids.js";
import { checkReason } from "../core/review-policy.js";
import { verifyDialogState } from "../core/sign.js";
import { AppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { DialogReply, DialogSubmission } from "../mattermost/types.js";
import { REASON_ELEMENT } from "./click-handler.js";
import type { Decisions } from "./decisions.js";
import type { Reviewers } from "./reviewers.js";

/** Spent nonces remembered; far more dialogs than can be open within their lifetime. */
const MAX_SPENT_NONCES = 50_000;

export interface DialogDeps {
  decisions: Decisions;
  reviewers: Reviewers;
  review: ReviewConfig;
  secret: string;
  clock: Clock;
  logger: Logger;
  /** A decision was applied: bring the posts up to date now. */
  onDecided: (request: AccessRequest) => void;
  onRefused?: (reason: string) => void;
}

export class DialogHandler {
  /** Nonce → expiry of dialogs already submitted. */
  private readonly spent = new Map<string, number>();

  constructor(private readonly deps: DialogDeps) {}

  async handle(body: unknown, signal: AbortSignal): Promise<DialogReply> {
    const submission = parseSubmission(body);
    if (!submission)
      return this.refuse("malformed", "This submission could not be read; nothing was changed.");
    if (submission.cancelled) {
      this.deps.logger.debug({ mm_user_id: submission.user_id }, "Decision dialog cancelled");
      return {};
    }
    const now = this.deps.clock.now();
    const checked = verifyDialogState(this.deps.secret, submission.state, now);
    if (!checked.ok) {
      return checked.reason === "expired"
        ? this.refuse(
            "state_expired",
            "This dialog has expired. Close it and click the button on the post again.",
          )
        : this.refuse(`state_${checked.reason}`, "This dialog is not valid; nothing was changed.");
    }
    const state = checked.state;
    const log = this.deps.logger.child({
      request_id: state.req_id,
      mm_user_id: submission.user_id,
      action: state.action,
    });
    if (submission.user_id !== state.user_id || submission.channel_id !== state.channel_id) {
      return this.refuse(
        "state_other_user",
        "This dialog was opened for someone else; nothing was changed.",
        log,
      );
    }
    const reason = checkReason(this.deps.review.rules, state.action, submission.submission?.[REASON_ELEMENT]);
    if (!reason.ok) {
      log.info("Dialog submitted without a valid reason");
      return { errors: { [REASON_ELEMENT]: reason.error } };
    }
    if (this.spent.has(state.nonce)) {
      return this.refuse("replayed", "This dialog was already submitted; nothing more was changed.", log);
    }
    this.spend(state.nonce, state.exp, now);
    try {
      const found = await this.deps.decisions.targetAndReviewer(
        { requestId: state.req_id, postId: state.post_id, channelId: state.channel_id },
        () => this.deps.reviewers.identify(submission.user_id, signal),
      );
      if (!found.ok) return this.refuse(found.reason, found.message, log);
      const outcome = await this.deps.decisions.decide(
        found.target,
        found.reviewer,
        state.action,
        reason.reason,
        state.nonce,
      );
      if (!outcome.ok) return this.refuse(outcome.reason, outcome.message, log);
      this.deps.onDecided(outcome.request);
      return {};
    } catch (error) {
      // Nothing was decided: the same dialog may try again.
      this.spent.delete(state.nonce);
      log.error({ err: AppError.from(error).describe() }, "Dialog submission failed");
      return { error: "Something went wrong applying your decision; nothing was changed. Try again." };
    }
  }

  private spend(nonce: string, expiresAt: number, now: number): void {
    if (this.spent.size >= MAX_SPENT_NONCES) {
      for (const [key, expiry] of this.spent) if (expiry < now) this.spent.delete(key);
      // Still full of live dialogs: forget the oldest; Teleport's own checks (pending, one
      // review per author, the decision lock) still stop a second decision.
      if (this.spent.size >= MAX_SPENT_NONCES) this.spent.delete(this.spent.keys().next().value as string);
    }
    this.spent.set(nonce, expiresAt);
  }

  private refuse(reason: string, message: string, log?: Logger): DialogReply {
    (log ?? this.deps.logger).warn({ reason }, "Refused a dialog submission");
    this.deps.onRefused?.(reason);
    return { error: message };
  }
}

function parseSubmission(body: unknown): DialogSubmission | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const candidate = body as Record<string, unknown>;
  const text = (key: string) => (typeof candidate[key] === "string" ? (candidate[key] as string) : undefined);
  const userId = text("user_id");
  const channelId = text("channel_id");
  if (candidate["type"] !== "dialog_submission" || !userId || !MATTERMOST_ID.test(userId)) return undefined;
  if (!channelId || !MATTERMOST_ID.test(channelId)) return undefined;
  const values = candidate["submission"];
  return {
    type: "dialog_submission",
    callback_id: text("callback_id") ?? "",
    state: text("state") ?? "",
    user_id: userId,
    channel_id: channelId,
    team_id: text("team_id") ?? "",
    submission: typeof values === "object" && values !== null ? (values as Record<string, unknown>) : null,
    cancelled: candidate["cancelled"] === true,
  };
}

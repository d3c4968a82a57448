/**
 * What a button click does: it opens a dialog that asks for a reason; the decision itself comes
 * with the dialog's submission (dialog-handler.ts). The click callback is unauthenticated
 * (MATTERMOST-API.md §4), so nothing in it is trusted until the signed context checks out, the
 * post is the one recorded for the request, and the trigger id names the same user as the body.
 * Checks that can fail early (not pending, link-only, unmapped clicker, own request, not an
 * approver) are answered at once with an ephemeral message; nothing here writes to Teleport.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { ReviewConfig } from "../config/config.js";
import type { AccessRequest } from "../core/access-request.js";
import { escapeCode, escapeText, MAX_NAME_RUNES } from "../core/escape.js";
import { MATTERMOST_ID } from "../core/ids.js";
import type { Decision } from "../core/render.js";
import { MAX_DECISION_REASON_RUNES } from "../core/review-policy.js";
import { signDialogState, triggerIdUser, verifyActionContext } from "../core/sign.js";
import { isAppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { PostActionCallback, PostActionResponse } from "../mattermost/types.js";
import type { Decisions } from "./decisions.js";
import type { Reviewers } from "./reviewers.js";

/** Mattermost's answer to a trigger id used too late (MATTERMOST-API.md §5, §10). */
const TRIGGER_EXPIRED_ID = "interactive_message.decode_trigger_id.expired";
/** Dialog title limit, in runes (MATTERMOST-API.md §5). */
const DIALOG_TITLE_MAX_RUNES = 24;
/** Not secret: Mattermost echoes it; the signed `state` carries what matters. */
export const DIALOG_CALLBACK_ID = "teleport_access_request";
/** Name of the dialog's reason element, and the key of per-field errors. */
export const REASON_ELEMENT = "reason";
/** Reason shown in the dialog's introduction. */
const INTRO_REASON_RUNES = 200;

const TITLES: Record<Decision, string> = { approve: "Approve access request", deny: "Deny access request" };
const SUBMIT_LABELS: Record<Decision, string> = { approve: "Approve", deny: "Deny" };

export interface ClickDeps {
  decisions: Decisions;
  reviewers: Reviewers;
  mattermost: MattermostClient;
  review: ReviewConfig;
  secret: string;
  /** Absolute URL of the dialog submission route. */
  dialogUrl: string;
  clock: Clock;
  logger: Logger;
  newNonce?: () => string;
  /** Called for each refused click, for metrics. */
  onRefused?: (reason: string) => void;
}

export class ClickHandler {
  constructor(private readonly deps: ClickDeps) {}

  async handle(body: unknown, signal: AbortSignal): Promise<PostActionResponse> {
    const callback = parseCallback(body);
    if (!callback) return this.refuse("malformed", "This click could not be read.");
    const log = this.deps.logger.child({ mm_user_id: callback.user_id, mm_post_id: callback.post_id });
    const verified = verifyActionContext(this.deps.secret, callback.context);
    if (!verified.ok) {
      return this.refuse(
        verified.reason,
        "This button's signature is not valid, so nothing was changed. If the plugin's secret was changed, the posts made before it can no longer be used.",
        log,
      );
    }
    const { action, req_id: requestId, channel_id: channelId } = verified.context;
    const requestLog = log.child({ request_id: requestId, action });
    if (callback.channel_id !== channelId) {
      return this.refuse("wrong_channel", "This button does not belong to this channel.", requestLog);
    }
    if (triggerIdUser(callback.trigger_id) !== callback.user_id) {
      return this.refuse(
        "wrong_trigger",
        "This click did not come from Mattermost for you; nothing was changed.",
        requestLog,
      );
    }
    const found = await this.deps.decisions.targetAndReviewer(
      { requestId, postId: callback.post_id, channelId },
      () => this.deps.reviewers.identify(callback.user_id, signal),
    );
    if (!found.ok) return this.refuse(found.reason, found.message, requestLog);
    const { target, reviewer } = found;
    const refused = this.deps.decisions.precheck(target.request, reviewer, action);
    if (refused) return this.refuse(refused.reason, refused.message, requestLog);

    const state = signDialogState(
      this.deps.secret,
      {
        action,
        requestId,
        postId: callback.post_id,
        channelId,
        userId: callback.user_id,
        nonce: (this.deps.newNonce ?? randomUUID)(),
      },
      this.deps.clock.now(),
    );
    try {
      await this.deps.mattermost.openDialog(
        {
          triggerId: callback.trigger_id,
          url: this.deps.dialogUrl,
          dialog: this.dialog(target.request, action, state),
        },
        signal,
      );
    } catch (error) {
      if (isAppError(error) && error.details["id"] === TRIGGER_EXPIRED_ID) {
        return this.refuse(
          "trigger_expired",
          "Mattermost gave too little time to open the dialog. Click the button again to open the dialog again.",
          requestLog,
        );
      }
      requestLog.error(
        { err: isAppError(error) ? error.describe() : String(error) },
        "Could not open the dialog",
      );
      return this.refuse(
        "dialog_failed",
        "The dialog could not be opened; nothing was changed. Try again.",
        requestLog,
      );
    }
    requestLog.info({ mm_user_name: reviewer.mattermost.username }, "Opened the decision dialog");
    return {};
  }

  private dialog(request: AccessRequest, action: Decision, state: string): Record<string, unknown> {
    const rule =
      action === "approve" ? this.deps.review.rules.approveReason : this.deps.review.rules.denyReason;
    const roles = request.roles.map((role) => escapeCode(role, MAX_NAME_RUNES)).join(", ");
    const reason = request.requestReason.trim()
      ? `Their reason: ${escapeText(request.requestReason, INTRO_REASON_RUNES)}`
      : "They gave no reason.";
    return {
      callback_id: DIALOG_CALLBACK_ID,
      title: TITLES[action].slice(0, DIALOG_TITLE_MAX_RUNES),
      introduction_text: `${escapeCode(request.user)} asks for ${roles} (request ${escapeCode(request.id)}). ${reason}`,
      elements: [
        {
          display_name: "Reason",
          name: REASON_ELEMENT,
          type: "textarea",
          optional: rule !== "required",
          max_length: MAX_DECISION_REASON_RUNES,
          placeholder: rule === "required" ? "Required: why?" : "Optional: why?",
        },
      ],
      submit_label: SUBMIT_LABELS[action],
      notify_on_cancel: true,
      state,
    };
  }

  private refuse(reason: string, message: string, log?: Logger): PostActionResponse {
    (log ?? this.deps.logger).warn({ reason }, "Refused a button click");
    this.deps.onRefused?.(reason);
    return { ephemeral_text: message };
  }
}

function parseCallback(body: unknown): (PostActionCallback & { trigger_id: string }) | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const candidate = body as Record<string, unknown>;
  const { user_id, channel_id, post_id, context, trigger_id } = candidate;
  if (typeof user_id !== "string" || !MATTERMOST_ID.test(user_id)) return undefined;
  if (typeof channel_id !== "string" || !MATTERMOST_ID.test(channel_id)) return undefined;
  if (typeof post_id !== "string" || !MATTERMOST_ID.test(post_id)) return undefined;
  if (typeof context !== "object" || context === null) return undefined;
  return {
    user_id,
    channel_id,
    post_id,
    context: context as Record<string, unknown>,
    trigger_id: typeof trigger_id === "string" ? trigger_id : "",
  };
}

/**
 * The short messages posted besides the request's main post: review replies and the outcome in
 * its threads, reminders, and the requester's direct message. Requester- and reviewer-controlled
 * text goes through the same escaping as the post (core/escape).
 */
import type { AccessReview } from "./access-request.js";
import { escapeCode, escapeText } from "./escape.js";
import { type PostModel, requestUrl, STATUS_LABELS } from "./render.js";

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

/** A review as a thread reply: who, what, why. */
export function reviewReply(review: AccessReview): string {
  const verdict =
    review.proposedState === "APPROVED"
      ? "✅ approved"
      : review.proposedState === "DENIED"
        ? "❌ denied"
        : "reviewed";
  const reason = review.reason.trim() ? `: ${escapeText(review.reason)}` : "";
  return `${escapeCode(review.author)} ${verdict} the request${reason}`;
}

/** The final outcome as a thread reply. */
export function outcomeReply(model: PostModel): string {
  const by = model.decidedBy ? ` by ${escapeCode(model.decidedBy)}` : "";
  const reason = model.resolveReason?.trim() ? `. Reason: ${escapeText(model.resolveReason)}` : "";
  return `**${STATUS_LABELS[model.status]}**${by}${reason}`;
}

/** A reminder in the thread of a request still pending. */
export function reminderReply(model: PostModel, pendingForMs: number): string {
  const url = requestUrl(model);
  return `⏰ This request from ${escapeCode(model.user)} has been pending for ${formatDuration(pendingForMs)} and still needs a decision${url ? ` ([open in Teleport](${url}))` : ""}.`;
}

/** The requester's direct message once their request is decided. */
export function requesterNotice(model: PostModel): string {
  const roles = model.roles.map((role) => escapeCode(role)).join(", ");
  const by = model.decidedBy ? ` by ${escapeCode(model.decidedBy)}` : "";
  const reason = model.resolveReason?.trim() ? `\nReason: ${escapeText(model.resolveReason)}` : "";
  return `Your access request ${escapeCode(model.requestId)} for ${roles} was **${STATUS_LABELS[model.status]}**${by}.${reason}`;
}

/**
 * What a post says: an access request (or what is stored of it once Teleport deleted it) and
 * its status become one Mattermost message attachment, with Approve / Deny buttons while the
 * request is pending. Pure: the same input always gives the same bytes, so an update can be
 * skipped when the stored rendering already matches.
 */
import { createHash } from "node:crypto";
import type { MessageAttachment, PostAction, PostProps } from "../mattermost/types.js";
import { escapeCode, escapeText, MAX_NAME_RUNES } from "./escape.js";

export type PostStatus = "PENDING" | "APPROVED" | "DENIED" | "EXPIRED" | "PROMOTED";

export const STATUS_LABELS: Record<PostStatus, string> = {
  PENDING: "⏳ PENDING",
  APPROVED: "✅ APPROVED",
  DENIED: "❌ DENIED",
  EXPIRED: "⌛ EXPIRED",
  PROMOTED: "🔼 PROMOTED",
};

const STATUS_COLORS: Record<PostStatus, string> = {
  PENDING: "#f2a007",
  APPROVED: "#2eb886",
  DENIED: "#d24b4e",
  EXPIRED: "#8a8d91",
  PROMOTED: "#3d7bd9",
};

/**
 * Post prop naming the request, so an instance taking over a lapsed claim can find a post made
 * just before a crash (ARCHITECTURE.md §3). Mattermost keeps custom props and never shows them.
 */
export const REQUEST_ID_PROP = "teleport_request_id";

/** Action ids must match [A-Za-z0-9]+ or every click 404s (MATTERMOST-API.md §4). */
export const APPROVE_ACTION_ID = "approve";
export const DENY_ACTION_ID = "deny";

export type Decision = "approve" | "deny";

/** Suggested reviewers listed in a post; the requester chooses them, so the list is bounded. */
export const MAX_LISTED_REVIEWERS = 10;

/** Everything a post shows. Built from a live request or from stored plugin data. */
export interface PostModel {
  requestId: string;
  user: string;
  roles: string[];
  reason: string;
  status: PostStatus;
  /** Mattermost user (or Teleport reviewer) who decided, when known. */
  decidedBy?: string;
  resolveReason?: string;
  clusterName?: string;
  /** Teleport proxy's public address, for a link to the request in the web UI. */
  proxyAddr?: string;
  suggestedReviewers?: string[];
  accessExpires?: Date;
  requestExpires?: Date;
  /** Long-term requests are reviewed in Teleport only (no buttons). */
  longTerm?: boolean;
}

/** The web UI page of a request, when the proxy address is known (ORIGINAL-PLUGIN.md §3). */
export function requestUrl(model: Pick<PostModel, "proxyAddr" | "requestId">): string | undefined {
  if (!model.proxyAddr) return undefined;
  const base = /^https?:\/\//.test(model.proxyAddr) ? model.proxyAddr : `https://${model.proxyAddr}`;
  return `${base.replace(/\/+$/, "")}/web/requests/${encodeURIComponent(model.requestId)}`;
}

/** A short fingerprint of what a post shows: equal models draw equal posts. */
export function renderFingerprint(model: PostModel): string {
  return createHash("sha256").update(JSON.stringify(model)).digest("base64url").slice(0, 22);
}

export interface ButtonContext {
  /** Absolute URL of the callback route Mattermost calls on a click. */
  url: string;
  /** Signed integration context per decision. */
  context: Record<Decision, Record<string, unknown>>;
}

export interface RenderedPost {
  message: string;
  props: PostProps;
}

function formatTime(date: Date | undefined): string | undefined {
  return date
    ? date
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z")
        .replace("T", " ")
    : undefined;
}

/** Renders the post. Buttons are shown only when pending and a button context is given. */
export function renderPost(model: PostModel, buttons?: ButtonContext): RenderedPost {
  const fields = [
    { title: "User", value: escapeCode(model.user), short: true },
    {
      title: "Roles",
      value: model.roles.map((role) => escapeCode(role, MAX_NAME_RUNES)).join(", ") || "—",
      short: true,
    },
    { title: "Request ID", value: escapeCode(model.requestId), short: true },
    { title: "Status", value: STATUS_LABELS[model.status], short: true },
    {
      title: "Reason",
      value: model.reason.trim() ? escapeText(model.reason) : "_(none given)_",
      short: false,
    },
  ];
  if (model.suggestedReviewers?.length) {
    fields.push({
      title: "Suggested reviewers",
      value: model.suggestedReviewers
        .slice(0, MAX_LISTED_REVIEWERS)
        .map((name) => escapeCode(name))
        .join(", "),
      short: true,
    });
  }
  if (model.status === "PENDING") {
    const expires = formatTime(model.requestExpires);
    if (expires) fields.push({ title: "Request expires", value: expires, short: true });
  }
  if (model.status === "PENDING" || model.status === "APPROVED") {
    const until = formatTime(model.accessExpires);
    if (until) fields.push({ title: "Access until", value: until, short: true });
  }
  if (model.decidedBy && model.status !== "PENDING" && model.status !== "EXPIRED") {
    fields.push({ title: "Decided by", value: escapeCode(model.decidedBy), short: true });
  }
  if (model.resolveReason?.trim()) {
    fields.push({ title: "Resolution reason", value: escapeText(model.resolveReason), short: false });
  }
  if (model.status === "PENDING") {
    const id = model.requestId.replace(/[^A-Za-z0-9-]/g, "");
    const url = requestUrl(model);
    fields.push({
      title: "Review in Teleport",
      value: `${url ? `[Open in the web UI](${url}) or ` : ""}\`tsh request review --approve ${id}\``,
      short: false,
    });
  }
  const actions: PostAction[] =
    model.status === "PENDING" && buttons && !model.longTerm
      ? [
          {
            id: APPROVE_ACTION_ID,
            name: "Approve",
            type: "button",
            style: "good",
            integration: { url: buttons.url, context: buttons.context.approve },
          },
          {
            id: DENY_ACTION_ID,
            name: "Deny",
            type: "button",
            style: "danger",
            integration: { url: buttons.url, context: buttons.context.deny },
          },
        ]
      : [];
  const attachment: MessageAttachment = {
    fallback: `Access request ${model.requestId}: ${model.status}`,
    color: STATUS_COLORS[model.status],
    title: "Teleport access request",
    fields,
    ...(model.clusterName ? { footer: `Teleport cluster ${model.clusterName}` } : {}),
    ...(actions.length ? { actions } : {}),
  };
  return { message: "", props: { attachments: [attachment], [REQUEST_ID_PROP]: model.requestId } };
}

/**
 * What a post says: an access request (or what is stored of it once Teleport deleted it) and
 * its status become one Mattermost message attachment, with Approve / Deny buttons while the
 * request is pending. Pure: the same input always gives the same bytes, so an update can be
 * skipped when the stored rendering already matches.
 */
import { hash } from "node:crypto";
import type { MessageAttachment, PostAction, PostProps } from "../mattermost/types.js";
import type { RequestedResource } from "./access-request.js";
import {
  escapeCode,
  escapeText,
  goJsonTextRuneLength,
  MAX_NAME_RUNES,
  MAX_REASON_RUNES,
  runeLength,
  truncateRunes,
} from "./escape.js";

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

/** Action ids must match [A-Za-z0-9]+ or every click 404s (MATTERMOST-API.md §4). */
export const APPROVE_ACTION_ID = "approve";
export const DENY_ACTION_ID = "deny";

export type Decision = "approve" | "deny";

/**
 * Post prop naming the request, so an instance taking over a lapsed claim can find a post made
 * just before a crash (ARCHITECTURE.md §3). Mattermost keeps custom props and never shows them.
 */
export const REQUEST_ID_PROP = "teleport_request_id";

/** Suggested reviewers listed in a post; the requester chooses them, so the list is bounded. */
export const MAX_LISTED_REVIEWERS = 10;

/** `MaxPostSize` in runes on current schemas (MATTERMOST-API.md §6). */
export const MAX_MESSAGE_RUNES = 16_383;
/**
 * Limit of the JSON of `props` on Mattermost ≤ 5.x, in runes (MATTERMOST-API.md §6; 800,000 since
 * 6.0). Posts are kept under the 5.x limit so they work on every supported server.
 */
export const MAX_PROPS_RUNES = 8_000;
/** Roles listed in a post; the rest are counted ("and 12 more"). */
export const MAX_ROLES_SHOWN = 10;
/** Resources listed in a post (a resource request can name hundreds); the rest are counted. */
export const MAX_RESOURCES_SHOWN = 10;
/** Reviews listed on a pending post. */
export const MAX_REVIEWS_SHOWN = 10;
/** Shortest a reason is cut to while fitting a post into MAX_PROPS_RUNES. */
const MIN_FITTED_REASON_RUNES = 40;

export interface ReviewSummary {
  /** Approvals given so far and approvals the request needs (its threshold). */
  approvals: number;
  approvalsNeeded: number;
  reviews: Array<{ author: string; state: "APPROVED" | "DENIED"; reason: string }>;
}

/** A request decided only in Teleport: no buttons, a link and the commands instead. */
export interface LinkOnly {
  /** Teleport web UI page of the request, when the proxy address is known. */
  webUrl?: string;
  /** The `tsh` commands that approve and deny it. */
  commands: Record<Decision, string>;
}

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
  accessExpires?: Date;
  requestExpires?: Date;
  /** Reviews so far, for requests that need more than one approval or have reviews. */
  reviews?: ReviewSummary;
  /** Decided in Teleport only (`[review] link_only_roles`, or no click could be accepted). */
  linkOnly?: LinkOnly;
  /** Ping's ProxyPublicAddr, for a link to the request in the web UI. */
  proxyAddr?: string;
  suggestedReviewers?: string[];
  /**
   * What a resource access request asks for: the first resources (at most MAX_RESOURCES_SHOWN
   * are kept once Teleport deleted the request) and how many there are in all.
   */
  resources?: { shown: RequestedResource[]; total: number };
  /** Long-term requests are reviewed in Teleport only (no buttons). */
  longTerm?: boolean;
}

/** The web UI page of a request, when the proxy address is known (ORIGINAL-PLUGIN.md §3). */
export function requestUrl(model: Pick<PostModel, "proxyAddr" | "requestId">): string | undefined {
  return linkOnlyFor(model.requestId, model.proxyAddr ?? "").webUrl;
}

/**
 * A short fingerprint of what a post shows: equal models draw equal posts. One-shot `hash`
 * (no Hash object per call): catch-up fingerprints every request it lists.
 */
export function renderFingerprint(model: PostModel): string {
  return hash("sha256", JSON.stringify(model), "base64url").slice(0, 22);
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
  /** `props` as JSON: measured against MAX_PROPS_RUNES here, sent as is (not serialised twice). */
  propsJson: string;
}

function formatTime(date: Date | undefined): string | undefined {
  return date
    ? date
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z")
        .replace("T", " ")
    : undefined;
}

/**
 * Renders the post. Buttons are shown only when pending, not link-only (which includes requests
 * no click could decide) and a button context is given. Free text (reasons) is shortened until the props fit MAX_PROPS_RUNES, each cut marked.
 */
export function renderPost(model: PostModel, buttons?: ButtonContext): RenderedPost {
  let reasonRunes = MAX_REASON_RUNES;
  let rendered = renderWithReasonLimit(model, buttons, reasonRunes);
  let propsJson = JSON.stringify(rendered.props);
  while (goJsonTextRuneLength(propsJson) > MAX_PROPS_RUNES && reasonRunes > MIN_FITTED_REASON_RUNES) {
    reasonRunes = Math.max(MIN_FITTED_REASON_RUNES, Math.floor(reasonRunes / 2));
    rendered = renderWithReasonLimit(model, buttons, reasonRunes);
    propsJson = JSON.stringify(rendered.props);
  }
  const message =
    runeLength(rendered.message) > MAX_MESSAGE_RUNES
      ? truncateRunes(rendered.message, MAX_MESSAGE_RUNES)
      : rendered.message;
  return { message, props: rendered.props, propsJson };
}

function rolesText(roles: string[]): string {
  if (roles.length === 0) return "—";
  const shown = roles.slice(0, MAX_ROLES_SHOWN).map((role) => escapeCode(role, MAX_NAME_RUNES));
  const rest = roles.length - shown.length;
  return shown.join(", ") + (rest > 0 ? ` and ${rest} more` : "");
}

/** `node \`web-1\``, `namespace \`prod/default\``, one per line, capped like the roles. */
function resourcesText(resources: { shown: RequestedResource[]; total: number }): string {
  const lines = resources.shown.slice(0, MAX_RESOURCES_SHOWN).map((resource) => {
    const name = resource.subResource ? `${resource.name}/${resource.subResource}` : resource.name;
    return `${escapeText(resource.kind, MAX_NAME_RUNES)} ${escapeCode(name, MAX_NAME_RUNES)}`;
  });
  const rest = resources.total - lines.length;
  return lines.join("\n") + (rest > 0 ? `\nand ${rest} more` : "");
}

const REVIEW_MARKS = { APPROVED: "✅", DENIED: "❌" } as const;

function reviewsText(summary: ReviewSummary, reasonRunes: number): string {
  const lines = [`${summary.approvals} of ${summary.approvalsNeeded} approvals`];
  for (const review of summary.reviews.slice(-MAX_REVIEWS_SHOWN)) {
    const reason = review.reason.trim() ? `: ${escapeText(review.reason, reasonRunes)}` : "";
    lines.push(`${REVIEW_MARKS[review.state]} ${escapeCode(review.author)}${reason}`);
  }
  return lines.join("\n");
}

function renderWithReasonLimit(model: PostModel, buttons: ButtonContext | undefined, reasonRunes: number) {
  const fields = [
    { title: "User", value: escapeCode(model.user), short: true },
    { title: "Roles", value: rolesText(model.roles), short: true },
    { title: "Request ID", value: escapeCode(model.requestId), short: true },
    { title: "Status", value: STATUS_LABELS[model.status], short: true },
    ...(model.resources?.total
      ? [{ title: "Resources", value: resourcesText(model.resources), short: false }]
      : []),
    {
      title: "Reason",
      value: model.reason.trim() ? escapeText(model.reason, reasonRunes) : "_(none given)_",
      short: false,
    },
  ];
  const pending = model.status === "PENDING";
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
  if (pending || model.status === "APPROVED") {
    const until = formatTime(model.accessExpires);
    if (until) fields.push({ title: "Access until", value: until, short: true });
  }
  if (pending) {
    const expires = formatTime(model.requestExpires);
    if (expires) fields.push({ title: "Request expires", value: expires, short: true });
    if (model.reviews) {
      fields.push({ title: "Reviews", value: reviewsText(model.reviews, reasonRunes), short: false });
    }
    // Link-only posts are decided there; the others can be, too.
    const teleport = model.linkOnly ?? linkOnlyFor(model.requestId, model.proxyAddr ?? "");
    const lines = teleport.webUrl ? [`[Open the request in Teleport](${teleport.webUrl})`] : [];
    for (const command of [teleport.commands.approve, teleport.commands.deny]) {
      lines.push(escapeCode(command, MAX_NAME_RUNES * 2));
    }
    fields.push({
      title: model.linkOnly ? "Decide in Teleport" : "Review in Teleport",
      value: lines.join("\n"),
      short: false,
    });
  }
  if (model.decidedBy && !pending && model.status !== "EXPIRED") {
    fields.push({ title: "Decided by", value: escapeCode(model.decidedBy), short: true });
  }
  if (model.resolveReason?.trim()) {
    fields.push({
      title: "Resolution reason",
      value: escapeText(model.resolveReason, reasonRunes),
      short: false,
    });
  }
  const actions: PostAction[] =
    pending && buttons && !model.linkOnly && !model.longTerm
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
    fallback: `Access request ${truncateRunes(model.requestId, MAX_NAME_RUNES)}: ${model.status}`,
    color: STATUS_COLORS[model.status],
    title: "Teleport access request",
    fields,
    ...(model.clusterName
      ? { footer: `Teleport cluster ${truncateRunes(model.clusterName, MAX_NAME_RUNES)}` }
      : {}),
    ...(actions.length ? { actions } : {}),
  };
  return { message: "", props: { attachments: [attachment], [REQUEST_ID_PROP]: model.requestId } };
}

/** Request ids Teleport makes are UUIDs; anything else is not put into a URL. */
const LINKABLE_REQUEST_ID = /^[A-Za-z0-9-]{1,128}$/;

/**
 * How to decide a request in Teleport: the web UI page on the proxy Teleport's Ping names
 * (TELEPORT-WIRE.md §2, `ProxyPublicAddr`, 6.2+) and the `tsh` commands.
 */
export function linkOnlyFor(requestId: string, proxyPublicAddr: string): LinkOnly {
  const commands = {
    approve: `tsh request review --approve ${requestId}`,
    deny: `tsh request review --deny ${requestId}`,
  };
  if (!proxyPublicAddr || !LINKABLE_REQUEST_ID.test(requestId)) return { commands };
  try {
    const base = new URL(`https://${proxyPublicAddr}`);
    if (base.pathname !== "/" || base.search || base.hash || base.username) return { commands };
    return { webUrl: `${base.origin}/web/requests/${requestId}`, commands };
  } catch {
    return { commands };
  }
}

/**
 * What the daemon remembers about a request, stored in Teleport plugin data (plugin name
 * `mattermost`, one entry per access request, written by compare-and-swap: ARCHITECTURE.md §3).
 * Teleport stores a flat map of strings; this module is the only place that knows its keys.
 */
import type { RequestedResource } from "./access-request.js";
import { MAX_RESOURCES_SHOWN, type PostStatus } from "./render.js";

export const PLUGIN_NAME = "mattermost";

export interface PostRef {
  channelId: string;
  postId: string;
}

export interface PluginRecord {
  /** Posts made for this request, in every channel. */
  posts: PostRef[];
  /** Status the posts show, "" before the first post. */
  rendered: PostStatus | "";
  /** Fingerprint of everything the posts show, so any visible change (a review) re-renders. */
  renderHash: string;
  /** How many of the request's reviews were posted as thread replies. */
  reviewsRelayed: number;
  /** Final status whose outcome was announced (thread replies, requester's DM); "" before. */
  notified: PostStatus | "";
  /** Reminders posted while the request was pending. */
  reminders: number;
  /** `<instance id>@<lease end, ms since epoch>` while an instance is posting; "" otherwise. */
  claim: string;
  /** Request facts kept so the posts can still be rendered after Teleport deleted the request. */
  user: string;
  roles: string[];
  reason: string;
  /** The first resources of a resource request (at most MAX_RESOURCES_SHOWN) and their total. */
  resources: { shown: RequestedResource[]; total: number };
  /** Who decided in Mattermost, and why (set by the click, before the state change). */
  decidedBy: string;
  decisionReason: string;
  /**
   * `<dialog nonce>@<lease end, ms>` while a state-change decision is being applied, so that two
   * people deciding at once cannot both change the request (Teleport lets a denial follow an
   * approval). A lapsed lease is free again.
   */
  decisionLock: string;
  /**
   * Channels whose post could not be redrawn (the bot lost access to it): those posts still show
   * an older state than `rendered`/`renderHash`, and are redrawn when access returns.
   */
  lagging: string[];
  /** Recipients (as configured) not posted to yet because posting to them failed. */
  unposted: string[];
  /** Short id of the secret that signed the buttons the posts show ("" when they have none). */
  keyId: string;
}

export const EMPTY_RECORD: PluginRecord = {
  posts: [],
  rendered: "",
  renderHash: "",
  reviewsRelayed: 0,
  notified: "",
  reminders: 0,
  claim: "",
  user: "",
  roles: [],
  reason: "",
  resources: { shown: [], total: 0 },
  decidedBy: "",
  decisionReason: "",
  decisionLock: "",
  lagging: [],
  unposted: [],
  keyId: "",
};

const KEYS = {
  posts: "messages",
  rendered: "rendered",
  renderHash: "render_hash",
  reviewsRelayed: "reviews_relayed",
  notified: "notified",
  reminders: "reminders",
  claim: "claim",
  user: "user",
  roles: "roles",
  reason: "request_reason",
  resources: "resources",
  decidedBy: "decided_by",
  decisionReason: "decision_reason",
  decisionLock: "decision_lock",
  lagging: "lagging",
  unposted: "unposted",
  keyId: "key_id",
} as const satisfies Record<keyof PluginRecord, string>;

const STATUSES = new Set<string>(["PENDING", "APPROVED", "DENIED", "EXPIRED", "PROMOTED"]);

export function encodeRecord(record: PluginRecord): Record<string, string> {
  return {
    [KEYS.posts]: record.posts.map((post) => `${post.channelId}/${post.postId}`).join(","),
    [KEYS.rendered]: record.rendered,
    [KEYS.renderHash]: record.renderHash,
    // Counters are stored empty when zero: Teleport treats "" as absent, which keeps CAS simple.
    [KEYS.reviewsRelayed]: record.reviewsRelayed ? String(record.reviewsRelayed) : "",
    [KEYS.notified]: record.notified,
    [KEYS.reminders]: record.reminders ? String(record.reminders) : "",
    [KEYS.claim]: record.claim,
    [KEYS.user]: record.user,
    [KEYS.roles]: record.roles.join(","),
    [KEYS.reason]: record.reason,
    [KEYS.resources]: encodeResources(record.resources),
    [KEYS.decidedBy]: record.decidedBy,
    [KEYS.decisionReason]: record.decisionReason,
    [KEYS.decisionLock]: record.decisionLock,
    [KEYS.lagging]: record.lagging.join(","),
    // Recipient names hold no "\n" (config checks them), so they join safely.
    [KEYS.unposted]: record.unposted.join("\n"),
    [KEYS.keyId]: record.keyId,
  };
}

/** Decodes stored data, tolerating absent keys and the seed plugin's `channel_id`/`post_id`. */
export function decodeRecord(data: Record<string, string> | undefined): PluginRecord {
  if (!data) {
    return {
      ...EMPTY_RECORD,
      posts: [],
      roles: [],
      resources: { shown: [], total: 0 },
      lagging: [],
      unposted: [],
    };
  }
  const posts: PostRef[] = (data[KEYS.posts] ?? "")
    .split(",")
    .filter((pair) => pair.includes("/"))
    .map((pair) => {
      const [channelId = "", postId = ""] = pair.split("/");
      return { channelId, postId };
    });
  if (posts.length === 0 && data["post_id"] && data["channel_id"]) {
    posts.push({ channelId: data["channel_id"], postId: data["post_id"] });
  }
  const rendered = data[KEYS.rendered] ?? "";
  const notified = data[KEYS.notified] ?? "";
  return {
    posts,
    rendered: STATUSES.has(rendered) ? (rendered as PostStatus) : "",
    renderHash: data[KEYS.renderHash] ?? "",
    reviewsRelayed: count(data[KEYS.reviewsRelayed]),
    notified: STATUSES.has(notified) ? (notified as PostStatus) : "",
    reminders: count(data[KEYS.reminders]),
    claim: data[KEYS.claim] ?? "",
    user: data[KEYS.user] ?? "",
    roles: (data[KEYS.roles] ?? "").split(",").filter(Boolean),
    reason: data[KEYS.reason] ?? "",
    resources: decodeResources(data[KEYS.resources]),
    decidedBy: data[KEYS.decidedBy] ?? "",
    decisionReason: data[KEYS.decisionReason] ?? "",
    decisionLock: data[KEYS.decisionLock] ?? "",
    lagging: (data[KEYS.lagging] ?? "").split(",").filter(Boolean),
    unposted: (data[KEYS.unposted] ?? "").split("\n").filter(Boolean),
    keyId: data[KEYS.keyId] ?? "",
  };
}

/** The resources kept for a request: what the post shows, capped, as JSON `{"total":n,"shown":[[kind,name,sub,cluster]…]}`; "" for a role request. */
export function keptResources(resources: readonly RequestedResource[]): PluginRecord["resources"] {
  return { shown: resources.slice(0, MAX_RESOURCES_SHOWN), total: resources.length };
}

function encodeResources(resources: PluginRecord["resources"]): string {
  if (resources.total === 0) return "";
  const shown = resources.shown.map((r) => [r.kind, r.name, r.subResource, r.cluster]);
  return JSON.stringify({ total: resources.total, shown });
}

function decodeResources(text: string | undefined): PluginRecord["resources"] {
  try {
    const data = JSON.parse(text ?? "") as { total?: unknown; shown?: unknown };
    const shown = (Array.isArray(data.shown) ? data.shown : [])
      .filter((item): item is unknown[] => Array.isArray(item))
      .map(([kind, name, subResource, cluster]) => ({
        kind: String(kind ?? ""),
        name: String(name ?? ""),
        subResource: String(subResource ?? ""),
        cluster: String(cluster ?? ""),
      }))
      .slice(0, MAX_RESOURCES_SHOWN);
    const total = typeof data.total === "number" && data.total >= shown.length ? data.total : shown.length;
    return { shown, total };
  } catch {
    return { shown: [], total: 0 };
  }
}

function count(text: string | undefined): number {
  const value = Number(text ?? "");
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * The CAS expectation that the stored data is exactly `record` as read. Teleport compares each
 * expected key with the stored value, "" meaning absent (TELEPORT-WIRE.md §3), so the full
 * encoding of an empty record also expresses "no entry yet".
 */
export function expectRecord(record: PluginRecord): Record<string, string> {
  return encodeRecord(record);
}

export function formatClaim(instanceId: string, leaseEndsAt: number): string {
  return `${instanceId}@${leaseEndsAt}`;
}

export function parseClaim(claim: string): { instanceId: string; leaseEndsAt: number } | undefined {
  const at = claim.lastIndexOf("@");
  if (at <= 0) return undefined;
  const leaseEndsAt = Number(claim.slice(at + 1));
  return Number.isFinite(leaseEndsAt) ? { instanceId: claim.slice(0, at), leaseEndsAt } : undefined;
}

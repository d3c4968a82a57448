/**
 * What the daemon remembers about a request, stored in Teleport plugin data (plugin name
 * `mattermost`, one entry per access request, written by compare-and-swap: ARCHITECTURE.md §3).
 * Teleport stores a flat map of strings; this module is the only place that knows its keys.
 */
import type { AccessRequest, RequestedResource } from "./access-request.js";
import { isMattermostId } from "./ids.js";
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

const STORED_KEYS = Object.values(KEYS);

/**
 * A record in little memory, for keeping many (app/request-sync's cache): its stored values, in
 * a fixed key order, as one JSON string — a few hundred bytes instead of an object graph of a
 * dozen arrays, objects and strings. {@link unpackRecord} gives the record back.
 */
export function packRecord(record: PluginRecord): string {
  const encoded = encodeRecord(record);
  return JSON.stringify(STORED_KEYS.map((key) => encoded[key]));
}

/**
 * {@link packRecord} of a stored entry that is {@link StoredRecord.current}: its stored values
 * are exactly what packRecord would encode, so they are packed as read, without encoding again.
 */
export function packStored(stored: StoredRecord): string {
  if (!stored.current) return packRecord(stored.record);
  return JSON.stringify(STORED_KEYS.map((key) => stored.raw[key] ?? ""));
}

export function unpackRecord(packed: string): PluginRecord {
  const values = JSON.parse(packed) as string[];
  return decodeRecord(Object.fromEntries(STORED_KEYS.map((key, index) => [key, values[index] ?? ""])));
}

/**
 * Keys of the seed plugin (0.1.0): its one post. They are read as a post to adopt and removed
 * when the record is rewritten in this daemon's format (ORIGINAL-PLUGIN.md §2 "Plugin data").
 */
const SEED_POST_KEYS = { postId: "post_id", channelId: "channel_id" } as const;
/** 7.x–13.x: how many reviews were posted as thread replies, and the decision the post shows. */
const LEGACY_REVIEWS_KEY = "reviews_count";
const LEGACY_RESOLUTION_KEY = "resolution";
/** Longest stored value quoted back in a log line. */
const QUOTED_VALUE_CHARS = 80;

const COUNT = /^(0|[1-9][0-9]{0,8})$/;
/** `postFingerprint`: 22 base64url characters, then `:<key id>` for posts with buttons. */
const FINGERPRINT = /^[A-Za-z0-9_-]{22}(:[A-Za-z0-9]{1,64})?$/;
/** `keyIdOf`: a few hex digits (letters and digits accepted). */
const KEY_ID = /^[A-Za-z0-9]{1,64}$/;

/** What a stored entry says, and how far it is from what this daemon writes. */
export interface StoredRecord {
  /** The record, unreadable values left out (posts) or emptied (the rest). */
  record: PluginRecord;
  /** The entry exactly as read ({} when there is none): a rewrite expects exactly this. */
  raw: Readonly<Record<string, string>>;
  /** Our keys whose stored value could not be read, with the value (shortened) for the log. */
  unreadable: Record<string, string>;
  /**
   * Posts this daemon did not draw: an earlier version's (0.1.0 `post_id`, 6.x+ `messages`
   * without our `rendered`). They are adopted only once Mattermost confirms they exist.
   */
  foreignPosts: boolean;
  /** True when `raw` is exactly what this daemon would write for `record`: nothing to rewrite. */
  current: boolean;
}

/** Decodes stored data; see {@link readStored} for what else is learnt on the way. */
export function decodeRecord(data: Record<string, string> | undefined): PluginRecord {
  return readStored(data).record;
}

/** What a record keeps of its request, to redraw the post once Teleport has deleted it. */
export function requestFields(
  request: AccessRequest,
): Pick<PluginRecord, "user" | "roles" | "reason" | "resources"> {
  return {
    user: request.user,
    roles: request.roles,
    reason: request.requestReason,
    resources: keptResources(request.resources),
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

/** The kept resources; undefined when the stored value is not what {@link encodeResources} writes. */
function decodeResources(text: string): PluginRecord["resources"] | undefined {
  if (text === "") return { shown: [], total: 0 };
  try {
    const data = JSON.parse(text) as { total?: unknown; shown?: unknown };
    if (typeof data !== "object" || data === null || !Array.isArray(data.shown)) return undefined;
    const shown = data.shown
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
    return undefined;
  }
}

/**
 * Reads a stored entry, whoever wrote it: this daemon, an earlier version of the plugin, or a
 * person by hand. Values that do not parse are reported in `unreadable`, never guessed at: a
 * post id that is not a Mattermost id is no post.
 */
export function readStored(data: Record<string, string> | undefined): StoredRecord {
  const raw = data ?? {};
  const unreadable: Record<string, string> = {};
  const text = (key: string) => raw[key] ?? "";
  const checked = (key: string, valid: (value: string) => boolean): string => {
    const value = text(key);
    if (value === "" || valid(value)) return value;
    unreadable[key] = quote(value);
    return "";
  };
  let posts = parsePosts(text(KEYS.posts));
  if (posts === undefined) {
    unreadable[KEYS.posts] = quote(text(KEYS.posts));
    posts = validPairs(text(KEYS.posts));
  }
  const seedPost = { channelId: text(SEED_POST_KEYS.channelId), postId: text(SEED_POST_KEYS.postId) };
  const hasSeedKeys = seedPost.channelId !== "" || seedPost.postId !== "";
  if (hasSeedKeys && posts.length === 0) {
    if (isMattermostId(seedPost.channelId) && isMattermostId(seedPost.postId)) posts = [seedPost];
    else unreadable[SEED_POST_KEYS.postId] = quote(`${seedPost.channelId}/${seedPost.postId}`);
  }
  const rendered = checked(KEYS.rendered, (value) => STATUSES.has(value)) as PostStatus | "";
  const resources = decodeResources(text(KEYS.resources));
  if (resources === undefined) unreadable[KEYS.resources] = quote(text(KEYS.resources));
  const foreignPosts = posts.length > 0 && rendered === "";
  const record: PluginRecord = {
    posts,
    rendered,
    renderHash: checked(KEYS.renderHash, (value) => FINGERPRINT.test(value)),
    reviewsRelayed: Number(checked(KEYS.reviewsRelayed, (value) => COUNT.test(value))),
    notified: checked(KEYS.notified, (value) => STATUSES.has(value)) as PostStatus | "",
    reminders: Number(checked(KEYS.reminders, (value) => COUNT.test(value))),
    claim: checked(KEYS.claim, (value) => parseClaim(value) !== undefined),
    user: text(KEYS.user),
    roles: text(KEYS.roles).split(",").filter(Boolean),
    reason: text(KEYS.reason),
    resources: resources ?? { shown: [], total: 0 },
    decidedBy: text(KEYS.decidedBy),
    decisionReason: text(KEYS.decisionReason),
    decisionLock: checked(KEYS.decisionLock, (value) => parseClaim(value) !== undefined),
    lagging: checked(KEYS.lagging, (value) => value.split(",").every(isMattermostId))
      .split(",")
      .filter(Boolean),
    unposted: text(KEYS.unposted).split("\n").filter(Boolean),
    keyId: checked(KEYS.keyId, (value) => KEY_ID.test(value)),
  };
  if (foreignPosts) {
    // 7.x+ already posted this many reviews in the thread, and its post shows this decision.
    const relayed = text(LEGACY_REVIEWS_KEY);
    if (COUNT.test(relayed) && record.reviewsRelayed === 0) record.reviewsRelayed = Number(relayed);
    const resolution = text(LEGACY_RESOLUTION_KEY);
    record.rendered = STATUSES.has(resolution) ? (resolution as PostStatus) : "PENDING";
  }
  const encoded = encodeRecord(record);
  const current =
    !foreignPosts &&
    !hasSeedKeys &&
    Object.keys(unreadable).length === 0 &&
    STORED_KEYS.every((key) => text(key) === encoded[key]);
  return { record, raw, unreadable, foreignPosts, current };
}

/** `channelId/postId` pairs joined by commas; undefined when any part is not that. */
function parsePosts(value: string): PostRef[] | undefined {
  if (value === "") return [];
  const posts = validPairs(value);
  return posts.length === value.split(",").length ? posts : undefined;
}

function validPairs(value: string): PostRef[] {
  const posts: PostRef[] = [];
  for (const pair of value.split(",")) {
    const [channelId, postId, ...rest] = pair.split("/");
    if (rest.length === 0 && isMattermostId(channelId) && isMattermostId(postId)) {
      posts.push({ channelId, postId });
    }
  }
  return posts;
}

function quote(value: string): string {
  return value.length > QUOTED_VALUE_CHARS ? `${value.slice(0, QUOTED_VALUE_CHARS)}…` : value;
}

/**
 * The CAS expectation that the stored data is exactly `record` as this daemon wrote it.
 * Teleport compares each expected key with the stored value, "" meaning absent
 * (TELEPORT-WIRE.md §3), so the encoding of an empty record also expresses "no entry yet",
 * which includes no post of the seed plugin's.
 */
export function expectRecord(record: PluginRecord): Record<string, string> {
  return { ...encodeRecord(record), [SEED_POST_KEYS.postId]: "", [SEED_POST_KEYS.channelId]: "" };
}

/**
 * The compare-and-swap that replaces an entry this daemon did not write (or cannot read) with
 * `next` in its own format. It expects every key exactly as read, so data it does not
 * understand can never make it loop, and it removes the seed plugin's keys it translated. Keys
 * of other versions that this daemon does not use are left to them.
 */
export function rewriteRecord(
  stored: StoredRecord,
  next: PluginRecord,
): { set: Record<string, string>; expect: Record<string, string> } {
  return {
    set: { ...encodeRecord(next), [SEED_POST_KEYS.postId]: "", [SEED_POST_KEYS.channelId]: "" },
    expect: { ...expectRecord(EMPTY_RECORD), ...stored.raw },
  };
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

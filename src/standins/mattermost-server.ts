/**
 * A protocol-faithful Mattermost stand-in: a real HTTP(S) server on 127.0.0.1 with an in-memory
 * store that answers the REST API v4 endpoints the access-request bot uses the way Mattermost
 * 5.36–11 does (MATTERMOST-API.md): error bodies and ids, authentication, membership rules,
 * PUT-vs-patch semantics, integration stripping, pending_post_id de-duplication, size limits,
 * the GCRA rate limiter, and — the important part — the button click: `POST
 * /posts/{id}/actions/{action_id}` makes this server POST the exact callback body to the action's
 * `integration.url` through an "untrusted" outgoing client (address filter, TLS verification,
 * timeouts) and applies the integration's reply. Interactive dialogs (open with a signed trigger
 * id, submit the way the webapp does) work the same way.
 *
 * Tests and the demo drive it over HTTP; the admin methods (createTeam, createBot, …) only set
 * up state and inspect it. Only node built-ins are used.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { lookup as dnsLookup } from "node:dns/promises";
import { EventEmitter } from "node:events";
import * as http from "node:http";
import * as https from "node:https";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { performance } from "node:perf_hooks";
import { rootCertificates } from "node:tls";
import { gunzipSync } from "node:zlib";

// ---------------------------------------------------------------------------------------------
// Platform constants. Every number here is a Mattermost behaviour, not a choice of ours.
// ---------------------------------------------------------------------------------------------

/** Default server version reported in `X-Version-Id` and used for version-dependent behaviour. */
export const DEFAULT_MATTERMOST_VERSION = "9.11.0";
/** MATTERMOST-API.md §1: ids are 26 characters (Mattermost's base32 alphabet, lowercase). */
export const MATTERMOST_ID_LENGTH = 26;
/** Alphabet of `model.NewId()` (base32 with a custom, lowercase alphabet). §1. */
const ID_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769";
/** §6: `MaxPostSize` on current database schemas, in runes. 16384 → 400. */
export const DEFAULT_MAX_POST_SIZE_RUNES = 16383;
/** §6: `POST_PROPS_MAX_RUNES` up to 5.x (JSON of `props`, in runes). */
export const POST_PROPS_MAX_RUNES_V5 = 8000;
/** §6 and §7: the props limit since v6.0. */
export const POST_PROPS_MAX_RUNES = 800000;
/** §10: a repeated `pending_post_id` returns the same post within 30 s. */
export const PENDING_POST_ID_TTL_MS = 30_000;
/** §5: trigger ids live 3 s before `OutgoingIntegrationRequestsTimeout` replaced the constant (v9.5, §7). */
export const LEGACY_TRIGGER_TIMEOUT_MS = 3000;
/** §4 "Timeouts": whole outgoing integration request (default of `OutgoingIntegrationRequestsTimeout`). */
export const DEFAULT_OUTGOING_REQUEST_TIMEOUT_MS = 30_000;
/** §4 "Timeouts": dial / TLS handshake timeout of the outgoing client. */
export const OUTGOING_CONNECT_TIMEOUT_MS = 3000;
/** §4: the click route only matches `[A-Za-z0-9]+` action ids. */
const ACTION_ID_PATTERN = /^[A-Za-z0-9]+$/;
/** §4 "What Mattermost POSTs": the outgoing client's user agent. */
const OUTGOING_USER_AGENT = "Mattermost-Bot/1.1";
/** §4 "Response the integration returns": props kept from the original post across an action update. */
const RETAINED_PROP_KEYS = ["from_webhook", "override_username", "override_icon_url"] as const;
/** §3: `RateLimitSettings` defaults. */
export const DEFAULT_RATE_LIMIT = { perSec: 10, maxBurst: 100 } as const;
/**
 * §4 "Which URLs Mattermost may call": loopback, private and link-local ranges the untrusted
 * client refuses (the RFC 6890 list of `services/httpservice`), plus the server's own addresses.
 */
const RESERVED_CIDRS = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "::/128",
  "::1/128",
  "fc00::/7",
  "fe80::/10",
] as const;
/** §5 dialog limits (checked and reported as warnings on the open dialog, not refused). */
const DIALOG_LIMITS = {
  titleRunes: 24,
  displayNameRunes: 24,
  nameRunes: 300,
  helpTextRunes: 150,
  textValueRunes: 150,
  textareaValueRunes: 3000,
} as const;
/** §5 dialog element types (5.x–10.x; `date`, `datetime` 11.1; `file`, `action_button` 11.10). */
const DIALOG_ELEMENT_TYPES = [
  "text",
  "textarea",
  "select",
  "bool",
  "radio",
  "date",
  "datetime",
  "file",
  "action_button",
];
/** `GET /channels/{channel_id}/posts?since=…` answers at most this many posts. */
const POSTS_SINCE_LIMIT = 1000;
/** OpenAPI `GET /channels/{channel_id}/posts`: `per_page` default 60; Mattermost caps pages at 200. */
const DEFAULT_PER_PAGE = 60;
const MAX_PER_PAGE = 200;
/** Usernames `model.IsValidUsername` refuses (reserved mention keywords). */
const RESTRICTED_USERNAMES = new Set(["all", "channel", "here", "matterbot", "system"]);

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface RateLimitOptions {
  /** `RateLimitSettings.PerSec` (default 10). */
  perSec?: number;
  /** `RateLimitSettings.MaxBurst` (default 100). */
  maxBurst?: number;
  /** `VaryByUser` (token) or `VaryByRemoteAddr` (ip, Mattermost's default). */
  varyBy?: "token" | "ip";
}

export interface MattermostStandinOptions {
  /** Server version, e.g. "5.36.1" or "9.11.0" (default). Drives version-dependent behaviour. */
  version?: string;
  /** Serve HTTPS with this certificate and key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Port to listen on (default 0 = any free port). Always binds 127.0.0.1. */
  port?: number;
  /** Clock in milliseconds (default Date.now). Also settable later via `standin.now`. */
  now?: () => number;
  /** `FileSettings.MaxPostSize` equivalent in runes (default 16383). */
  maxPostSize?: number;
  /** Props JSON limit in runes (default 8000 for 5.x, 800000 otherwise). */
  propsMaxRunes?: number;
  /** Enable `RateLimitSettings` (disabled when absent, like Mattermost's default). */
  rateLimit?: RateLimitOptions;
  /** `ServiceSettings.AllowedUntrustedInternalConnections`: hostnames/IPs matched exactly, or CIDRs. */
  allowedUntrustedInternalConnections?: string | readonly string[];
  /** `ServiceSettings.EnableInsecureOutgoingConnections`: skip TLS verification of callbacks. */
  insecureOutgoingConnections?: boolean;
  /** Extra CA certificates trusted for outgoing TLS (in addition to the system roots). */
  outgoingCa?: readonly (string | Buffer)[];
  /** `ServiceSettings.OutgoingIntegrationRequestsTimeout` in ms (default 30 000). */
  outgoingTimeoutMs?: number;
  /** Outgoing dial + TLS handshake timeout in ms (default 3000). */
  outgoingConnectTimeoutMs?: number;
  /** Trigger id lifetime in ms (default 3000 before 9.5, else `outgoingTimeoutMs`). */
  triggerTimeoutMs?: number;
  /** `ServiceSettings.EnableDeveloper`: fill `detailed_error` in error bodies. */
  enableDeveloper?: boolean;
  /** `PrivacySettings.ShowEmailAddress` (default true). */
  showEmailAddress?: boolean;
  /** `TeamSettings.SiteName` (default "Mattermost"). */
  siteName?: string;
}

/** A post as stored (integrations included), in the API's snake_case shape. */
export interface StandinPost {
  id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  is_pinned: boolean;
  user_id: string;
  channel_id: string;
  root_id: string;
  parent_id: string;
  original_id: string;
  message: string;
  type: string;
  props: Record<string, unknown>;
  hashtags: string;
  file_ids: string[];
  pending_post_id: string;
  has_reactions: boolean;
}

export interface StandinUser {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  nickname: string;
  roles: string;
  /** Present (true) for bots only, like Mattermost's `omitempty`. */
  is_bot?: boolean;
  [key: string]: unknown;
}

export interface StandinTeam {
  id: string;
  name: string;
  display_name: string;
  type: string;
  [key: string]: unknown;
}

export interface StandinChannel {
  id: string;
  team_id: string;
  type: "O" | "P" | "D" | "G";
  name: string;
  display_name: string;
  [key: string]: unknown;
}

export interface OpenDialog {
  userId: string;
  /** The 26-character client trigger id the dialog was opened with. */
  triggerId: string;
  url: string;
  dialog: Record<string, unknown>;
  openedAt: number;
  /** Where the click that minted the trigger happened (stand-in bookkeeping; Mattermost only knows the user). */
  origin: { postId: string; channelId: string; teamId: string } | undefined;
  /** Violations of the §5 dialog limits (Mattermost does not refuse them, clients render badly). */
  warnings: string[];
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, the raw text when not JSON, undefined when empty. */
  body: unknown;
  /** HTTP status answered; 0 while unanswered (hang) or when the connection was reset. */
  status: number;
  at: number;
  /** Parsed JSON response body (undefined for non-JSON or empty responses). */
  responseBody?: unknown;
}

export interface OutgoingLogEntry {
  kind: "action" | "dialog_submission";
  url: string;
  headers: Record<string, string>;
  body: unknown;
  at: number;
  status?: number;
  responseText?: string;
  error?: string;
}

export type StandinEvent =
  | { type: "post_created"; post: StandinPost }
  | { type: "post_updated"; post: StandinPost; previous: StandinPost }
  | { type: "ephemeral_post"; userId: string; post: StandinPost }
  | { type: "dialog_opened"; dialog: OpenDialog }
  | {
      type: "dialog_submitted";
      userId: string;
      url: string;
      payload: Record<string, unknown>;
      reply: unknown;
    }
  | { type: "integration_request"; request: OutgoingLogEntry };

export type FaultSpec = (
  | { status: 500 | 502 | 503 | 429; retryAfter?: number }
  | { hang: true }
  | { reset: true }
) & {
  /** Apply to the next N matching requests (default 1 unless `forMs` is given). */
  times?: number;
  /** Apply for this many real milliseconds. */
  forMs?: number;
  /** Only requests this returns true for (default: every request). */
  match?: (request: { method: string; path: string }) => boolean;
};

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  body: unknown;
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** `model.NewId()`: 16 random bytes in Mattermost's base32 alphabet, 26 characters. */
export function newMattermostId(): string {
  let out = "";
  let value = 0;
  let bits = 0;
  for (const byte of randomBytes(16)) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ID_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ID_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** `model.IsValidId`: 26 letters or digits. */
function isValidId(value: string): boolean {
  return value.length === MATTERMOST_ID_LENGTH && /^[A-Za-z0-9]+$/.test(value);
}

function runeCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Go's `json.Marshal` escapes <, >, & and U+2028/2029; byte-compatible output matters for the props limit. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function parseVersion(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.split(".").map((part) => Number.parseInt(part, 10) || 0);
  return [major, minor, patch];
}

/** Go's `ParseSlackLinksToMarkdown`: `<url|text>` → `[text](url)`. */
function parseSlackLinks(text: string): string {
  return text.replace(/<([^\n<|>]+)\|([^\n>]+)>/g, "[$2]($1)");
}

/** A close cousin of `model.ParseHashtags`. */
function parseHashtags(message: string): string {
  const tags: string[] = [];
  for (const word of message.split(/[\s,]+/)) {
    const tag = word.replace(/^#{2,}/, "#").replace(/[^\p{L}\d]+$/u, "");
    if (/^#\p{L}[\p{L}\d\-_.]*[\p{L}\d]$/u.test(tag) && !tags.includes(tag)) tags.push(tag);
  }
  return tags.join(" ");
}

// --- IP addresses --------------------------------------------------------------------------

/** Parses an IPv4/IPv6 literal to bytes (IPv4-mapped IPv6 becomes 4 bytes, like Go's To4). */
function ipBytes(address: string): Uint8Array | undefined {
  const kind = isIP(address);
  if (kind === 4) return Uint8Array.from(address.split(".").map(Number));
  if (kind !== 6) return undefined;
  let text = address.split("%")[0] ?? address;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split(".").map(Number);
    tail = [(a << 8) | b, (c << 8) | d];
    text = text.slice(0, -v4[1].length);
    if (!text.endsWith("::")) text = text.replace(/:$/, "");
  }
  const [head = "", rest] = text.split("::");
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((h) => Number.parseInt(h, 16)));
  let groups = parse(head);
  if (rest !== undefined) {
    const back = parse(rest);
    const missing = 8 - tail.length - groups.length - back.length;
    groups = [...groups, ...new Array<number>(Math.max(missing, 0)).fill(0), ...back];
  }
  groups = [...groups.filter((g) => !Number.isNaN(g)), ...tail].slice(0, 8);
  while (groups.length < 8) groups.push(0);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function cidrContains(cidr: string, ip: Uint8Array): boolean {
  const [base = "", bitsText] = cidr.split("/");
  const network = ipBytes(base);
  const bits = Number(bitsText);
  if (!network || !Number.isInteger(bits) || network.length !== ip.length) return false;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if (((network[i >> 3] ?? 0) & mask) !== ((ip[i >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

function isReservedIp(ip: Uint8Array): boolean {
  return RESERVED_CIDRS.some((cidr) => cidrContains(cidr, ip));
}

function isOwnIp(ip: Uint8Array): boolean {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      const own = ipBytes(a.address);
      if (own && own.length === ip.length && own.every((b, i) => b === ip[i])) return true;
    }
  }
  return false;
}

// --- GCRA rate limiter (throttled/throttled v2, as used by Mattermost's RateLimiter) ---------

interface RateLimitResult {
  limited: boolean;
  limit: number;
  remaining: number;
  resetAfterMs: number;
  retryAfterMs: number;
}

class GcraLimiter {
  private readonly tat = new Map<string, number>();
  private readonly emissionMs: number;
  private readonly toleranceMs: number;
  readonly limit: number;

  constructor(options: RateLimitOptions) {
    const perSec = options.perSec ?? DEFAULT_RATE_LIMIT.perSec;
    const maxBurst = options.maxBurst ?? DEFAULT_RATE_LIMIT.maxBurst;
    this.emissionMs = 1000 / perSec;
    this.toleranceMs = this.emissionMs * (maxBurst + 1);
    this.limit = maxBurst + 1;
  }

  take(key: string, now: number): RateLimitResult {
    const stored = this.tat.get(key);
    const tat = stored === undefined || stored < now ? now : stored;
    const newTat = Math.max(now, tat) + this.emissionMs;
    const diff = now - (newTat - this.toleranceMs);
    let ttl = 0;
    let retryAfterMs = -1;
    let limited = false;
    if (diff < 0) {
      if (this.emissionMs <= this.toleranceMs) {
        retryAfterMs = -diff;
        ttl = tat - now;
      }
      limited = true;
    } else {
      ttl = newTat - now;
      this.tat.set(key, newTat);
    }
    const next = this.toleranceMs - ttl;
    const remaining = next > -this.emissionMs ? Math.max(0, Math.trunc(next / this.emissionMs)) : 0;
    return { limited, limit: this.limit, remaining, resetAfterMs: ttl, retryAfterMs };
  }
}

// --- Message attachments (model.SlackAttachment / model.PostAction) -----------------------

type Decoded = Record<string, unknown> | undefined;

function str(source: Record<string, unknown>, key: string): string | undefined | null {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : null; // null = type error
}

function decodeAction(raw: unknown, keepTooltip: boolean): Decoded | "skip" {
  if (raw === null) return "skip";
  if (!isObject(raw)) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of ["id", "type", "name"]) {
    const value = str(raw, key);
    if (value === null) return undefined;
    if (value) out[key] = value;
  }
  if (raw["disabled"] !== undefined && raw["disabled"] !== null) {
    if (typeof raw["disabled"] !== "boolean") return undefined;
    if (raw["disabled"]) out["disabled"] = true;
  }
  for (const key of ["style", "data_source"]) {
    const value = str(raw, key);
    if (value === null) return undefined;
    if (value) out[key] = value;
  }
  if (Array.isArray(raw["options"]) && raw["options"].length > 0) {
    const options: Record<string, string>[] = [];
    for (const option of raw["options"]) {
      if (option === null) continue;
      if (!isObject(option)) return undefined;
      const text = str(option, "text");
      const value = str(option, "value");
      if (text === null || value === null) return undefined;
      options.push({ text: text ?? "", value: value ?? "" });
    }
    out["options"] = options;
  } else if (raw["options"] !== undefined && raw["options"] !== null && !Array.isArray(raw["options"])) {
    return undefined;
  }
  const defaultOption = str(raw, "default_option");
  if (defaultOption === null) return undefined;
  if (defaultOption) out["default_option"] = defaultOption;
  const integration = raw["integration"];
  if (integration !== undefined && integration !== null) {
    if (!isObject(integration)) return undefined;
    const url = str(integration, "url");
    if (url === null) return undefined;
    const context = integration["context"];
    if (context !== undefined && context !== null && !isObject(context)) return undefined;
    const decoded: Record<string, unknown> = {};
    if (url) decoded["url"] = url;
    if (isObject(context) && Object.keys(context).length > 0) decoded["context"] = context;
    out["integration"] = decoded;
  }
  const cookie = str(raw, "cookie");
  if (cookie === null) return undefined;
  if (cookie) out["cookie"] = cookie;
  if (keepTooltip) {
    const tooltip = str(raw, "tooltip");
    if (tooltip === null) return undefined;
    if (tooltip) out["tooltip"] = tooltip;
  }
  return out;
}

function decodeAttachment(raw: unknown, keepTooltip: boolean): Decoded {
  const source = raw === null ? {} : raw;
  if (!isObject(source)) return undefined;
  const id = source["id"];
  if (id !== undefined && id !== null && !Number.isInteger(id)) return undefined;
  const out: Record<string, unknown> = { id: typeof id === "number" ? id : 0 };
  const strings = ["fallback", "color", "pretext", "author_name", "author_link", "author_icon", "title"];
  for (const key of [...strings, "title_link", "text"]) {
    const value = str(source, key);
    if (value === null) return undefined;
    out[key] = value ?? "";
  }
  const fields = source["fields"];
  if (Array.isArray(fields)) {
    const decodedFields: Record<string, unknown>[] = [];
    for (const field of fields) {
      if (field === null) continue;
      if (!isObject(field)) return undefined;
      const title = str(field, "title");
      if (title === null) return undefined;
      const short = field["short"];
      let shortValue = false;
      if (short === true || short === "true") shortValue = true;
      else if (short !== undefined && short !== null && short !== false && short !== "false")
        return undefined;
      decodedFields.push({ title: title ?? "", value: field["value"] ?? null, short: shortValue });
    }
    out["fields"] = decodedFields.length > 0 ? decodedFields : null;
  } else if (fields !== undefined && fields !== null) {
    return undefined;
  } else {
    out["fields"] = null;
  }
  for (const key of ["image_url", "thumb_url", "footer", "footer_icon"]) {
    const value = str(source, key);
    if (value === null) return undefined;
    out[key] = value ?? "";
  }
  if (source["ts"] !== undefined && source["ts"] !== null) out["ts"] = source["ts"];
  const actions = source["actions"];
  if (Array.isArray(actions)) {
    const decodedActions: Record<string, unknown>[] = [];
    for (const action of actions) {
      const decoded = decodeAction(action, keepTooltip);
      if (decoded === "skip") continue;
      if (decoded === undefined) return undefined;
      decodedActions.push(decoded);
    }
    if (decodedActions.length > 0) out["actions"] = decodedActions;
  } else if (actions !== undefined && actions !== null) {
    return undefined;
  }
  return out;
}

/**
 * `Post.GenerateActionIds`: re-types `props.attachments` as `[]*SlackAttachment` (normalising
 * them, dropping undecodable ones; an empty result becomes `null`) and fills missing action ids.
 */
function normalizeProps(props: Record<string, unknown>, keepTooltip: boolean): Record<string, unknown> {
  const raw = props["attachments"];
  if (raw === undefined || raw === null) return props;
  const attachments: Record<string, unknown>[] = [];
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const decoded = decodeAttachment(item, keepTooltip);
      if (decoded) attachments.push(decoded);
    }
  }
  for (const attachment of attachments) {
    for (const action of (attachment["actions"] as Record<string, unknown>[] | undefined) ?? []) {
      if (!action["id"]) action["id"] = newMattermostId();
    }
  }
  return { ...props, attachments: attachments.length > 0 ? attachments : null };
}

function attachmentActions(props: Record<string, unknown>): Record<string, unknown>[] {
  const attachments = props["attachments"];
  if (!Array.isArray(attachments)) return [];
  const actions: Record<string, unknown>[] = [];
  for (const attachment of attachments) {
    if (!isObject(attachment) || !Array.isArray(attachment["actions"])) continue;
    for (const action of attachment["actions"]) if (isObject(action)) actions.push(action);
  }
  return actions;
}

/** `Post.StripActionIntegrations`, applied to every post the API returns (§2 "get post"). */
function stripIntegrations(props: Record<string, unknown>): Record<string, unknown> {
  const copy = clone(props);
  for (const action of attachmentActions(copy)) delete action["integration"];
  return copy;
}

// --- Errors -------------------------------------------------------------------------------

/** English texts of the error ids the stand-in produces (i18n/en.json). */
const ERROR_MESSAGES: Record<string, string> = {
  "api.context.invalid_url_param.app_error": "Invalid or missing {{.Name}} parameter in request URL.",
  "api.context.invalid_body_param.app_error": "Invalid or missing {{.Name}} in request body.",
  "api.context.session_expired.app_error": "Invalid or expired session, please login again.",
  "api.context.token_provided.app_error": "Session is not OAuth but token was provided in the query string.",
  "api.context.permissions.app_error": "You do not have the appropriate permissions.",
  "api.context.404.app_error": "Sorry, we could not find the page.",
  "api.config.client.old_format.app_error":
    "New format for the client configuration is not supported yet. Please specify format=old in the query string.",
  "app.post.get.app_error": "Unable to get the post.",
  "app.channel.get.existing.app_error": "Unable to find the existing channel.",
  "app.channel.get_by_name.missing.app_error": "Channel does not exist.",
  "app.team.get_by_name.missing.app_error": "Unable to find the existing team.",
  "app.user.get_by_username.app_error":
    "Unable to find an existing account matching this username for this team. This team may require an invite from the team owner to join.",
  "app.user.missing_account.const": "Unable to find the user.",
  "api.user.get_user_by_email.permissions.app_error": "Unable to get user by email.",
  "api.channel.create_direct_channel.invalid_user.app_error": "Invalid user ID for direct channel creation.",
  "model.post.is_valid.msg.app_error": "Invalid message.",
  "model.post.is_valid.props.app_error": "Invalid props.",
  "model.post.is_valid.type.app_error": "Invalid type.",
  "model.post.is_valid.root_id.app_error": "Invalid root id.",
  "api.post.create_post.root_id.app_error": "Invalid RootId parameter.",
  "api.post.create_post.channel_root_id.app_error": "Invalid ChannelId for RootId parameter.",
  "api.post.deduplicate_create_post.pending":
    "Rejected post since another client is making the same request.",
  "api.post.do_action.action_id.app_error": "Invalid action id.",
  "api.post.do_action.action_integration.app_error": "Action integration error.",
  "interactive_message.decode_trigger_id.base64_decode_failed":
    "Failed to decode base64 for trigger ID for interactive dialog.",
  "interactive_message.decode_trigger_id.missing_data":
    "Trigger ID missing required data for interactive dialog.",
  "interactive_message.decode_trigger_id.expired":
    "Trigger ID for interactive dialog is expired. Trigger IDs live for a maximum of {{.Seconds}}s.",
  "interactive_message.decode_trigger_id.base64_decode_failed_signature":
    "Failed to decode base64 signature of trigger ID for interactive dialog.",
  "interactive_message.decode_trigger_id.signature_decode_failed":
    "Failed to decode the signature of the trigger ID for interactive dialog.",
  "interactive_message.decode_trigger_id.verify_signature_failed":
    "Signature verification failed of trigger ID for interactive dialog.",
  "app.standin.internal_error": "The Mattermost stand-in failed (a bug in the stand-in, not in the client).",
  "app.standin.fault_injected": "Injected fault (Mattermost stand-in).",
};

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorId: string,
    readonly detailed = "",
    readonly params: Record<string, string | number> = {},
  ) {
    super(errorId);
  }
}

const invalidUrlParam = (name: string) =>
  new ApiError(400, "api.context.invalid_url_param.app_error", "", { Name: name });
const invalidBodyParam = (name: string) =>
  new ApiError(400, "api.context.invalid_body_param.app_error", "", { Name: name });
const permissionError = (permission: string) =>
  new ApiError(403, "api.context.permissions.app_error", `permission=${permission}`);
const integrationError = (detail: string, status = 400) =>
  new ApiError(status, "api.post.do_action.action_integration.app_error", detail);

// ---------------------------------------------------------------------------------------------
// Internal records
// ---------------------------------------------------------------------------------------------

interface UserRecord {
  id: string;
  createAt: number;
  updateAt: number;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  nickname: string;
  roles: string;
  isBot: boolean;
  botDescription: string;
}

interface TeamRecord {
  id: string;
  createAt: number;
  updateAt: number;
  name: string;
  displayName: string;
  type: "O" | "I";
  allowOpenInvite: boolean;
  inviteId: string;
}

interface ChannelRecord {
  id: string;
  createAt: number;
  updateAt: number;
  teamId: string;
  type: "O" | "P" | "D" | "G";
  name: string;
  displayName: string;
  creatorId: string;
  lastPostAt: number;
  lastRootPostAt: number;
  totalMsgCount: number;
  totalMsgCountRoot: number;
}

interface StoredPost extends StandinPost {
  seq: number;
}

interface Session {
  token: string;
  userId: string;
  isOAuth: boolean;
}

interface TriggerRecord {
  userId: string;
  postId: string;
  channelId: string;
  teamId: string;
}

interface RequestContext {
  req: http.IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  rawBody: string;
  params: Record<string, string>;
  session: Session | undefined;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Route {
  method: string;
  regex: RegExp;
  names: string[];
  session: boolean;
  handler: (ctx: RequestContext) => Promise<Reply> | Reply;
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  until: number;
}

interface OutgoingResult {
  status: number;
  body: Buffer;
}

function compileRoute(pattern: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  let source = "";
  let index = 0;
  const quote = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
  while (index < pattern.length) {
    const open = pattern.indexOf("{", index);
    if (open < 0) {
      source += quote(pattern.slice(index));
      break;
    }
    const close = pattern.indexOf("}", open);
    source += quote(pattern.slice(index, open));
    const inner = pattern.slice(open + 1, close);
    const colon = inner.indexOf(":");
    names.push(colon < 0 ? inner : inner.slice(0, colon));
    source += `(${colon < 0 ? "[^/]+" : inner.slice(colon + 1)})`;
    index = close + 1;
  }
  return { regex: new RegExp(`^${source}$`), names };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
    req.on("aborted", () => reject(new Error("aborted")));
  });
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The stand-in
// ---------------------------------------------------------------------------------------------

export class MattermostStandin {
  /** Clock (ms) for create/update times, pending_post_id expiry, trigger ids and the rate limiter. */
  now: () => number;
  /** Database/file store health as reported by `GET /system/ping?get_server_status=true`. */
  healthy = true;
  readonly version: string;
  readonly events = new EventEmitter();

  private readonly server: http.Server;
  private readonly secure: boolean;
  private readonly versionParts: [number, number, number];
  private readonly versionId: string;
  private readonly opts: MattermostStandinOptions;
  private readonly limiter: GcraLimiter | undefined;
  private readonly signingKey: KeyObject;
  private readonly verifyKey: KeyObject;
  private readonly allowedUntrusted: string[];
  private readonly routes: Route[];
  private listenPort = 0;
  private down = false;
  private stopped = false;

  private readonly users = new Map<string, UserRecord>();
  private readonly teams = new Map<string, TeamRecord>();
  private readonly channels = new Map<string, ChannelRecord>();
  private readonly teamMembers = new Map<string, Set<string>>();
  private readonly channelMembers = new Map<string, Set<string>>();
  private readonly sessions = new Map<string, Session>();
  private readonly admins = new Set<string>();
  private readonly posts = new Map<string, StoredPost>();
  /** Replies per root post id: counting them by scanning every post made each post answer O(posts). */
  private readonly replyCounts = new Map<string, number>();
  private readonly pendingPostIds = new Map<string, { postId: string; expiresAt: number }>();
  private readonly ephemeral = new Map<string, StandinPost[]>();
  private readonly dialogs = new Map<string, OpenDialog[]>();
  private readonly triggers = new Map<string, TriggerRecord>();
  private readonly requestLog: RequestLogEntry[] = [];
  private readonly outgoingLog: OutgoingLogEntry[] = [];
  private readonly history: StandinEvent[] = [];
  private readonly waiters = new Set<{ reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private readonly outgoing = new Set<http.ClientRequest>();
  private activeFaults: ActiveFault[] = [];
  private postSeq = 0;

  private constructor(opts: MattermostStandinOptions) {
    this.opts = opts;
    this.version = opts.version ?? DEFAULT_MATTERMOST_VERSION;
    this.versionParts = parseVersion(this.version);
    const hash = createHash("md5")
      .update(`${this.version}:${randomBytes(8).toString("hex")}`)
      .digest("hex");
    this.versionId = `${this.version}.${this.version}.${hash}.false`;
    this.now = opts.now ?? Date.now;
    this.secure = opts.tls !== undefined;
    this.limiter = opts.rateLimit ? new GcraLimiter(opts.rateLimit) : undefined;
    const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.signingKey = keys.privateKey;
    this.verifyKey = keys.publicKey;
    const allowed = opts.allowedUntrustedInternalConnections ?? [];
    this.allowedUntrusted = (typeof allowed === "string" ? [allowed] : [...allowed]).flatMap((entry) =>
      entry.split(/[\s,]+/).filter((s) => s !== ""),
    );
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.onRequest(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    this.server = opts.tls
      ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
      : http.createServer(handler);
    this.server.keepAliveTimeout = 5000;
    this.routes = this.buildRoutes();
  }

  /** Starts a stand-in on 127.0.0.1 (port `opts.port`, default any free port). */
  static async start(opts: MattermostStandinOptions = {}): Promise<MattermostStandin> {
    const standin = new MattermostStandin(opts);
    standin.listenPort = await listen(standin.server, opts.port ?? 0);
    return standin;
  }

  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  get url(): string {
    return `${this.secure ? "https" : "http"}://127.0.0.1:${this.listenPort}`;
  }

  get port(): number {
    return this.listenPort;
  }

  /** Every API request received, in arrival order (faulted and rate-limited ones included). */
  get requests(): readonly RequestLogEntry[] {
    return this.requestLog;
  }

  /** Every request this server made to an integration URL (clicks, dialog submissions). */
  get outgoingRequests(): readonly OutgoingLogEntry[] {
    return this.outgoingLog;
  }

  clearLogs(): void {
    this.requestLog.length = 0;
    this.outgoingLog.length = 0;
  }

  /** Stops listening, closes every connection, aborts outgoing calls and pending `waitFor`s. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const request of this.outgoing) request.destroy(new Error("stand-in stopped"));
    this.outgoing.clear();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error("Mattermost stand-in stopped"));
    }
    this.waiters.clear();
    this.events.removeAllListeners();
    if (this.down) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // --- fault injection ----------------------------------------------------------------------

  /** Replaces the active faults (null clears them). See {@link FaultSpec}. */
  set faults(value: FaultSpec | readonly FaultSpec[] | null) {
    const specs = value === null ? [] : Array.isArray(value) ? value : [value as FaultSpec];
    this.activeFaults = specs.map((spec) => ({
      spec,
      remaining: spec.times ?? (spec.forMs === undefined ? 1 : Number.POSITIVE_INFINITY),
      until: spec.forMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + spec.forMs,
    }));
  }

  get faults(): readonly FaultSpec[] {
    return this.activeFaults.filter((f) => f.remaining > 0 && f.until > performance.now()).map((f) => f.spec);
  }

  /** `true`: close the listener and every connection (clients get ECONNREFUSED). `false`: listen again on the same port. */
  async setDown(down: boolean): Promise<void> {
    if (down === this.down || this.stopped) return;
    this.down = down;
    if (down) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    } else {
      await listen(this.server, this.listenPort);
    }
  }

  // --- admin / test API ---------------------------------------------------------------------

  createTeam(
    name: string,
    options: { displayName?: string; type?: "O" | "I"; allowOpenInvite?: boolean } = {},
  ) {
    const now = this.now();
    const team: TeamRecord = {
      id: newMattermostId(),
      createAt: now,
      updateAt: now,
      name,
      displayName: options.displayName ?? name,
      type: options.type ?? "O",
      allowOpenInvite: options.allowOpenInvite ?? false,
      inviteId: newMattermostId(),
    };
    this.teams.set(team.id, team);
    this.teamMembers.set(team.id, new Set());
    return this.teamJson(team);
  }

  createChannel(teamId: string, name: string, options: { type?: "O" | "P"; displayName?: string } = {}) {
    if (!this.teams.has(teamId)) throw new Error(`createChannel: no team ${teamId}`);
    const now = this.now();
    const channel: ChannelRecord = {
      id: newMattermostId(),
      createAt: now,
      updateAt: now,
      teamId,
      type: options.type ?? "O",
      name,
      displayName: options.displayName ?? name,
      creatorId: "",
      lastPostAt: now,
      lastRootPostAt: now,
      totalMsgCount: 0,
      totalMsgCountRoot: 0,
    };
    this.channels.set(channel.id, channel);
    this.channelMembers.set(channel.id, new Set());
    return this.channelJson(channel);
  }

  createUser(input: {
    username: string;
    email: string;
    firstName?: string;
    lastName?: string;
    admin?: boolean;
  }) {
    const now = this.now();
    const user: UserRecord = {
      id: newMattermostId(),
      createAt: now,
      updateAt: now,
      username: input.username,
      email: input.email,
      firstName: input.firstName ?? "",
      lastName: input.lastName ?? "",
      nickname: "",
      roles: input.admin ? "system_admin system_user" : "system_user",
      isBot: false,
      botDescription: "",
    };
    this.users.set(user.id, user);
    if (input.admin) this.admins.add(user.id);
    return this.userJson(user, true);
  }

  /** A bot user and a user access token for it (what `POST /bots` + `POST /users/{id}/tokens` give). */
  createBot(username: string, options: { description?: string } = {}): { user: StandinUser; token: string } {
    const now = this.now();
    const user: UserRecord = {
      id: newMattermostId(),
      createAt: now,
      updateAt: now,
      username,
      email: `${username}@localhost`,
      firstName: "",
      lastName: "",
      nickname: "",
      roles: "system_user",
      isBot: true,
      botDescription: options.description ?? "",
    };
    this.users.set(user.id, user);
    return { user: this.userJson(user, true), token: this.createSession(user.id) };
  }

  /** A session token for a user (a logged-in webapp user, or a user access token). */
  createSession(userId: string): string {
    if (!this.users.has(userId)) throw new Error(`createSession: no user ${userId}`);
    const token = newMattermostId();
    this.sessions.set(token, { token, userId, isOAuth: false });
    return token;
  }

  revokeSession(token: string): void {
    this.sessions.delete(token);
  }

  addTeamMember(teamId: string, userId: string): void {
    this.requireMembers(teamId, this.teamMembers, userId).add(userId);
  }

  removeTeamMember(teamId: string, userId: string): void {
    this.teamMembers.get(teamId)?.delete(userId);
  }

  addChannelMember(channelId: string, userId: string): void {
    this.requireMembers(channelId, this.channelMembers, userId).add(userId);
  }

  removeChannelMember(channelId: string, userId: string): void {
    this.channelMembers.get(channelId)?.delete(userId);
  }

  /** The DM channel between two users (created like `POST /channels/direct` would). */
  directChannel(userA: string, userB: string): StandinChannel {
    return this.channelJson(this.getOrCreateDirect(userA, userB));
  }

  user(id: string): StandinUser | undefined {
    const user = this.users.get(id);
    return user ? this.userJson(user, true) : undefined;
  }

  channel(id: string): StandinChannel | undefined {
    const channel = this.channels.get(id);
    return channel ? this.channelJson(channel) : undefined;
  }

  /** A stored post, integrations included (what the database holds, not what the API shows). */
  post(id: string): StandinPost | undefined {
    const post = this.posts.get(id);
    return post ? this.postRecord(post) : undefined;
  }

  /** All posts of a channel, roots and replies, oldest first. */
  channelPosts(channelId: string): StandinPost[] {
    return this.sortedPosts((p) => p.channel_id === channelId).map((p) => this.postRecord(p));
  }

  /** Ephemeral posts delivered to a user (action replies' `ephemeral_text`). */
  ephemeralPosts(userId: string): StandinPost[] {
    return clone(this.ephemeral.get(userId) ?? []);
  }

  /** Dialogs currently open for a user (opened, not yet submitted successfully or cancelled). */
  openDialogs(userId: string): OpenDialog[] {
    return clone(this.dialogs.get(userId) ?? []);
  }

  /** Clicks a button as the webapp does: `POST /api/v4/posts/{postId}/actions/{actionId}` over HTTP. */
  clickAction(
    userToken: string,
    postId: string,
    actionId: string,
    body: { selected_option?: string; cookie?: string } = {},
  ): Promise<HttpReply> {
    return this.request("POST", `/api/v4/posts/${postId}/actions/${actionId}`, { token: userToken, body });
  }

  /** Submits a dialog as the webapp does: `POST /api/v4/actions/dialogs/submit` over HTTP. */
  submitDialog(userToken: string, body: Record<string, unknown>): Promise<HttpReply> {
    return this.request("POST", "/api/v4/actions/dialogs/submit", { token: userToken, body });
  }

  /** An HTTP request to this server (the same path every client takes). */
  request(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpReply> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers["Authorization"] = `Bearer ${options.token}`;
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const transport = this.secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          host: "127.0.0.1",
          port: this.listenPort,
          method,
          path,
          headers,
          agent: false,
          rejectUnauthorized: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown;
            try {
              body = text === "" ? undefined : JSON.parse(text);
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  // --- events -------------------------------------------------------------------------------

  /**
   * Resolves with the first event (already happened or future) the predicate accepts; rejects
   * after `timeoutMs` or when the stand-in stops.
   */
  waitFor(predicate: (event: StandinEvent) => boolean, timeoutMs = 5000): Promise<StandinEvent> {
    const past = this.history.find(predicate);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const listener = (event: StandinEvent) => {
        if (!predicate(event)) return;
        cleanup();
        resolve(event);
      };
      const waiter = {
        reject: (error: Error) => {
          cleanup();
          reject(error);
        },
        timer: setTimeout(() => {
          cleanup();
          reject(new Error(`Mattermost stand-in: no matching event within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      const cleanup = () => {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        this.events.off("event", listener);
      };
      this.waiters.add(waiter);
      this.events.on("event", listener);
    });
  }

  private emit(event: StandinEvent): void {
    this.history.push(event);
    this.events.emit(event.type, event);
    this.events.emit("event", event);
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP plumbing
  // ---------------------------------------------------------------------------------------------

  private get isV5(): boolean {
    return this.versionParts[0] < 6;
  }

  private atLeast(major: number, minor: number): boolean {
    const [ma, mi] = this.versionParts;
    return ma > major || (ma === major && mi >= minor);
  }

  private get propsMaxRunes(): number {
    return this.opts.propsMaxRunes ?? (this.isV5 ? POST_PROPS_MAX_RUNES_V5 : POST_PROPS_MAX_RUNES);
  }

  private get maxPostSize(): number {
    return this.opts.maxPostSize ?? DEFAULT_MAX_POST_SIZE_RUNES;
  }

  private get outgoingTimeoutMs(): number {
    return this.opts.outgoingTimeoutMs ?? DEFAULT_OUTGOING_REQUEST_TIMEOUT_MS;
  }

  private get triggerTimeoutMs(): number {
    return (
      this.opts.triggerTimeoutMs ?? (this.atLeast(9, 5) ? this.outgoingTimeoutMs : LEGACY_TRIGGER_TIMEOUT_MS)
    );
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = this.now();
    const url = new URL(req.url ?? "/", "http://standin.invalid");
    const method = req.method ?? "GET";
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    const rawBody = raw.toString("utf8");
    let body: unknown;
    if (rawBody !== "") {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    }
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body,
      status: 0,
      at,
    };
    this.requestLog.push(entry);

    if (this.applyFault(method, url.pathname, req, res, entry)) return;

    if (this.limiter) {
      const key = this.rateLimitKey(req, url.searchParams);
      const result = this.limiter.take(key, this.now());
      res.setHeader("X-Ratelimit-Limit", String(result.limit));
      res.setHeader("X-Ratelimit-Remaining", String(result.remaining));
      if (result.resetAfterMs >= 0)
        res.setHeader("X-Ratelimit-Reset", String(Math.ceil(result.resetAfterMs / 1000)));
      if (result.limited) {
        // §3: the limiter answers before Mattermost's handler (no X-Request-Id), with Go's http.Error.
        if (result.retryAfterMs >= 0)
          res.setHeader("Retry-After", String(Math.ceil(result.retryAfterMs / 1000)));
        res.setHeader("Content-Type", "text/plain; charset=utf-8");
        res.setHeader("X-Content-Type-Options", "nosniff");
        entry.status = 429;
        res.writeHead(429).end("limit exceeded\n");
        return;
      }
    }

    let decodedPath: string;
    try {
      decodedPath = decodeURIComponent(url.pathname);
    } catch {
      decodedPath = url.pathname;
    }
    if (!decodedPath.startsWith("/api/v4/")) {
      entry.status = 404;
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("404 page not found\n");
      return;
    }

    const requestId = newMattermostId();
    res.setHeader("X-Request-Id", requestId);
    res.setHeader("X-Version-Id", this.versionId);
    let reply: Reply;
    try {
      reply = await this.dispatch(req, method, decodedPath, url.searchParams, body, rawBody);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(
              500,
              "app.standin.internal_error",
              error instanceof Error ? error.message : String(error),
            );
      reply = { status: apiError.status, body: this.errorBody(apiError, requestId) };
    }
    if (res.destroyed) return;
    if (reply.status === 405) {
      entry.status = 405;
      res.writeHead(405).end();
      return;
    }
    if (method === "GET") res.setHeader("Expires", "0");
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    entry.status = reply.status;
    if (reply.body === undefined) {
      res.writeHead(reply.status).end();
      return;
    }
    entry.responseBody = clone(reply.body);
    res.setHeader("Content-Type", "application/json");
    res.writeHead(reply.status).end(goJson(reply.body));
  }

  private errorBody(error: ApiError, requestId: string) {
    let message = ERROR_MESSAGES[error.errorId] ?? error.errorId;
    for (const [name, value] of Object.entries(error.params))
      message = message.replace(`{{.${name}}}`, String(value));
    return {
      id: error.errorId,
      message,
      detailed_error: this.opts.enableDeveloper ? error.detailed : "",
      request_id: requestId,
      status_code: error.status,
    };
  }

  private applyFault(
    method: string,
    path: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: RequestLogEntry,
  ): boolean {
    const now = performance.now();
    this.activeFaults = this.activeFaults.filter((f) => f.remaining > 0 && f.until > now);
    const fault = this.activeFaults.find((f) => !f.spec.match || f.spec.match({ method, path }));
    if (!fault) return false;
    fault.remaining--;
    const spec = fault.spec;
    if ("hang" in spec) return true; // never answered; stop() or setDown(true) closes the socket
    if ("reset" in spec) {
      const socket = req.socket as typeof req.socket & { resetAndDestroy?: () => void };
      if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
      else socket.destroy();
      return true;
    }
    entry.status = spec.status;
    const retryAfter = spec.retryAfter ?? (spec.status === 429 ? 1 : undefined);
    if (retryAfter !== undefined) res.setHeader("Retry-After", String(retryAfter));
    if (spec.status === 429) {
      res.writeHead(429, { "Content-Type": "text/plain; charset=utf-8" }).end("limit exceeded\n");
    } else if (spec.status === 500) {
      const requestId = newMattermostId();
      const body = this.errorBody(new ApiError(500, "app.standin.fault_injected"), requestId);
      entry.responseBody = body;
      res
        .writeHead(500, {
          "Content-Type": "application/json",
          "X-Request-Id": requestId,
          "X-Version-Id": this.versionId,
        })
        .end(goJson(body));
    } else {
      // 502/503 come from a reverse proxy in front of Mattermost, not from Mattermost itself.
      const title = spec.status === 502 ? "502 Bad Gateway" : "503 Service Temporarily Unavailable";
      res
        .writeHead(spec.status, { "Content-Type": "text/html" })
        .end(
          `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
        );
    }
    return true;
  }

  private rateLimitKey(req: http.IncomingMessage, query: URLSearchParams): string {
    if (this.opts.rateLimit?.varyBy === "token") {
      const token = this.parseToken(req, query);
      if (token) return token.token;
      return "";
    }
    return req.socket.remoteAddress ?? "";
  }

  /** `app.ParseAuthTokenFromRequest`: header `BEARER …` (any case) or `TOKEN …`, else `?access_token=`. */
  private parseToken(
    req: http.IncomingMessage,
    query: URLSearchParams,
  ): { token: string; location: "header" | "query" } | undefined {
    const header = req.headers.authorization ?? "";
    if (header.length > 6 && header.slice(0, 6).toUpperCase() === "BEARER") {
      return { token: header.slice(7), location: "header" };
    }
    if (header.length > 5 && header.slice(0, 5).toLowerCase() === "token") {
      return { token: header.slice(6), location: "header" };
    }
    const fromQuery = query.get("access_token");
    if (fromQuery) return { token: fromQuery, location: "query" };
    return undefined;
  }

  private async dispatch(
    req: http.IncomingMessage,
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
    rawBody: string,
  ): Promise<Reply> {
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.regex.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = match[i + 1] ?? "";
      });
      let session: Session | undefined;
      const token = this.parseToken(req, query);
      if (token) {
        const found = this.sessions.get(token.token);
        if (!found) {
          if (route.session) throw new ApiError(401, "api.context.session_expired.app_error", "token=…");
        } else if (token.location === "query" && !found.isOAuth) {
          throw new ApiError(401, "api.context.token_provided.app_error");
        } else {
          session = found;
        }
      }
      if (route.session && !session)
        throw new ApiError(401, "api.context.session_expired.app_error", "UserRequired");
      return route.handler({ req, method, path, query, body, rawBody, params, session });
    }
    if (pathMatched) return { status: 405 };
    throw new ApiError(404, "api.context.404.app_error", `path=${path}`);
  }

  private buildRoutes(): Route[] {
    const route = (
      method: string,
      pattern: string,
      handler: (ctx: RequestContext) => Promise<Reply> | Reply,
      session = true,
    ): Route => ({ method, ...compileRoute(`/api/v4${pattern}`), session, handler });
    const ID = "[A-Za-z0-9]+";
    return [
      route("GET", "/system/ping", (ctx) => this.ping(ctx), false),
      route("GET", "/config/client", (ctx) => this.clientConfig(ctx), false),
      route("POST", "/users/ids", (ctx) => this.getUsersByIds(ctx)),
      route("GET", "/users/username/{username:[A-Za-z0-9\\_\\-\\.]+}", (ctx) => this.getUserByUsername(ctx)),
      route("GET", "/users/email/{email:.+}", (ctx) => this.getUserByEmail(ctx)),
      route("GET", `/users/{user_id:${ID}}`, (ctx) => this.getUser(ctx)),
      route("GET", "/teams/name/{team_name:[A-Za-z0-9_-]+}", (ctx) => this.getTeamByName(ctx)),
      route(
        "GET",
        "/teams/name/{team_name:[A-Za-z0-9_-]+}/channels/name/{channel_name:[A-Za-z0-9_-]+}",
        (ctx) => this.getChannelByName(ctx, "team_name"),
      ),
      route("GET", `/teams/{team_id:${ID}}/channels/name/{channel_name:[A-Za-z0-9_-]+}`, (ctx) =>
        this.getChannelByName(ctx, "team_id"),
      ),
      route("POST", "/channels/direct", (ctx) => this.createDirect(ctx)),
      route("GET", `/channels/{channel_id:${ID}}`, (ctx) => this.getChannel(ctx)),
      route("GET", `/channels/{channel_id:${ID}}/posts`, (ctx) => this.getChannelPosts(ctx)),
      route("GET", `/channels/{channel_id:${ID}}/members/{user_id:${ID}}`, (ctx) =>
        this.getChannelMember(ctx),
      ),
      route("GET", `/teams/{team_id:${ID}}/members/{user_id:${ID}}`, (ctx) => this.getTeamMember(ctx)),
      route("POST", "/posts", (ctx) => this.createPost(ctx)),
      route("GET", `/posts/{post_id:${ID}}`, (ctx) => this.getPost(ctx)),
      route("PUT", `/posts/{post_id:${ID}}`, (ctx) => this.updatePost(ctx)),
      route("PUT", `/posts/{post_id:${ID}}/patch`, (ctx) => this.patchPost(ctx)),
      route("GET", `/posts/{post_id:${ID}}/thread`, (ctx) => this.getThread(ctx)),
      route("POST", `/posts/{post_id:${ID}}/actions/{action_id:${ID}}`, (ctx) => this.doPostAction(ctx)),
      route("POST", "/actions/dialogs/open", (ctx) => this.openDialog(ctx), false),
      route("POST", "/actions/dialogs/submit", (ctx) => this.submitDialogHandler(ctx)),
    ];
  }

  // ---------------------------------------------------------------------------------------------
  // Permissions and lookups
  // ---------------------------------------------------------------------------------------------

  private requireMembers(id: string, map: Map<string, Set<string>>, userId: string): Set<string> {
    const members = map.get(id);
    if (!members) throw new Error(`no team/channel ${id}`);
    if (!this.users.has(userId)) throw new Error(`no user ${userId}`);
    return members;
  }

  private isAdmin(userId: string): boolean {
    return this.admins.has(userId);
  }

  private isTeamMember(userId: string, teamId: string): boolean {
    return this.isAdmin(userId) || (this.teamMembers.get(teamId)?.has(userId) ?? false);
  }

  private isChannelMember(userId: string, channelId: string): boolean {
    return this.isAdmin(userId) || (this.channelMembers.get(channelId)?.has(userId) ?? false);
  }

  /** Open channels are readable by team members; everything else needs channel membership. */
  private canReadChannel(userId: string, channel: ChannelRecord): boolean {
    if (this.isChannelMember(userId, channel.id)) return true;
    return channel.type === "O" && this.isTeamMember(userId, channel.teamId);
  }

  private sessionUser(ctx: RequestContext): UserRecord {
    const user = ctx.session ? this.users.get(ctx.session.userId) : undefined;
    if (!user) throw new ApiError(401, "api.context.session_expired.app_error", "UserRequired");
    return user;
  }

  private requireIdParam(ctx: RequestContext, name: string): string {
    const value = ctx.params[name] ?? "";
    if (!isValidId(value)) throw invalidUrlParam(name);
    return value;
  }

  private getOrCreateDirect(userA: string, userB: string): ChannelRecord {
    const name = [userA, userB].sort().join("__");
    for (const channel of this.channels.values())
      if (channel.type === "D" && channel.name === name) return channel;
    const now = this.now();
    const channel: ChannelRecord = {
      id: newMattermostId(),
      createAt: now,
      updateAt: now,
      teamId: "",
      type: "D",
      name,
      displayName: "",
      creatorId: userA,
      lastPostAt: now,
      lastRootPostAt: now,
      totalMsgCount: 0,
      totalMsgCountRoot: 0,
    };
    this.channels.set(channel.id, channel);
    this.channelMembers.set(channel.id, new Set([userA, userB]));
    return channel;
  }

  // ---------------------------------------------------------------------------------------------
  // JSON views
  // ---------------------------------------------------------------------------------------------

  private userJson(user: UserRecord, self: boolean, viewerIsAdmin = false): StandinUser {
    const showEmail = self || viewerIsAdmin || (this.opts.showEmailAddress ?? true);
    const json: StandinUser = {
      id: user.id,
      create_at: user.createAt,
      update_at: user.updateAt,
      delete_at: 0,
      username: user.username,
      auth_data: "",
      auth_service: "",
      email: showEmail ? user.email : "",
      email_verified: true,
      nickname: user.nickname,
      first_name: user.firstName,
      last_name: user.lastName,
      position: "",
      roles: user.roles,
      locale: "en",
      timezone: { automaticTimezone: "", manualTimezone: "", useAutomaticTimezone: "true" },
      is_bot: user.isBot,
      disable_welcome_email: false,
    };
    if (self) {
      json["notify_props"] = {
        channel: "true",
        comments: "never",
        desktop: "mention",
        desktop_sound: "true",
        email: "true",
        first_name: "false",
        mention_keys: "",
        push: "mention",
        push_status: "away",
      };
      json["last_password_update"] = user.createAt;
    }
    if (user.isBot) json["bot_description"] = user.botDescription;
    else delete json.is_bot;
    return json as StandinUser;
  }

  private teamJson(team: TeamRecord): StandinTeam {
    return {
      id: team.id,
      create_at: team.createAt,
      update_at: team.updateAt,
      delete_at: 0,
      display_name: team.displayName,
      name: team.name,
      description: "",
      email: "",
      type: team.type,
      company_name: "",
      allowed_domains: "",
      invite_id: team.inviteId,
      allow_open_invite: team.allowOpenInvite,
      scheme_id: null,
      group_constrained: null,
      policy_id: null,
    };
  }

  private channelJson(channel: ChannelRecord): StandinChannel {
    return {
      id: channel.id,
      create_at: channel.createAt,
      update_at: channel.updateAt,
      delete_at: 0,
      team_id: channel.teamId,
      type: channel.type,
      display_name: channel.displayName,
      name: channel.name,
      header: "",
      purpose: "",
      last_post_at: channel.lastPostAt,
      total_msg_count: channel.totalMsgCount,
      extra_update_at: 0,
      creator_id: channel.creatorId,
      scheme_id: null,
      props: null,
      group_constrained: null,
      shared: null,
      total_msg_count_root: channel.totalMsgCountRoot,
      policy_id: null,
      last_root_post_at: channel.lastRootPostAt,
    };
  }

  private postRecord(post: StoredPost): StandinPost {
    const { seq: _seq, ...record } = post;
    return clone(record);
  }

  /** The post as the API returns it (`Post.ToJson`: integrations stripped; metadata added). */
  private postJson(post: StoredPost, pendingPostId = ""): Record<string, unknown> {
    const rootId = post.root_id || post.id;
    const replyCount = this.replyCounts.get(rootId) ?? 0;
    const json: Record<string, unknown> = {
      id: post.id,
      create_at: post.create_at,
      update_at: post.update_at,
      edit_at: post.edit_at,
      delete_at: post.delete_at,
      is_pinned: post.is_pinned,
      user_id: post.user_id,
      channel_id: post.channel_id,
      root_id: post.root_id,
    };
    if (this.isV5) json["parent_id"] = post.parent_id;
    Object.assign(json, {
      original_id: post.original_id,
      message: post.message,
      type: post.type,
      props: stripIntegrations(post.props),
      hashtags: post.hashtags,
    });
    if (post.file_ids.length > 0) json["file_ids"] = [...post.file_ids];
    json["pending_post_id"] = pendingPostId;
    if (post.has_reactions) json["has_reactions"] = true;
    Object.assign(json, { reply_count: replyCount, last_reply_at: 0, participants: null, metadata: {} });
    return json;
  }

  private postList(posts: StoredPost[], order: string[]): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (const post of posts) map[post.id] = this.postJson(post);
    return { order, posts: map, next_post_id: "", prev_post_id: "" };
  }

  private sortedPosts(filter: (post: StoredPost) => boolean): StoredPost[] {
    return [...this.posts.values()].filter(filter).sort((a, b) => a.create_at - b.create_at || a.seq - b.seq);
  }

  // ---------------------------------------------------------------------------------------------
  // Handlers: system, users, teams, channels
  // ---------------------------------------------------------------------------------------------

  private ping(ctx: RequestContext): Reply {
    const status: Record<string, string> = {
      ActiveSearchBackend: "database",
      AndroidLatestVersion: "",
      AndroidMinVersion: "",
      IosLatestVersion: "",
      IosMinVersion: "",
      status: "OK",
    };
    if (ctx.query.get("get_server_status") === "true") {
      status["database_status"] = this.healthy ? "OK" : "UNHEALTHY";
      status["filestore_status"] = this.healthy ? "OK" : "UNHEALTHY";
      if (!this.healthy) status["status"] = "UNHEALTHY";
    }
    const rest = this.atLeast(9, 6) && ctx.query.get("use_rest_semantics") === "true";
    return { status: status["status"] === "OK" || rest ? 200 : 500, body: status };
  }

  private clientConfig(ctx: RequestContext): Reply {
    const format = ctx.query.get("format");
    if (!format) throw new ApiError(501, "api.config.client.old_format.app_error");
    if (format !== "old") throw invalidUrlParam("format");
    const config: Record<string, string> = {
      Version: this.version,
      BuildNumber: this.version,
      SiteName: this.opts.siteName ?? "Mattermost",
      DiagnosticsEnabled: "false",
    };
    if (ctx.session) {
      Object.assign(config, {
        MaxPostSize: String(this.maxPostSize),
        EnablePostUsernameOverride: "false",
        EnablePostIconOverride: "false",
        PostEditTimeLimit: "-1",
        EnableBotAccountCreation: "true",
        EnableUserAccessTokens: "true",
      });
    }
    return { status: 200, body: config };
  }

  private getUser(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const requested = ctx.params["user_id"] === "me" ? me.id : (ctx.params["user_id"] ?? "");
    if (!isValidId(requested)) throw invalidUrlParam("user_id");
    const user = this.users.get(requested);
    if (!user) throw new ApiError(404, "app.user.missing_account.const", `user_id=${requested}`);
    const showEmail = this.opts.showEmailAddress ?? true;
    const etag = `${this.version}.${user.id}.${user.updateAt}.true.${showEmail}.0`;
    if (ctx.req.headers["if-none-match"] === etag) return { status: 304, headers: { ETag: etag } };
    return {
      status: 200,
      body: this.userJson(user, user.id === me.id, this.isAdmin(me.id)),
      headers: { ETag: etag },
    };
  }

  private getUserByUsername(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const username = ctx.params["username"] ?? "";
    const valid =
      /^[a-z0-9.\-_]+$/.test(username) &&
      username.length >= 3 &&
      username.length <= 64 &&
      !RESTRICTED_USERNAMES.has(username);
    if (!valid) throw invalidUrlParam("username");
    const user = [...this.users.values()].find((u) => u.username === username);
    if (!user) throw new ApiError(404, "app.user.get_by_username.app_error", `username=${username}`);
    return { status: 200, body: this.userJson(user, user.id === me.id, this.isAdmin(me.id)) };
  }

  private getUserByEmail(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const email = ctx.params["email"] ?? "";
    if (email !== email.toLowerCase() || !/^[^\s@<>()]+@[^\s@<>()]+$/.test(email))
      throw invalidUrlParam("email");
    if (!(this.opts.showEmailAddress ?? true) && !this.isAdmin(me.id)) {
      throw new ApiError(403, "api.user.get_user_by_email.permissions.app_error");
    }
    const user = [...this.users.values()].find((u) => u.email.toLowerCase() === email);
    if (!user) throw new ApiError(404, "app.user.missing_account.const", `email=${email}`);
    return { status: 200, body: this.userJson(user, user.id === me.id, this.isAdmin(me.id)) };
  }

  private getUsersByIds(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const ids = Array.isArray(ctx.body) ? ctx.body : [];
    if (ids.length === 0) throw invalidBodyParam("user_ids");
    for (const id of ids) if (typeof id !== "string" || !isValidId(id)) throw invalidBodyParam("user_id");
    const found = (ids as string[]).flatMap((id) => {
      const user = this.users.get(id);
      return user ? [this.userJson(user, user.id === me.id, this.isAdmin(me.id))] : [];
    });
    return { status: 200, body: found };
  }

  private teamByName(name: string): TeamRecord {
    if (!/^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$/.test(name)) throw invalidUrlParam("team_name");
    const team = [...this.teams.values()].find((t) => t.name === name);
    if (!team) throw new ApiError(404, "app.team.get_by_name.missing.app_error", `name=${name}`);
    return team;
  }

  private getTeamByName(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const team = this.teamByName(ctx.params["team_name"] ?? "");
    if ((!team.allowOpenInvite || team.type !== "O") && !this.isTeamMember(me.id, team.id)) {
      throw permissionError("view_team");
    }
    return { status: 200, body: this.teamJson(team) };
  }

  private getChannelByName(ctx: RequestContext, by: "team_name" | "team_id"): Reply {
    const me = this.sessionUser(ctx);
    let teamId: string;
    if (by === "team_name") {
      teamId = this.teamByName(ctx.params["team_name"] ?? "").id;
    } else {
      teamId = this.requireIdParam(ctx, "team_id");
    }
    const name = ctx.params["channel_name"] ?? "";
    if (!/^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]+$/.test(name)) throw invalidUrlParam("channel_name");
    const channel = [...this.channels.values()].find((c) => c.teamId === teamId && c.name === name);
    const missing = () =>
      new ApiError(404, "app.channel.get_by_name.missing.app_error", `channelName=${name}`);
    if (!channel) throw missing();
    if (channel.type === "O") {
      if (!this.canReadChannel(me.id, channel)) throw permissionError("read_public_channel");
    } else if (!this.isChannelMember(me.id, channel.id)) {
      throw missing();
    }
    return { status: 200, body: this.channelJson(channel) };
  }

  private getChannel(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const id = this.requireIdParam(ctx, "channel_id");
    const channel = this.channels.get(id);
    if (!channel) throw new ApiError(404, "app.channel.get.existing.app_error", `id=${id}`);
    if (!this.canReadChannel(me.id, channel)) {
      throw permissionError(channel.type === "O" ? "read_public_channel" : "read_channel");
    }
    return { status: 200, body: this.channelJson(channel) };
  }

  /** `GET /teams/{team_id}/members/{user_id}`: the caller must see the team; 404 for non-members. */
  private getTeamMember(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const teamId = this.requireIdParam(ctx, "team_id");
    const userId = this.requireIdParam(ctx, "user_id");
    if (!this.teams.has(teamId) || !this.isTeamMember(me.id, teamId)) throw permissionError("view_team");
    if (!this.isTeamMember(userId, teamId)) {
      throw new ApiError(404, "app.team.get_member.missing.app_error", `teamId=${teamId}, userId=${userId}`);
    }
    return {
      status: 200,
      body: {
        team_id: teamId,
        user_id: userId,
        roles: "team_user",
        delete_at: 0,
        scheme_user: true,
        scheme_admin: false,
      },
    };
  }

  /** `GET /channels/{channel_id}/members/{user_id}`: 404 when the user is not a member. */
  private getChannelMember(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const channelId = this.requireIdParam(ctx, "channel_id");
    const userId = this.requireIdParam(ctx, "user_id");
    const channel = this.channels.get(channelId);
    if (!channel) throw new ApiError(404, "app.channel.get.existing.app_error", `id=${channelId}`);
    if (!this.canReadChannel(me.id, channel)) {
      throw permissionError(channel.type === "O" ? "read_public_channel" : "read_channel");
    }
    if (!this.isChannelMember(userId, channelId)) {
      throw new ApiError(
        404,
        "app.channel.get_member.missing.app_error",
        `channel_id=${channelId}, user_id=${userId}`,
      );
    }
    const now = this.now();
    return {
      status: 200,
      body: {
        channel_id: channelId,
        user_id: userId,
        roles: "channel_user",
        last_viewed_at: now,
        msg_count: 0,
        mention_count: 0,
        notify_props: { desktop: "default", email: "default", mark_unread: "all", push: "default" },
        last_update_at: now,
        scheme_guest: false,
        scheme_user: true,
        scheme_admin: false,
      },
    };
  }

  private createDirect(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const ids = Array.isArray(ctx.body) ? ctx.body : [];
    if (ids.length !== 2) throw invalidBodyParam("user_ids");
    for (const id of ids) if (typeof id !== "string" || !isValidId(id)) throw invalidBodyParam("user_id");
    const [a, b] = ids as [string, string];
    if (a !== me.id && b !== me.id && !this.isAdmin(me.id)) throw permissionError("manage_system");
    if (!this.users.has(a) || !this.users.has(b)) {
      throw new ApiError(400, "api.channel.create_direct_channel.invalid_user.app_error");
    }
    return { status: 201, body: this.channelJson(this.getOrCreateDirect(a, b)) };
  }

  // ---------------------------------------------------------------------------------------------
  // Handlers: posts
  // ---------------------------------------------------------------------------------------------

  /** `Post.IsValid` limits (§6): message runes, props JSON runes, type. */
  private validatePost(post: { message: string; props: Record<string, unknown>; type: string }): void {
    if (runeCount(post.message) > this.maxPostSize) {
      throw new ApiError(400, "model.post.is_valid.msg.app_error", `runes=${runeCount(post.message)}`);
    }
    if (runeCount(goJson(post.props)) > this.propsMaxRunes) {
      throw new ApiError(400, "model.post.is_valid.props.app_error");
    }
    const type = post.type;
    const knownType = type === "" || type === "slack_attachment" || type.startsWith("system_");
    if (!knownType && !type.startsWith("custom_"))
      throw new ApiError(400, "model.post.is_valid.type.app_error");
  }

  /** Go decodes the body into `model.Post`; a wrongly typed field fails the whole decode. */
  private decodePostBody(body: unknown, name = "post"): Record<string, unknown> {
    if (!isObject(body)) throw invalidBodyParam(name);
    const types: Record<string, string> = {
      id: "string",
      channel_id: "string",
      root_id: "string",
      parent_id: "string",
      message: "string",
      type: "string",
      pending_post_id: "string",
      is_pinned: "boolean",
      has_reactions: "boolean",
    };
    for (const [key, type] of Object.entries(types)) {
      const value = body[key];
      if (value !== undefined && value !== null && typeof value !== type) throw invalidBodyParam(name);
    }
    const props = body["props"];
    if (props !== undefined && props !== null && !isObject(props)) throw invalidBodyParam(name);
    const fileIds = body["file_ids"];
    if (fileIds !== undefined && fileIds !== null) {
      if (!Array.isArray(fileIds) || fileIds.some((f) => typeof f !== "string")) throw invalidBodyParam(name);
    }
    return body;
  }

  private createPost(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const body = this.decodePostBody(ctx.body);
    const channelId = typeof body["channel_id"] === "string" ? body["channel_id"] : "";
    const channel = this.channels.get(channelId);
    // §1: posting needs channel membership, and team membership for team channels.
    const allowed =
      channel !== undefined &&
      this.isChannelMember(me.id, channel.id) &&
      (channel.teamId === "" || this.isTeamMember(me.id, channel.teamId));
    if (!channel || !allowed) throw permissionError("create_post");

    const now = this.now();
    const pendingPostId = typeof body["pending_post_id"] === "string" ? body["pending_post_id"] : "";
    if (pendingPostId !== "") {
      const seen = this.pendingPostIds.get(pendingPostId);
      if (seen && seen.expiresAt > now) {
        const existing = this.posts.get(seen.postId);
        if (!existing) throw new ApiError(500, "api.post.deduplicate_create_post.pending");
        return { status: 201, body: this.postJson(existing) };
      }
    }

    const rootId = typeof body["root_id"] === "string" ? body["root_id"] : "";
    if (rootId !== "") {
      const root = this.posts.get(rootId);
      if (!root) throw new ApiError(400, "api.post.create_post.root_id.app_error", `root_id=${rootId}`);
      if (root.channel_id !== channel.id) {
        throw new ApiError(this.isV5 ? 500 : 400, "api.post.create_post.channel_root_id.app_error");
      }
      if (root.root_id !== "")
        throw new ApiError(400, "api.post.create_post.root_id.app_error", "reply to a reply");
    }

    let props = isObject(body["props"]) ? clone(body["props"]) : {};
    if (me.isBot) props["from_bot"] = "true"; // §2 "Posting as a bot"
    props = normalizeProps(props, this.atLeast(10, 5));
    const message = typeof body["message"] === "string" ? body["message"] : "";
    const type = typeof body["type"] === "string" ? body["type"] : "";
    this.validatePost({ message, props, type });

    const post: StoredPost = {
      id: newMattermostId(),
      create_at: now,
      update_at: now,
      edit_at: 0,
      delete_at: 0,
      is_pinned: body["is_pinned"] === true,
      user_id: me.id,
      channel_id: channel.id,
      root_id: rootId,
      parent_id: this.isV5 && typeof body["parent_id"] === "string" ? body["parent_id"] : "",
      original_id: "",
      message,
      type,
      props,
      hashtags: parseHashtags(message),
      file_ids: Array.isArray(body["file_ids"]) ? (body["file_ids"] as string[]) : [],
      pending_post_id: "",
      has_reactions: false,
      seq: ++this.postSeq,
    };
    this.posts.set(post.id, post);
    if (rootId !== "") this.replyCounts.set(rootId, (this.replyCounts.get(rootId) ?? 0) + 1);
    channel.lastPostAt = now;
    channel.totalMsgCount++;
    if (rootId === "") {
      channel.lastRootPostAt = now;
      channel.totalMsgCountRoot++;
    }
    if (pendingPostId !== "") {
      this.pendingPostIds.set(pendingPostId, { postId: post.id, expiresAt: now + PENDING_POST_ID_TTL_MS });
    }
    this.emit({ type: "post_created", post: this.postRecord(post) });
    return { status: 201, body: this.postJson(post, pendingPostId) };
  }

  private readablePost(ctx: RequestContext): { me: UserRecord; post: StoredPost } {
    const me = this.sessionUser(ctx);
    const id = this.requireIdParam(ctx, "post_id");
    const post = this.posts.get(id);
    if (!post) throw new ApiError(404, "app.post.get.app_error", `id=${id}`);
    const channel = this.channels.get(post.channel_id);
    if (!channel || !this.canReadChannel(me.id, channel)) {
      throw permissionError(channel?.type === "O" ? "read_public_channel" : "read_channel");
    }
    return { me, post };
  }

  private getPost(ctx: RequestContext): Reply {
    const { post } = this.readablePost(ctx);
    return { status: 200, body: this.postJson(post) };
  }

  private getThread(ctx: RequestContext): Reply {
    const { post } = this.readablePost(ctx);
    const rootId = post.root_id || post.id;
    const thread = this.sortedPosts((p) => p.id === rootId || p.root_id === rootId);
    // 5.36 listed the requested post first and then the whole thread again (§2 "thread").
    const order = this.isV5 ? [post.id, ...thread.map((p) => p.id)] : [...thread].reverse().map((p) => p.id);
    return { status: 200, body: this.postList(thread, order) };
  }

  private getChannelPosts(ctx: RequestContext): Reply {
    const me = this.sessionUser(ctx);
    const id = this.requireIdParam(ctx, "channel_id");
    const channel = this.channels.get(id);
    if (!channel || !this.canReadChannel(me.id, channel)) throw permissionError("read_channel");
    const since = Number.parseInt(ctx.query.get("since") ?? "", 10);
    if (since > 0) {
      // `since` (ms): every post of the channel changed after that time, newest first; the
      // server caps the answer at 1000 posts (GetPostsSince's limit).
      const changed = this.sortedPosts((p) => p.channel_id === id && p.update_at > since)
        .reverse()
        .slice(0, POSTS_SINCE_LIMIT);
      return {
        status: 200,
        body: this.postList(
          changed,
          changed.map((p) => p.id),
        ),
      };
    }
    const page = Math.max(0, Number.parseInt(ctx.query.get("page") ?? "0", 10) || 0);
    const perPageRaw = Number.parseInt(ctx.query.get("per_page") ?? "", 10);
    const perPage = Number.isNaN(perPageRaw)
      ? DEFAULT_PER_PAGE
      : Math.min(Math.max(perPageRaw, 0), MAX_PER_PAGE);
    const newestFirst = this.sortedPosts((p) => p.channel_id === id).reverse();
    const slice = newestFirst.slice(page * perPage, page * perPage + perPage);
    return {
      status: 200,
      body: this.postList(
        slice,
        slice.map((p) => p.id),
      ),
    };
  }

  /** The checks `updatePost`/`patchPost` do before touching the post (§2): unknown post is 403. */
  private editablePost(ctx: RequestContext): { me: UserRecord; post: StoredPost } {
    const me = this.sessionUser(ctx);
    const id = this.requireIdParam(ctx, "post_id");
    const post = this.posts.get(id);
    if (!post || !this.isChannelMember(me.id, post.channel_id)) throw permissionError("edit_post");
    if (post.user_id !== me.id && !this.isAdmin(me.id)) throw permissionError("edit_others_posts");
    return { me, post };
  }

  /** `App.UpdatePost(post, safeUpdate=false)`: validates, stores, emits. */
  private storeUpdate(
    post: StoredPost,
    next: {
      message: string;
      props: Record<string, unknown>;
      is_pinned: boolean;
      has_reactions: boolean;
      file_ids: string[];
    },
  ): StoredPost {
    const props = normalizeProps(next.props, this.atLeast(10, 5));
    this.validatePost({ message: next.message, props, type: post.type });
    const previous = this.postRecord(post);
    const now = this.now();
    const messageChanged = post.message !== next.message;
    const attachmentsChanged =
      goJson(post.props["attachments"] ?? null) !== goJson(props["attachments"] ?? null);
    const filesChanged = goJson(post.file_ids) !== goJson(next.file_ids);
    post.message = next.message;
    post.hashtags = parseHashtags(next.message);
    post.props = props;
    post.is_pinned = next.is_pinned;
    post.has_reactions = next.has_reactions;
    post.file_ids = next.file_ids;
    post.update_at = now;
    if (messageChanged || attachmentsChanged || filesChanged) post.edit_at = now;
    this.emit({ type: "post_updated", post: this.postRecord(post), previous });
    return post;
  }

  private updatePost(ctx: RequestContext): Reply {
    const postId = this.requireIdParam(ctx, "post_id");
    const body = this.decodePostBody(ctx.body);
    if (body["id"] !== postId) throw invalidBodyParam("id");
    const { post } = this.editablePost(ctx);
    // §2: full replace. Omitted fields become blank; file_ids cannot be changed through the API.
    const updated = this.storeUpdate(post, {
      message: typeof body["message"] === "string" ? body["message"] : "",
      props: isObject(body["props"]) ? clone(body["props"]) : {},
      is_pinned: body["is_pinned"] === true,
      has_reactions: body["has_reactions"] === true,
      file_ids: post.file_ids,
    });
    return { status: 200, body: this.postJson(updated) };
  }

  private patchPost(ctx: RequestContext): Reply {
    this.requireIdParam(ctx, "post_id");
    const body = this.decodePostBody(ctx.body);
    const { post } = this.editablePost(ctx);
    // §2: only given fields change (file_ids in a patch are ignored).
    const updated = this.storeUpdate(post, {
      message: typeof body["message"] === "string" ? body["message"] : post.message,
      props: isObject(body["props"]) ? clone(body["props"]) : clone(post.props),
      is_pinned: typeof body["is_pinned"] === "boolean" ? body["is_pinned"] : post.is_pinned,
      has_reactions: typeof body["has_reactions"] === "boolean" ? body["has_reactions"] : post.has_reactions,
      file_ids: post.file_ids,
    });
    return { status: 200, body: this.postJson(updated) };
  }

  // ---------------------------------------------------------------------------------------------
  // The click (§4)
  // ---------------------------------------------------------------------------------------------

  private async doPostAction(ctx: RequestContext): Promise<Reply> {
    const me = this.sessionUser(ctx);
    const postId = this.requireIdParam(ctx, "post_id");
    const actionId = ctx.params["action_id"] ?? "";
    if (!ACTION_ID_PATTERN.test(actionId)) throw new ApiError(404, "api.context.404.app_error");
    const request = isObject(ctx.body) ? ctx.body : {};
    const selectedOption = typeof request["selected_option"] === "string" ? request["selected_option"] : "";
    const cookie = typeof request["cookie"] === "string" ? request["cookie"] : "";
    if (cookie !== "") {
      // Cookies carry encrypted integrations of ephemeral posts; the stand-in never issues any.
      throw integrationError("err=unable to decrypt the action cookie");
    }
    const post = this.posts.get(postId);
    if (!post || !this.isChannelMember(me.id, post.channel_id)) throw permissionError("read_channel");
    const channel = this.channels.get(post.channel_id);
    if (!channel) throw new ApiError(500, "app.channel.get_for_post.app_error");

    const action = attachmentActions(post.props).find((a) => a["id"] === actionId);
    const integration = action?.["integration"];
    if (!action || !isObject(integration)) {
      throw new ApiError(404, "api.post.do_action.action_id.app_error", `action=${actionId}`);
    }

    const originalProps = clone(post.props);
    const retain: Record<string, unknown> = {};
    const remove: string[] = [];
    for (const key of RETAINED_PROP_KEYS) {
      if (key in originalProps) retain[key] = originalProps[key];
      else remove.push(key);
    }
    const rootPostId = post.root_id || post.id;
    const team = channel.teamId ? this.teams.get(channel.teamId) : undefined;
    const type = typeof action["type"] === "string" ? action["type"] : "";
    let context = isObject(integration["context"]) ? clone(integration["context"]) : undefined;
    let dataSource = "";
    if (type === "select" && selectedOption !== "") {
      context = context ?? {};
      context["selected_option"] = selectedOption;
      dataSource = typeof action["data_source"] === "string" ? action["data_source"] : "";
    }
    const { clientTriggerId, triggerId } = this.mintTrigger(me.id, {
      userId: me.id,
      postId: post.id,
      channelId: channel.id,
      teamId: channel.teamId,
    });
    // Field order of model.PostActionIntegrationRequest; `context` is omitempty.
    const upstream: Record<string, unknown> = {
      user_id: me.id,
      user_name: me.username,
      channel_id: channel.id,
      channel_name: channel.name,
      team_id: channel.teamId,
      team_domain: team?.name ?? "",
      post_id: post.id,
      trigger_id: triggerId,
      type,
      data_source: dataSource,
    };
    if (context && Object.keys(context).length > 0) upstream["context"] = context;

    const url = typeof integration["url"] === "string" ? integration["url"] : "";
    const result = await this.callIntegration("action", url, upstream, ctx.session?.token ?? "");
    const text = result.body.toString("utf8");
    let response: Record<string, unknown> = {};
    const empty = this.isV5 ? text.trim() === "" : result.body.length === 0;
    if (empty && this.isV5) throw integrationError("err=EOF");
    if (!empty) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw integrationError(`err=${error instanceof Error ? error.message : String(error)}`);
      }
      if (parsed !== null && !isObject(parsed))
        throw integrationError("err=json: cannot unmarshal into a response");
      response = parsed ?? {};
    }

    const update = response["update"];
    if (update !== undefined && update !== null) {
      if (!isObject(update)) throw integrationError("err=json: cannot unmarshal update");
      let decoded: Record<string, unknown>;
      try {
        decoded = this.decodePostBody(update);
      } catch {
        throw integrationError("err=json: cannot unmarshal update");
      }
      const current = this.posts.get(post.id);
      if (current) {
        let props: Record<string, unknown>;
        if (decoded["props"] === undefined || decoded["props"] === null) {
          props = originalProps;
        } else {
          props = clone(decoded["props"] as Record<string, unknown>);
          for (const [key, value] of Object.entries(retain)) props[key] = value;
          for (const key of remove) delete props[key];
        }
        this.storeUpdate(current, {
          message: typeof decoded["message"] === "string" ? decoded["message"] : "",
          props,
          is_pinned: current.is_pinned,
          has_reactions: current.has_reactions,
          file_ids: Array.isArray(decoded["file_ids"]) ? (decoded["file_ids"] as string[]) : [],
        });
      }
    }

    const ephemeralText = typeof response["ephemeral_text"] === "string" ? response["ephemeral_text"] : "";
    if (ephemeralText !== "") {
      // 5.x parsed Slack links even with skip_slack_parsing (the flag only worked later).
      const parse = this.isV5 || response["skip_slack_parsing"] !== true;
      const now = this.now();
      const ephemeralPost: StandinPost = {
        id: newMattermostId(),
        create_at: now,
        update_at: now,
        edit_at: 0,
        delete_at: 0,
        is_pinned: false,
        user_id: me.id,
        channel_id: channel.id,
        root_id: rootPostId,
        parent_id: "",
        original_id: "",
        message: parse ? parseSlackLinks(ephemeralText) : ephemeralText,
        type: "system_ephemeral",
        props: { ...retain },
        hashtags: "",
        file_ids: [],
        pending_post_id: "",
        has_reactions: false,
      };
      const list = this.ephemeral.get(me.id) ?? [];
      list.push(ephemeralPost);
      this.ephemeral.set(me.id, list);
      this.emit({ type: "ephemeral_post", userId: me.id, post: clone(ephemeralPost) });
    }
    return { status: 200, body: { status: "OK", trigger_id: clientTriggerId } };
  }

  /** `GenerateTriggerId`: base64 of `<clientTriggerId>:<userId>:<millis>:<base64 ECDSA signature>`. */
  private mintTrigger(userId: string, record: TriggerRecord): { clientTriggerId: string; triggerId: string } {
    const clientTriggerId = newMattermostId();
    const data = `${clientTriggerId}:${userId}:${this.now()}:`;
    const signature = sign("sha256", Buffer.from(data), this.signingKey).toString("base64");
    this.triggers.set(clientTriggerId, record);
    return { clientTriggerId, triggerId: Buffer.from(data + signature).toString("base64") };
  }

  /** `DecodeAndVerifyTriggerId`. */
  private decodeTrigger(triggerId: string): { clientTriggerId: string; userId: string } {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(triggerId) || triggerId.length % 4 !== 0) {
      throw new ApiError(400, "interactive_message.decode_trigger_id.base64_decode_failed");
    }
    const parts = Buffer.from(triggerId, "base64").toString("utf8").split(":");
    if (parts.length !== 4) throw new ApiError(400, "interactive_message.decode_trigger_id.missing_data");
    const [clientTriggerId = "", userId = "", millis = "", signature = ""] = parts;
    const timeout = this.triggerTimeoutMs;
    if (this.now() - (Number.parseInt(millis, 10) || 0) > timeout) {
      throw new ApiError(400, "interactive_message.decode_trigger_id.expired", "", {
        Seconds: timeout / 1000,
      });
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(signature)) {
      throw new ApiError(400, "interactive_message.decode_trigger_id.base64_decode_failed_signature");
    }
    let valid = false;
    try {
      valid = verify(
        "sha256",
        Buffer.from(`${clientTriggerId}:${userId}:${millis}:`),
        this.verifyKey,
        Buffer.from(signature, "base64"),
      );
    } catch {
      throw new ApiError(400, "interactive_message.decode_trigger_id.signature_decode_failed");
    }
    if (!valid) throw new ApiError(400, "interactive_message.decode_trigger_id.verify_signature_failed");
    return { clientTriggerId, userId };
  }

  // ---------------------------------------------------------------------------------------------
  // Dialogs (§5)
  // ---------------------------------------------------------------------------------------------

  private openDialog(ctx: RequestContext): Reply {
    const body = ctx.body;
    if (!isObject(body)) throw invalidBodyParam("dialog");
    for (const key of ["trigger_id", "url"]) {
      if (body[key] !== undefined && body[key] !== null && typeof body[key] !== "string")
        throw invalidBodyParam("dialog");
    }
    if (body["dialog"] !== undefined && body["dialog"] !== null && !isObject(body["dialog"])) {
      throw invalidBodyParam("dialog");
    }
    const url = typeof body["url"] === "string" ? body["url"] : "";
    if (url === "") throw invalidBodyParam("url");
    const { clientTriggerId, userId } = this.decodeTrigger(
      typeof body["trigger_id"] === "string" ? body["trigger_id"] : "",
    );
    const dialog = isObject(body["dialog"]) ? clone(body["dialog"]) : {};
    const origin = this.triggers.get(clientTriggerId);
    const record: OpenDialog = {
      userId,
      triggerId: clientTriggerId,
      url,
      dialog,
      openedAt: this.now(),
      origin: origin
        ? { postId: origin.postId, channelId: origin.channelId, teamId: origin.teamId }
        : undefined,
      warnings: dialogWarnings(dialog),
    };
    const list = this.dialogs.get(userId) ?? [];
    list.push(record);
    this.dialogs.set(userId, list);
    this.emit({ type: "dialog_opened", dialog: clone(record) });
    return { status: 200, body: { status: "OK" } };
  }

  private async submitDialogHandler(ctx: RequestContext): Promise<Reply> {
    const me = this.sessionUser(ctx);
    const body = ctx.body;
    if (!isObject(body)) throw invalidBodyParam("dialog");
    for (const key of ["url", "callback_id", "state", "channel_id", "team_id"]) {
      if (body[key] !== undefined && body[key] !== null && typeof body[key] !== "string")
        throw invalidBodyParam("dialog");
    }
    const submission = body["submission"];
    if (submission !== undefined && submission !== null && !isObject(submission))
      throw invalidBodyParam("dialog");
    const url = typeof body["url"] === "string" ? body["url"] : "";
    if (url === "") throw invalidBodyParam("url");
    const channelId = typeof body["channel_id"] === "string" ? body["channel_id"] : "";
    const channel = this.channels.get(channelId);
    if (!channel || !this.isChannelMember(me.id, channel.id)) throw permissionError("read_channel");
    let teamId = typeof body["team_id"] === "string" ? body["team_id"] : "";
    if (this.atLeast(11, 10)) {
      teamId = channel.teamId; // §7: 11.10 derives team_id server-side
    } else if (teamId === "" || !this.isTeamMember(me.id, teamId)) {
      throw permissionError("view_team");
    }
    const callbackId = typeof body["callback_id"] === "string" ? body["callback_id"] : "";
    // Field order of model.SubmitDialogRequest with `url` removed (§10).
    const payload: Record<string, unknown> = {
      type: "dialog_submission",
      callback_id: callbackId,
      state: typeof body["state"] === "string" ? body["state"] : "",
      user_id: me.id,
      channel_id: channelId,
      team_id: teamId,
      submission: isObject(submission) ? submission : null,
      cancelled: body["cancelled"] === true,
    };
    const result = await this.callIntegration("dialog_submission", url, payload, ctx.session?.token ?? "");
    let reply: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(result.body.toString("utf8"));
      if (isObject(parsed)) reply = parsed;
    } catch {
      // Mattermost ignores an undecodable dialog reply and answers {}.
    }
    const answer: Record<string, unknown> = {};
    if (typeof reply["error"] === "string" && reply["error"] !== "") answer["error"] = reply["error"];
    if (isObject(reply["errors"]) && Object.keys(reply["errors"]).length > 0)
      answer["errors"] = reply["errors"];
    if (answer["error"] === undefined && answer["errors"] === undefined) {
      const open = this.dialogs.get(me.id) ?? [];
      const index = open.findIndex((d) => d.url === url && (d.dialog["callback_id"] ?? "") === callbackId);
      if (index >= 0) open.splice(index, 1);
    }
    this.emit({
      type: "dialog_submitted",
      userId: me.id,
      url,
      payload: clone(payload),
      reply: clone(answer),
    });
    return { status: 200, body: answer };
  }

  // ---------------------------------------------------------------------------------------------
  // The outgoing "untrusted" HTTP client (§4 "Which URLs Mattermost may call", "Timeouts")
  // ---------------------------------------------------------------------------------------------

  private allowHost(host: string): boolean {
    return this.allowedUntrusted.includes(host);
  }

  private allowIp(address: string): boolean {
    const ip = ipBytes(address);
    if (!ip) return false;
    if (!isReservedIp(ip) && !isOwnIp(ip)) return true;
    return this.allowedUntrusted.some((entry) => entry.includes("/") && cidrContains(entry, ip));
  }

  private async callIntegration(
    kind: OutgoingLogEntry["kind"],
    rawUrl: string,
    payload: Record<string, unknown>,
    sessionToken: string,
  ): Promise<OutgoingResult> {
    const body = goJson(payload);
    const entry: OutgoingLogEntry = { kind, url: rawUrl, headers: {}, body: clone(payload), at: this.now() };
    this.outgoingLog.push(entry);
    const fail = (detail: string, status = 400): never => {
      entry.error = detail;
      this.emit({ type: "integration_request", request: clone(entry) });
      throw integrationError(detail, status);
    };
    let url: URL;
    try {
      url = rawUrl.startsWith("/") ? new URL(rawUrl, this.url) : new URL(rawUrl);
    } catch {
      return fail(`err=parse "${rawUrl}": invalid URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return fail(`err=Post "${rawUrl}": unsupported protocol scheme "${url.protocol.replace(/:$/, "")}"`);
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    // Plugin routes on this server go through the trusted client with the user's session.
    const trusted = ["localhost", "127.0.0.1"].includes(host) && url.pathname.startsWith("/plugins");
    let connectAddress: string | undefined;
    if (!trusted && !this.allowHost(host)) {
      let addresses: string[];
      if (isIP(host)) {
        addresses = [host];
      } else {
        try {
          addresses = (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);
        } catch {
          return fail(`err=Post "${rawUrl}": dial tcp: lookup ${host}: no such host`);
        }
      }
      connectAddress = addresses.find((a) => this.allowIp(a));
      if (connectAddress === undefined) {
        return fail(
          `err=Post "${rawUrl}": address forbidden, you may need to set AllowedUntrustedInternalConnections to allow an integration access to your internal network`,
        );
      }
    }
    // Go writes Host, User-Agent, Content-Length, the request's headers sorted, then Accept-Encoding.
    const headers: Record<string, string> = {
      Host: url.host,
      "User-Agent": OUTGOING_USER_AGENT,
      "Content-Length": String(Buffer.byteLength(body)),
      Accept: "application/json",
    };
    if (trusted) headers["Authorization"] = `Bearer ${sessionToken}`;
    // Go's client turns user:password@ in the URL into basic auth.
    else if (url.username || url.password) {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers["Authorization"] = `Basic ${Buffer.from(credentials).toString("base64")}`;
    }
    headers["Content-Type"] = "application/json";
    headers["Accept-Encoding"] = "gzip";
    entry.headers = { ...headers };

    const secure = url.protocol === "https:";
    const transport = secure ? https : http;
    const extraCa = this.opts.outgoingCa ?? [];
    const options: https.RequestOptions = {
      method: "POST",
      host: connectAddress ?? host,
      port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      agent: false,
    };
    if (secure) {
      options.servername = isIP(host) ? undefined : host;
      options.rejectUnauthorized = !this.opts.insecureOutgoingConnections;
      if (extraCa.length > 0) options.ca = [...rootCertificates, ...extraCa.map((c) => c.toString())];
    }
    const connectTimeoutMs = this.opts.outgoingConnectTimeoutMs ?? OUTGOING_CONNECT_TIMEOUT_MS;
    let result: OutgoingResult;
    try {
      result = await new Promise<OutgoingResult>((resolve, reject) => {
        const req = transport.request(options, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            let data = Buffer.concat(chunks);
            if ((res.headers["content-encoding"] ?? "").toLowerCase() === "gzip") {
              try {
                data = gunzipSync(data);
              } catch (error) {
                reject(error);
                return;
              }
            }
            resolve({ status: res.statusCode ?? 0, body: data });
          });
        });
        req.removeHeader("Connection"); // Go sends no Connection header
        this.outgoing.add(req);
        const total = setTimeout(
          () =>
            req.destroy(
              new Error("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
            ),
          this.outgoingTimeoutMs,
        );
        const connect = setTimeout(() => req.destroy(new Error("dial tcp: i/o timeout")), connectTimeoutMs);
        req.on("socket", (socket) => {
          const connected = () => clearTimeout(connect);
          socket.once(secure ? "secureConnect" : "connect", connected);
        });
        req.on("close", () => {
          clearTimeout(total);
          clearTimeout(connect);
          this.outgoing.delete(req);
        });
        req.on("error", reject);
        req.end(body);
      });
    } catch (error) {
      return fail(`err=Post "${rawUrl}": ${error instanceof Error ? error.message : String(error)}`);
    }
    entry.status = result.status;
    entry.responseText = result.body.toString("utf8");
    if (result.status !== 200) {
      let status = 400;
      if (this.atLeast(11, 10) && result.status >= 500) status = result.status === 503 ? 503 : 502;
      if (this.atLeast(11, 10) && result.status === 429) status = 429;
      return fail(`status=${result.status}`, status);
    }
    this.emit({ type: "integration_request", request: clone(entry) });
    return result;
  }
}

/** §5 limits, reported (not enforced) for an opened dialog. */
function dialogWarnings(dialog: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  const title = typeof dialog["title"] === "string" ? dialog["title"] : "";
  if (title === "") warnings.push("dialog title is empty");
  if (runeCount(title) > DIALOG_LIMITS.titleRunes)
    warnings.push(`title longer than ${DIALOG_LIMITS.titleRunes} runes`);
  const elements = Array.isArray(dialog["elements"]) ? dialog["elements"] : [];
  elements.forEach((element, i) => {
    if (!isObject(element)) {
      warnings.push(`elements[${i}] is not an object`);
      return;
    }
    const text = (key: string) => (typeof element[key] === "string" ? (element[key] as string) : "");
    const type = text("type");
    if (!DIALOG_ELEMENT_TYPES.includes(type)) warnings.push(`elements[${i}].type "${type}" is unknown`);
    if (runeCount(text("display_name")) > DIALOG_LIMITS.displayNameRunes) {
      warnings.push(`elements[${i}].display_name longer than ${DIALOG_LIMITS.displayNameRunes} runes`);
    }
    if (text("name") === "" || runeCount(text("name")) > DIALOG_LIMITS.nameRunes) {
      warnings.push(`elements[${i}].name empty or longer than ${DIALOG_LIMITS.nameRunes} runes`);
    }
    if (runeCount(text("help_text")) > DIALOG_LIMITS.helpTextRunes) {
      warnings.push(`elements[${i}].help_text longer than ${DIALOG_LIMITS.helpTextRunes} runes`);
    }
    const valueLimit = type === "textarea" ? DIALOG_LIMITS.textareaValueRunes : DIALOG_LIMITS.textValueRunes;
    if (type === "text" || type === "textarea") {
      for (const key of ["default", "placeholder"]) {
        if (runeCount(text(key)) > valueLimit)
          warnings.push(`elements[${i}].${key} longer than ${valueLimit} runes`);
      }
      const maxLength = element["max_length"];
      if (typeof maxLength === "number" && maxLength > valueLimit) {
        warnings.push(`elements[${i}].max_length above ${valueLimit}`);
      }
    }
  });
  return warnings;
}

/**
 * Platform constants of the Mattermost stand-in. Every number here is a Mattermost behaviour, not
 * a choice of ours; each cites its section of ../shared/design/MATTERMOST-API.md (§n) or the real
 * server's source (mattermost/mattermost `server/public/model/*.go`, `server/channels/api4/*.go`).
 */

/** Default server version reported in `X-Version-Id` and used for version-dependent behaviour. */
export const DEFAULT_MATTERMOST_VERSION = "9.11.0";
/** MATTERMOST-API.md §1: ids are 26 characters (Mattermost's base32 alphabet, lowercase). */
export const MATTERMOST_ID_LENGTH = 26;
/** Alphabet of `model.NewId()` (base32 with a custom, lowercase alphabet). §1. */
export const ID_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769";
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
export const ACTION_ID_PATTERN = /^[A-Za-z0-9]+$/;
/** §4 "What Mattermost POSTs": the outgoing client's user agent. */
export const OUTGOING_USER_AGENT = "Mattermost-Bot/1.1";
/** §4 "Response the integration returns": props kept from the original post across an action update. */
export const RETAINED_PROP_KEYS = ["from_webhook", "override_username", "override_icon_url"] as const;
/** §3: `RateLimitSettings` defaults. */
export const DEFAULT_RATE_LIMIT = { perSec: 10, maxBurst: 100 } as const;
/**
 * §4 "Which URLs Mattermost may call": loopback, private and link-local ranges the untrusted
 * client refuses (the RFC 6890 list of `services/httpservice`), plus the server's own addresses.
 */
export const RESERVED_CIDRS = [
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
export const DIALOG_LIMITS = {
  titleRunes: 24,
  displayNameRunes: 24,
  nameRunes: 300,
  helpTextRunes: 150,
  textValueRunes: 150,
  textareaValueRunes: 3000,
} as const;
/** §5 dialog element types (5.x–10.x; `date`, `datetime` 11.1; `file`, `action_button` 11.10). */
export const DIALOG_ELEMENT_TYPES = [
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
export const POSTS_SINCE_LIMIT = 1000;
/** OpenAPI `GET /channels/{channel_id}/posts`: `per_page` default 60; Mattermost caps pages at 200. */
export const DEFAULT_PER_PAGE = 60;
export const MAX_PER_PAGE = 200;
/** Usernames `model.IsValidUsername` refuses (reserved mention keywords). */
export const RESTRICTED_USERNAMES = new Set(["all", "channel", "here", "matterbot", "system"]);

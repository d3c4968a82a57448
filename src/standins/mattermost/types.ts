/**
 * The stand-in's public types: its options (the `ServiceSettings`, `RateLimitSettings`,
 * `PrivacySettings` and `TeamSettings` of a real server's config.json that matter to the bot,
 * `server/public/model/config.go`), the records it hands to tests in the API's snake_case shape
 * (`model.Post`, `model.User`, `model.Team`, `model.Channel`), its logs, events and faults.
 */

import type * as http from "node:http";
import type { ProxyFault } from "./proxy-faults.js";

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
  | ProxyFault
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

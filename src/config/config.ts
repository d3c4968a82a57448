/**
 * The daemon's configuration after loading: every default applied, every value checked, every
 * file path absolute (relative paths in the file are relative to the file's folder), secrets
 * read from their files. Code outside config/ only ever sees this shape, never the TOML.
 */
import type { MappingRules, ReviewRules } from "../core/review-policy.js";

export interface Config {
  /** Absolute path of the file this was loaded from (SIGHUP reloads it). */
  configPath: string;
  teleport: TeleportConfig;
  mattermost: MattermostConfig;
  http: HttpConfig;
  health: HealthConfig;
  log: LogConfig;
  review: ReviewConfig;
  /**
   * Requested role → recipients to notify (user names/emails or `team/channel`); `*` is the
   * fallback for roles without an entry. Empty when the file has no [role_to_recipients].
   */
  roleToRecipients: Record<string, string[]>;
  /** Reminders in the threads of requests left pending; undefined when off (the default). */
  reminders: RemindersConfig | undefined;
}

export interface RemindersConfig {
  /** First reminder this long after the request was created. */
  afterMs: number;
  /** Then one every this long while it stays pending; 0 = only one. Default: afterMs. */
  everyMs: number;
}

export interface TeleportConfig {
  /** host:port of the auth server (or proxy); default `localhost:3025`. */
  addr: string;
  credentials: TeleportCredentials;
  /** Re-read the identity file periodically (tbot renews it); only with an identity file. */
  refreshIdentity: boolean;
  /** How often to re-read it; default 60 000 (1m). */
  refreshIdentityIntervalMs: number;
  /** PEM file of the CA of a proxy's web certificate, trusted besides Node's public CAs. */
  proxyCaFile?: string;
  /** Force the proxy connection upgrade on or off; absent = detect. */
  connectionUpgrade?: boolean;
}

/** Where the plugin's Teleport identity lives: the three `--format=tls` files, or one identity file. */
export type TeleportCredentials =
  | { kind: "tls-files"; clientKey: string; clientCrt: string; rootCas: string }
  | { kind: "identity-file"; identity: string };

export interface MattermostConfig {
  /** Base URL without a trailing slash, e.g. `https://mattermost.example.com`. */
  url: string;
  /** PEM file of CAs that sign Mattermost's certificate, trusted besides the default ones; default none. */
  caFile: string | undefined;
  /** Team and channel *names* (URL handles) of the channel posts go to; both or neither. */
  team: string | undefined;
  channel: string | undefined;
  /** The bot's access token (already read from its file when the config named one). */
  token: string;
  /** The file the token was read from, when it was. */
  tokenFile: string | undefined;
  /** HMAC key for signed button contexts; at least 16 characters. */
  secret: string;
  /** Extra recipients of every request; default []. */
  recipients: string[];
  /** DM the request's suggested reviewers who are Mattermost users; default true. */
  dmSuggestedReviewers: boolean;
  /** DM the requester the outcome when they are a Mattermost user; default true. */
  notifyRequester: boolean;
  /** Mattermost runs as several app servers, whose duplicate-post guard is per server; default false. */
  haCluster: boolean;
}

export interface HttpConfig {
  /** Base URL Mattermost calls back, without credentials or trailing slash. */
  publicUrl: string;
  /** Where the callback server listens; `host` is "" for every interface. Default `:8081`. */
  listen: { host: string; port: number };
  /** True when started with --insecure-no-tls: plain HTTP behind a TLS-terminating proxy. */
  insecureNoTls: boolean;
  /** Callback server key and certificate; undefined → a self-signed pair is generated. */
  httpsKeyFile: string | undefined;
  httpsCertFile: string | undefined;
  /** From [http.basic_auth] or from `user:password@` in public_addr. */
  basicAuth: { user: string; password: string } | undefined;
  /** Require client certificates on the callback server; default false. */
  verifyClientCert: boolean;
  /** CA bundle that verifies those client certificates; undefined → the system's CAs. */
  clientCaFile: string | undefined;
}

/**
 * How decisions from Mattermost reach Teleport: as a review authored by the mapped user, which
 * Teleport judges ("review"), as a state change under this daemon's approver policy ("state"), or
 * the first where the server accepts reviews on behalf of a user and the second otherwise ("auto").
 */
export type ReviewMode = "auto" | "review" | "state";

export interface ReviewConfig {
  /** Default "auto". */
  mode: ReviewMode;
  /** Mattermost user → Teleport user. Default: nothing maps (every click is refused). */
  mapping: MappingRules;
  /** Reasons (default optional), link-only roles (default none), approvers (default nobody). */
  rules: ReviewRules;
}

export interface HealthConfig {
  /** Where /healthz, /readyz and /metrics are served (plain HTTP); default `127.0.0.1:8082`. */
  listen: { host: string; port: number };
}

export type LogSeverity = "debug" | "info" | "warn" | "error";

export type LogOutput = { kind: "stderr" } | { kind: "stdout" } | { kind: "file"; path: string };

export type LogFormat = "text" | "json";

export interface LogConfig {
  /** Default stderr. */
  output: LogOutput;
  /** Default info. */
  severity: LogSeverity;
  /** Default text. */
  format: LogFormat;
}

/** Problems that do not stop loading (deprecated keys, settings without effect), one line each. */
export type ConfigWarning = string;

export interface LoadedConfig {
  config: Config;
  warnings: ConfigWarning[];
}

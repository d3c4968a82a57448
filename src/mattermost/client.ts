/**
 * A small Mattermost REST API v4 client for a bot account: bearer token, explicit timeouts,
 * keep-alive connections (undici), extra CAs on top of the default ones, the forward proxy of
 * HTTPS_PROXY/HTTP_PROXY unless NO_PROXY names the server, JSON parsed whatever the content
 * type, typed errors from Mattermost's error body, and retries of 429 (honouring Retry-After),
 * 5xx and connection resets. Only the endpoints the daemon needs (MATTERMOST-API.md §2).
 */
import type { IncomingHttpHeaders } from "node:http";
import { rootCertificates } from "node:tls";
import { Agent, type Dispatcher, ProxyAgent } from "undici";
import { AppError } from "../errors.js";
import { type BackoffPolicy, backoffDelay } from "../lib/backoff.js";
import type { CallObserver } from "../lib/call-observer.js";
import { type Clock, systemClock } from "../lib/clock.js";
import { type ProxyChoice, proxyFor, shownProxy } from "../lib/proxy-env.js";
import { normalizeUserHandle } from "./names.js";
import { RateLimitGate, rateLimitWaitMs } from "./rate-limit-gate.js";
import { tlsFailure } from "./tls-failure.js";
import type {
  MattermostChannel,
  MattermostPost,
  MattermostPostList,
  MattermostTeam,
  MattermostUser,
  PostProps,
} from "./types.js";

/** Default time one API call may take, retries excluded. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Largest response body read; Mattermost's answers to our calls are a few KB. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const RETRY_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000 };
/** Connections to Mattermost, at most: calls beyond wait for one. */
const MAX_SOCKETS = 16;
/**
 * How long an idle connection is kept. undici's default (4 s) would reconnect between calls a
 * few seconds apart; servers that close sooner say so in Keep-Alive, which undici honours.
 */
const KEEP_ALIVE_MS = 30_000;
const USER_AGENT = "teleport-mattermost";

export interface MattermostClientOptions {
  /** Site URL, e.g. https://mattermost.example.com (no /api/v4). */
  url: string;
  token: string;
  /** Extra CA certificates (PEM) to trust for the Mattermost server, besides the default ones. */
  ca?: string;
  /** Where the proxy variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  requestTimeoutMs?: number;
  /** How many times one call is retried on 429/5xx/reset before giving up. */
  maxRetries?: number;
  clock?: Clock;
  random?: () => number;
  /** Called for every retry, for logs and metrics. */
  onRetry?: (info: { method: string; path: string; attempt: number; waitMs: number; reason: string }) => void;
  /** Told about every HTTP exchange (each attempt of a retried call), for metrics and readiness. */
  observer?: CallObserver;
}

export interface ApiErrorBody {
  id?: string;
  message?: string;
  detailed_error?: string;
  request_id?: string;
  status_code?: number;
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const RETRYABLE_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "ECONNABORTED",
]);

export class MattermostClient {
  readonly baseUrl: URL;
  /** The forward proxy Mattermost is reached through, when the environment names one. */
  readonly proxy: ProxyChoice | undefined;
  private readonly token: string;
  private readonly dispatcher: Dispatcher;
  private readonly requestTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly onRetry: MattermostClientOptions["onRetry"];
  private readonly observer: CallObserver | undefined;
  /** Mattermost's rate limit, shared by every call of this client. */
  private readonly gate: RateLimitGate;

  constructor(options: MattermostClientOptions) {
    this.baseUrl = new URL(options.url.replace(/\/+$/, "") + "/");
    this.token = options.token;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? 8;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
    this.observer = options.observer;
    this.gate = new RateLimitGate(this.clock, MAX_SOCKETS);
    // Node's `ca` replaces its default CAs; the configured ones are added to them instead.
    const tls = options.ca ? { ca: [...rootCertificates, options.ca] } : {};
    const pool = { connections: MAX_SOCKETS, keepAliveTimeout: KEEP_ALIVE_MS };
    this.proxy = proxyFor(this.baseUrl, options.env);
    this.dispatcher = this.proxy
      ? new ProxyAgent({ ...pool, uri: this.proxy.url.href, requestTls: tls, proxyTls: tls })
      : new Agent({ ...pool, connect: tls });
  }

  close(): void {
    this.dispatcher.destroy().catch(() => {});
  }

  /** Answers without a token: is this URL a Mattermost server that is up? */
  ping(signal?: AbortSignal): Promise<{ status?: string }> {
    return this.call("GET", "system/ping", undefined, signal);
  }

  getMe(signal?: AbortSignal): Promise<MattermostUser> {
    return this.call("GET", "users/me", undefined, signal);
  }

  getUser(userId: string, signal?: AbortSignal): Promise<MattermostUser> {
    return this.call("GET", `users/${enc(userId)}`, undefined, signal);
  }

  /** Any case: Mattermost stores usernames lower-cased and answers 400 to others (names.ts). */
  getUserByUsername(username: string, signal?: AbortSignal): Promise<MattermostUser> {
    return this.call("GET", `users/username/${enc(normalizeUserHandle(username))}`, undefined, signal);
  }

  /** Any case: emails are stored lower-cased; 5.x answers 400 to others. */
  getUserByEmail(email: string, signal?: AbortSignal): Promise<MattermostUser> {
    return this.call("GET", `users/email/${enc(normalizeUserHandle(email))}`, undefined, signal);
  }

  getTeamByName(team: string, signal?: AbortSignal): Promise<MattermostTeam> {
    return this.call("GET", `teams/name/${enc(team)}`, undefined, signal);
  }

  getChannelByName(team: string, channel: string, signal?: AbortSignal): Promise<MattermostChannel> {
    return this.call("GET", `teams/name/${enc(team)}/channels/name/${enc(channel)}`, undefined, signal);
  }

  /** The bot's own membership of a channel; NOT_FOUND when it is not a member. */
  getChannelMember(
    channelId: string,
    userId: string,
    signal?: AbortSignal,
  ): Promise<{ channel_id: string; user_id: string }> {
    return this.call("GET", `channels/${enc(channelId)}/members/${enc(userId)}`, undefined, signal);
  }

  /** A user's membership of a team; NOT_FOUND when they are not a member. */
  getTeamMember(
    teamId: string,
    userId: string,
    signal?: AbortSignal,
  ): Promise<{ team_id: string; user_id: string }> {
    return this.call("GET", `teams/${enc(teamId)}/members/${enc(userId)}`, undefined, signal);
  }

  createDirectChannel(botUserId: string, userId: string, signal?: AbortSignal): Promise<MattermostChannel> {
    return this.call("POST", "channels/direct", [botUserId, userId], signal);
  }

  /**
   * Creates a post. `pendingPostId` makes a repeat within 30 s return the same post instead of a
   * second one (MATTERMOST-API.md §10), so a retried create never doubles.
   */
  createPost(
    post: { channelId: string; message: string; props?: PostProps; rootId?: string; pendingPostId?: string },
    signal?: AbortSignal,
  ): Promise<MattermostPost> {
    const body: Record<string, unknown> = { channel_id: post.channelId, message: post.message };
    if (post.props) body["props"] = post.props;
    if (post.rootId) body["root_id"] = post.rootId;
    if (post.pendingPostId) body["pending_post_id"] = post.pendingPostId;
    return this.call("POST", "posts?set_online=false", body, signal);
  }

  /** Changes only the given fields; props given replace all props (MATTERMOST-API.md §2). */
  patchPost(
    postId: string,
    patch: { message?: string; props?: PostProps },
    signal?: AbortSignal,
  ): Promise<MattermostPost> {
    return this.call("PUT", `posts/${enc(postId)}/patch`, patch, signal);
  }

  /** Posts of a channel changed since `since` (ms), newest first; used to find a post made before a crash. */
  getChannelPostsSince(channelId: string, since: number, signal?: AbortSignal): Promise<MattermostPostList> {
    return this.call(
      "GET",
      `channels/${enc(channelId)}/posts?since=${Math.max(0, Math.floor(since))}`,
      undefined,
      signal,
    );
  }

  getPost(postId: string, signal?: AbortSignal): Promise<MattermostPost> {
    return this.call("GET", `posts/${enc(postId)}`, undefined, signal);
  }

  /** Opens an interactive dialog for the user whose click minted `triggerId` (§5). */
  openDialog(
    request: { triggerId: string; url: string; dialog: Record<string, unknown> },
    signal?: AbortSignal,
  ): Promise<unknown> {
    return this.call(
      "POST",
      "actions/dialogs/open",
      { trigger_id: request.triggerId, url: request.url, dialog: request.dialog },
      signal,
    );
  }

  private async call<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const done = await this.gate.enter(signal);
      let response: RawResponse | undefined;
      let retryReason: string;
      let retryWaitMs: number;
      let sleepMs: number;
      try {
        response = await this.send(method, path, payload, signal);
        done(response);
        if (response.status >= 200 && response.status < 300) return parseJson(response, method, path) as T;
        const error = apiError(response, method, path);
        if (response.status === 429) {
          retryReason = "rate limited (429)";
          retryWaitMs = rateLimitWaitMs(response.headers);
          sleepMs = 0; // the gate does the waiting, for every call of this client
        } else if (response.status >= 500) {
          retryReason = `server error ${response.status}`;
          retryWaitMs = sleepMs = backoffDelay(RETRY_BACKOFF, attempt, this.random);
        } else {
          throw error;
        }
        if (attempt >= this.maxRetries) throw error;
      } catch (error) {
        if (response === undefined) done(undefined);
        if (error instanceof AppError) throw error;
        const code = (error as NodeJS.ErrnoException).code ?? "";
        if (signal?.aborted)
          throw new AppError("ABORTED", `Mattermost ${method} /${path} aborted`, { cause: error });
        const tls = tlsFailure(error, this.baseUrl);
        if (tls) throw tls;
        const timedOut = code === "ETIMEDOUT_REQUEST";
        const transient = timedOut || RETRYABLE_NETWORK_CODES.has(code);
        const via = this.proxy ? ` through the proxy ${shownProxy(this.proxy)}` : "";
        const failure = new AppError(
          timedOut ? "TIMEOUT" : "MATTERMOST",
          timedOut
            ? `Mattermost ${method} /api/v4/${stripQuery(path)} timed out after ${this.requestTimeoutMs} ms${via}`
            : `Mattermost ${method} /api/v4/${stripQuery(path)} failed${via}: ${(error as Error).message}`,
          {
            cause: error,
            retryable: transient,
            fix: this.proxy
              ? `Check that the proxy answers and lets this host reach ${this.baseUrl.host}, or list ${this.baseUrl.hostname} in NO_PROXY`
              : `Check that ${this.baseUrl.origin} is reachable from this host`,
          },
        );
        if (!transient || attempt >= this.maxRetries) throw failure;
        retryReason = code;
        retryWaitMs = sleepMs = backoffDelay(RETRY_BACKOFF, attempt, this.random);
      }
      this.onRetry?.({
        method,
        path: stripQuery(path),
        attempt: attempt + 1,
        waitMs: retryWaitMs,
        reason: retryReason,
      });
      if (sleepMs > 0) await this.clock.sleep(sleepMs, signal);
    }
  }

  /** One HTTP exchange, reported to the observer as `ok`, the HTTP status, or the error code. */
  private async send(
    method: string,
    path: string,
    payload: string | undefined,
    signal?: AbortSignal,
  ): Promise<RawResponse> {
    const started = performance.now();
    let outcome = "ERROR";
    try {
      const response = await this.exchange(method, path, payload, signal);
      outcome = response.status >= 200 && response.status < 300 ? "ok" : String(response.status);
      return response;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      outcome = code === "ETIMEDOUT_REQUEST" ? "TIMEOUT" : signal?.aborted ? "ABORTED" : (code ?? "ERROR");
      throw error;
    } finally {
      this.observer?.call({
        operation: routeOf(method, path),
        seconds: (performance.now() - started) / 1000,
        outcome,
      });
    }
  }

  private async exchange(
    method: string,
    path: string,
    payload: string | undefined,
    signal?: AbortSignal,
  ): Promise<RawResponse> {
    const url = new URL(`api/v4/${path}`, this.baseUrl);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.token}`,
      Accept: "application/json",
      "User-Agent": USER_AGENT,
    };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    // One deadline for connecting, sending and reading, whichever takes the time.
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      const error = new Error("request timed out") as NodeJS.ErrnoException;
      error.code = "ETIMEDOUT_REQUEST";
      deadline.abort(error);
    }, this.requestTimeoutMs);
    try {
      const response = await this.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: method as Dispatcher.HttpMethod,
        headers,
        body: payload,
        signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          response.body.destroy();
          throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
      return {
        status: response.statusCode,
        headers: response.headers as IncomingHttpHeaders,
        body: Buffer.concat(chunks).toString("utf8"),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** Mattermost ids are 26 lowercase base32 characters (MATTERMOST-API.md §1). */
const ID_SEGMENT = /^[a-z0-9]{26}$/;
/** Segments after these are names chosen by people, not route parts. */
const NAME_KEYS = new Set(["name", "username", "email"]);

/**
 * The route of an API path with ids and names replaced, e.g. `PUT /posts/{id}/patch`, so that
 * metrics have one series per endpoint rather than per post.
 */
export function routeOf(method: string, path: string): string {
  const segments = stripQuery(path).split("/");
  const route = segments.map((segment, index) =>
    ID_SEGMENT.test(segment)
      ? "{id}"
      : index > 0 && NAME_KEYS.has(segments[index - 1] ?? "")
        ? "{name}"
        : segment,
  );
  return `${method} /${route.join("/")}`;
}

function stripQuery(path: string): string {
  const index = path.indexOf("?");
  return index < 0 ? path : path.slice(0, index);
}

function parseJson(response: RawResponse, method: string, path: string): unknown {
  if (response.body === "") return {};
  try {
    return JSON.parse(response.body);
  } catch (error) {
    throw new AppError(
      "MATTERMOST",
      `Mattermost ${method} /api/v4/${stripQuery(path)} returned a body that is not JSON`,
      {
        cause: error,
        details: { status: response.status },
        fix: "Check that [mattermost] url points at the Mattermost server itself, not a login page or proxy",
      },
    );
  }
}

function apiError(response: RawResponse, method: string, path: string): AppError {
  let body: ApiErrorBody = {};
  try {
    body = JSON.parse(response.body) as ApiErrorBody;
  } catch {
    body = { message: response.body.trim().slice(0, 200) };
  }
  const where = `${method} /api/v4/${stripQuery(path)}`;
  const text = body.message || `HTTP ${response.status}`;
  const details = { status: response.status, id: body.id, requestId: body.request_id };
  const retryable = response.status === 429 || response.status >= 500;
  if (response.status === 404) {
    return new AppError("NOT_FOUND", `Mattermost ${where}: ${text}`, { details });
  }
  return new AppError(
    "MATTERMOST",
    `Mattermost ${where}: ${text} (${response.status}${body.id ? ` ${body.id}` : ""})`,
    {
      details,
      retryable,
      fix: fixFor(response.status),
    },
  );
}

function fixFor(status: number): string | undefined {
  if (status === 401) return "Check [mattermost] token: it must be the bot account's access token";
  if (status === 403) return "Add the bot account to the team and the channel it posts to";
  return undefined;
}

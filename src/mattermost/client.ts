/**
 * A small Mattermost REST API v4 client for a bot account: bearer token, explicit timeouts,
 * keep-alive connections (undici), extra CAs on top of the default ones, the forward proxy of
 * HTTPS_PROXY/HTTP_PROXY unless NO_PROXY names the server, JSON parsed whatever the content
 * type and checked against the shape the daemon needs (replies.ts), typed errors from
 * Mattermost's error body, and retries of 429 (honouring Retry-After), 5xx, connection resets
 * and malformed replies. Only the endpoints the daemon needs (MATTERMOST-API.md §2).
 */
import { rootCertificates } from "node:tls";
import { Agent, type Dispatcher, ProxyAgent } from "undici";
import { AppError } from "../errors.js";
import { type BackoffPolicy, backoffDelay } from "../lib/backoff.js";
import type { CallObserver } from "../lib/call-observer.js";
import { type Clock, systemClock } from "../lib/clock.js";
import { type ProxyChoice, proxyFor, shownProxy } from "../lib/proxy-env.js";
import { normalizeUserHandle } from "./names.js";
import { type Answer, RateLimitGate, rateLimitWaitMs } from "./rate-limit-gate.js";
import {
  anyObjectReply,
  apiError,
  channelMemberReply,
  channelReply,
  pingReply,
  postListReply,
  postReply,
  postWrittenReply,
  type RawResponse,
  type ReplySchema,
  readReply,
  teamMemberReply,
  teamReply,
  userReply,
} from "./replies.js";
import { routeOf, stripQuery } from "./route.js";
import { tlsFailure } from "./tls-failure.js";
import { exchange, MAX_RESPONSE_BYTES, RETRYABLE_NETWORK_CODES } from "./transport.js";
import {
  JsonText,
  type MattermostChannel,
  type MattermostPost,
  type MattermostPostList,
  type MattermostTeam,
  type MattermostUser,
  type PostProps,
  type PostWritten,
} from "./types.js";

/** Default time one API call may take, retries excluded. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const RETRY_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000 };
/**
 * A create repeated with the same `pending_post_id` returns the first post for 30 s
 * (MATTERMOST-API.md §10). Once an attempt may have created the post (5xx, a reset, a reply
 * that is not a post), the create is repeated only within this time, which leaves the request
 * time to arrive; after it the caller must look for the post instead (app/request-sync).
 */
export const CREATE_RETRY_WINDOW_MS = 25_000;
/**
 * Connections to Mattermost, at most: calls beyond wait for one. As many as requests handled at
 * once (app/daemon SYNC_CONCURRENCY).
 */
const MAX_SOCKETS = 64;
/**
 * Calls side by side under a rate limit while the bucket has room: the gate counts every call in
 * flight as a token taken, and 64 of them drew a few 429s in the benchmark's 1,000 under 10/s.
 */
const LIMITED_PARALLELISM = 16;
/**
 * How long an idle connection is kept. undici's default (4 s) would reconnect between calls a
 * few seconds apart; servers that close sooner say so in Keep-Alive, which undici honours.
 */
const KEEP_ALIVE_MS = 30_000;

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

interface CallOptions<T> {
  /** What the schema cannot say: the reply is the thing asked for. Returns what is wrong. */
  check?: (reply: T) => string | undefined;
  /** Stop retrying once this long passed since an attempt that may have taken effect. */
  retryWithinMs?: number;
  /** And after this time (ms since the epoch), whichever comes first. */
  retryUntil?: number;
  /**
   * Runs once the first attempt may be sent (its turn under the rate limit came), before it is;
   * a throw ends the call with that error, unsent.
   */
  beforeSend?: () => Promise<void>;
  /** The first attempt's turn, already taken (turnNow). */
  turn?: Turn;
}

/** A call's turn under the rate limit (the gate's enter()), ended with the call's answer. */
export type Turn = (answer: Answer | undefined) => void;

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
    this.gate = new RateLimitGate(this.clock, MAX_SOCKETS, LIMITED_PARALLELISM);
    // Node's `ca` replaces its default CAs; the configured ones are added to them instead.
    const tls = options.ca ? { ca: [...rootCertificates, options.ca] } : {};
    const pool = {
      connections: MAX_SOCKETS,
      keepAliveTimeout: KEEP_ALIVE_MS,
      maxResponseSize: MAX_RESPONSE_BYTES,
    };
    this.proxy = proxyFor(this.baseUrl, options.env);
    this.dispatcher = this.proxy
      ? new ProxyAgent({ ...pool, uri: this.proxy.url.href, requestTls: tls, proxyTls: tls })
      : new Agent({ ...pool, connect: tls });
  }

  close(): void {
    this.dispatcher.destroy().catch(() => {});
  }

  /** Answers without a token: is this URL a Mattermost server that is up? */
  ping(signal?: AbortSignal): Promise<{ status: string }> {
    return this.call("GET", "system/ping", undefined, pingReply, signal);
  }

  getMe(signal?: AbortSignal): Promise<MattermostUser> {
    return this.call("GET", "users/me", undefined, userReply, signal);
  }

  getUser(userId: string, signal?: AbortSignal): Promise<MattermostUser> {
    return this.call("GET", `users/${enc(userId)}`, undefined, userReply, signal);
  }

  /** Any case: Mattermost stores usernames lower-cased and answers 400 to others (names.ts). */
  getUserByUsername(username: string, signal?: AbortSignal): Promise<MattermostUser> {
    return this.call(
      "GET",
      `users/username/${enc(normalizeUserHandle(username))}`,
      undefined,
      userReply,
      signal,
    );
  }

  /** Any case: emails are stored lower-cased; 5.x answers 400 to others. */
  getUserByEmail(email: string, signal?: AbortSignal): Promise<MattermostUser> {
    return this.call("GET", `users/email/${enc(normalizeUserHandle(email))}`, undefined, userReply, signal);
  }

  getTeamByName(team: string, signal?: AbortSignal): Promise<MattermostTeam> {
    return this.call("GET", `teams/name/${enc(team)}`, undefined, teamReply, signal);
  }

  getChannelByName(team: string, channel: string, signal?: AbortSignal): Promise<MattermostChannel> {
    return this.call(
      "GET",
      `teams/name/${enc(team)}/channels/name/${enc(channel)}`,
      undefined,
      channelReply,
      signal,
    );
  }

  /** The bot's own membership of a channel; NOT_FOUND when it is not a member. */
  getChannelMember(
    channelId: string,
    userId: string,
    signal?: AbortSignal,
  ): Promise<{ channel_id: string; user_id: string }> {
    return this.call(
      "GET",
      `channels/${enc(channelId)}/members/${enc(userId)}`,
      undefined,
      channelMemberReply,
      signal,
    );
  }

  /** A user's membership of a team; NOT_FOUND when they are not a member. */
  getTeamMember(
    teamId: string,
    userId: string,
    signal?: AbortSignal,
  ): Promise<{ team_id: string; user_id: string }> {
    return this.call(
      "GET",
      `teams/${enc(teamId)}/members/${enc(userId)}`,
      undefined,
      teamMemberReply,
      signal,
    );
  }

  createDirectChannel(botUserId: string, userId: string, signal?: AbortSignal): Promise<MattermostChannel> {
    return this.call("POST", "channels/direct", [botUserId, userId], channelReply, signal);
  }

  /**
   * A call's turn under Mattermost's rate limit and a free connection, when both are there now
   * (undefined when a call would have to wait): given to createPost, its first attempt goes at
   * once. Must be given to a call, or called with undefined to hand it back.
   */
  turnNow(): Turn | undefined {
    return this.gate.tryEnter();
  }

  /**
   * Creates a post. `pendingPostId` makes a repeat within 30 s return the same post instead of a
   * second one (MATTERMOST-API.md §10), so a retried create never doubles. `retryUntil` (ms since
   * the epoch) ends the retries sooner, for a create that must stay within 30 s of another's;
   * `beforeSend` runs when the create's turn under the rate limit has come.
   */
  createPost(
    post: {
      channelId: string;
      message: string;
      props?: PostProps | JsonText;
      rootId?: string;
      pendingPostId?: string;
      retryUntil?: number;
      beforeSend?: () => Promise<void>;
      /** A turn taken with turnNow: the first attempt goes on it. */
      turn?: Turn;
    },
    signal?: AbortSignal,
  ): Promise<PostWritten> {
    const body: Record<string, unknown> = { channel_id: post.channelId, message: post.message };
    if (post.props) body["props"] = post.props;
    if (post.rootId) body["root_id"] = post.rootId;
    if (post.pendingPostId) body["pending_post_id"] = post.pendingPostId;
    const rootId = post.rootId ?? "";
    return this.call("POST", "posts?set_online=false", body, postWrittenReply, signal, {
      // A post somewhere else than asked is not the post asked for.
      check: (reply) =>
        reply.channel_id !== post.channelId
          ? "channel_id: not the channel posted to"
          : reply.root_id !== rootId
            ? "root_id: not the thread posted to"
            : undefined,
      ...(post.pendingPostId ? { retryWithinMs: CREATE_RETRY_WINDOW_MS } : {}),
      ...(post.retryUntil !== undefined ? { retryUntil: post.retryUntil } : {}),
      ...(post.beforeSend ? { beforeSend: post.beforeSend } : {}),
      ...(post.turn ? { turn: post.turn } : {}),
    });
  }

  /** Changes only the given fields; props given replace all props (MATTERMOST-API.md §2). */
  patchPost(
    postId: string,
    patch: { message?: string; props?: PostProps | JsonText },
    signal?: AbortSignal,
  ): Promise<PostWritten> {
    return this.call("PUT", `posts/${enc(postId)}/patch`, patch, postWrittenReply, signal, samePost(postId));
  }

  /** Posts of a channel changed since `since` (ms), newest first; used to find a post made before a crash. */
  getChannelPostsSince(channelId: string, since: number, signal?: AbortSignal): Promise<MattermostPostList> {
    return this.call(
      "GET",
      `channels/${enc(channelId)}/posts?since=${Math.max(0, Math.floor(since))}`,
      undefined,
      postListReply,
      signal,
    );
  }

  getPost(postId: string, signal?: AbortSignal): Promise<MattermostPost> {
    return this.call("GET", `posts/${enc(postId)}`, undefined, postReply, signal, samePost(postId));
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
      anyObjectReply,
      signal,
    );
  }

  /**
   * One API call: retried on 429 (after the gate's wait), 5xx, resets and replies that are not
   * what the API promises (`schema`, then `options.check`), with backoff, up to `maxRetries`.
   */
  private async call<T>(
    method: string,
    path: string,
    body: unknown,
    schema: ReplySchema<T>,
    signal?: AbortSignal,
    options: CallOptions<T> = {},
  ): Promise<T> {
    const payload = body === undefined ? undefined : jsonBody(body);
    /** When an attempt that may have taken effect was made, for `retryWithinMs`. */
    let uncertainSince: number | undefined;
    let lastFailure: AppError | undefined;
    for (let attempt = 0; ; attempt++) {
      const done = attempt === 0 && options.turn ? options.turn : await this.gate.enter(signal);
      if (
        lastFailure &&
        options.retryWithinMs !== undefined &&
        uncertainSince !== undefined &&
        (this.clock.now() - uncertainSince > options.retryWithinMs ||
          this.clock.now() > (options.retryUntil ?? Number.POSITIVE_INFINITY))
      ) {
        done(undefined);
        throw lastFailure;
      }
      if (attempt === 0 && options.beforeSend) {
        try {
          await options.beforeSend();
        } catch (error) {
          done(undefined);
          throw error;
        }
      }
      let response: RawResponse | undefined;
      let retryReason: string;
      let retryWaitMs: number;
      let sleepMs: number;
      try {
        response = await this.send(method, path, payload, signal);
        done(response);
        let error: AppError;
        if (response.status >= 200 && response.status < 300) {
          const reply = readReply(response, method, path, schema, options.check);
          if (!(reply instanceof AppError)) return reply;
          error = reply;
          retryReason = `malformed reply: ${reply.details["problem"]}`;
          retryWaitMs = sleepMs = backoffDelay(RETRY_BACKOFF, attempt, this.random);
        } else {
          error = apiError(response, method, path);
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
        }
        // Only a 429 is sure to have been refused before Mattermost did anything.
        if (response.status !== 429) uncertainSince ??= this.clock.now();
        lastFailure = error;
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
        uncertainSince ??= this.clock.now();
        lastFailure = failure;
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
      const response = await exchange({
        url: new URL(`api/v4/${path}`, this.baseUrl),
        method,
        token: this.token,
        payload,
        dispatcher: this.dispatcher,
        timeoutMs: this.requestTimeoutMs,
        ...(signal ? { signal } : {}),
      });
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
}

/** `body` as JSON, its JsonText fields spliced in as they are. */
function jsonBody(body: unknown): string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return JSON.stringify(body);
  let spliced = "";
  let plain: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (!(value instanceof JsonText)) continue;
    plain ??= { ...body };
    delete plain[key];
    spliced += `,${JSON.stringify(key)}:${value.text}`;
  }
  if (!plain) return JSON.stringify(body);
  const json = JSON.stringify(plain);
  return json === "{}" ? `{${spliced.slice(1)}}` : `${json.slice(0, -1)}${spliced}}`;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** A patch or read of `postId` must answer with that post. */
function samePost<T extends PostWritten>(postId: string): CallOptions<T> {
  return { check: (reply) => (reply.id === postId ? undefined : "id: not the post asked for") };
}

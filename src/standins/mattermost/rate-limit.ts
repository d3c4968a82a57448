/**
 * `RateLimitSettings` (MATTERMOST-API.md §3; `server/channels/app/ratelimit.go`): the GCRA
 * limiter of throttled/throttled v2 keyed by remote address (`VaryByRemoteAddr`, the default) or
 * token (`VaryByUser`), its `X-Ratelimit-*` headers on every response, and the plain-text 429 it
 * answers before Mattermost's own handler runs.
 */
import type * as http from "node:http";
import { DEFAULT_RATE_LIMIT } from "./limits.js";
import { parseToken } from "./router.js";
import type { RateLimitOptions, RequestLogEntry } from "./types.js";

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

/** The limiter as Mattermost's HTTP middleware applies it. */
export class RateLimiter {
  private readonly gcra: GcraLimiter;

  constructor(private readonly options: RateLimitOptions) {
    this.gcra = new GcraLimiter(options);
  }

  /** Sets the rate-limit headers; answers 429 and returns true when the request is over the limit. */
  apply(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    query: URLSearchParams,
    entry: RequestLogEntry,
    now: number,
  ): boolean {
    const result = this.gcra.take(this.key(req, query), now);
    res.setHeader("X-Ratelimit-Limit", String(result.limit));
    res.setHeader("X-Ratelimit-Remaining", String(result.remaining));
    if (result.resetAfterMs >= 0)
      res.setHeader("X-Ratelimit-Reset", String(Math.ceil(result.resetAfterMs / 1000)));
    if (!result.limited) return false;
    // §3: the limiter answers before Mattermost's handler (no X-Request-Id), with Go's http.Error.
    if (result.retryAfterMs >= 0) res.setHeader("Retry-After", String(Math.ceil(result.retryAfterMs / 1000)));
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.setHeader("X-Content-Type-Options", "nosniff");
    entry.status = 429;
    res.writeHead(429).end("limit exceeded\n");
    return true;
  }

  private key(req: http.IncomingMessage, query: URLSearchParams): string {
    if (this.options.varyBy === "token") {
      const token = parseToken(req, query);
      if (token) return token.token;
      return "";
    }
    return req.socket.remoteAddress ?? "";
  }
}

/**
 * Shares Mattermost's rate limit (MATTERMOST-API.md §3) among all calls of one client, so that a
 * backlog is sent at the limit without a single 429: one Mattermost call per piece of work.
 *
 * Mattermost's limiter is GCRA (throttled): a bucket of X-Ratelimit-Limit tokens, refilled one
 * token every 1/PerSec s, and each answer says how many tokens are left (X-Ratelimit-Remaining)
 * and in how many whole seconds, rounded up, the bucket is full again (X-Ratelimit-Reset). PerSec
 * itself is never sent, so the gate keeps an upper bound on the time one token takes to come back
 * and sends a call only when, by that bound, a token is there:
 * - a first bound from X-Ratelimit-Reset: the tokens missing from the bucket come back within
 *   that many seconds;
 * - then a tighter one from the count: between two answers of calls that ran alone, the tokens
 *   that came back are the calls accepted in between plus the change in Remaining (±1 for the
 *   rounding), over the time between the first call's sending and the second call's answer.
 * So a backlog starts with the full bucket at once (up to `limitedParallelism` calls side by side), then
 * goes on at the refill rate, a little slower only while the bound is loose. Any answer showing
 * tokens left lets calls go at once. A 429 (another client on the same token, or a limit that
 * changed) is waited out as its Retry-After says, and calls then go one at a time until an answer
 * shows room again. Without rate limit headers (limiting off, Mattermost's default) calls just run
 * side by side, up to `parallelism`. Calls pass in arrival order.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Clock } from "../lib/clock.js";

/** Longest wait one 429 imposes, whatever its headers say. */
const MAX_RATE_LIMIT_WAIT_MS = 60_000;
/** Wait after a 429 without a usable Retry-After (Mattermost sends whole seconds). */
const DEFAULT_RATE_LIMIT_WAIT_MS = 1_000;
/** Time a token takes to come back while no answer has said anything about it yet. */
const UNKNOWN_REFILL_MS = DEFAULT_RATE_LIMIT_WAIT_MS;

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
}

interface Flight {
  sentAt: number;
  /** Order of sending, for telling an answer that arrives after a later call's. */
  seq: number;
  /** Another call was in flight at some point between this one's sending and its answer. */
  overlapped: boolean;
}

/** A clean answer (its call ran alone) while the bucket was not full: where a refill count starts. */
interface Anchor {
  sentAt: number;
  remaining: number;
  /** `accepted` once this answer was counted. */
  accepted: number;
}

export class RateLimitGate {
  /** While rate limited by a 429, no call is sent before this time (ms since epoch). */
  private blockedUntil = 0;
  /** Whether an answer has said if there is a limit: until then one call at a time finds out. */
  private known = false;
  /** X-Ratelimit-Limit of the last answer: the bucket's size; undefined when limiting is off. */
  private bucket: number | undefined;
  /** Tokens in the bucket at `tokensAt`, by the conservative count (never more than there are). */
  private tokens = 0;
  private tokensAt = 0;
  /** Upper bound on the ms one token takes to come back; undefined until an answer bounds it. */
  private refillMs: number | undefined;
  /** Answers of calls the limiter let through (anything but 429), for the refill count. */
  private accepted = 0;
  private anchor: Anchor | undefined;
  private readonly flights = new Set<Flight>();
  private sent = 0;
  /** The latest-sent call whose answer set the count: an earlier call's answer is older news. */
  private countedSeq = 0;
  /** Calls waiting for their turn, oldest first. */
  private readonly waiting: Array<{ admit: (flight: Flight) => void }> = [];
  private wakeAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    /** Calls that may run at once while limiting is off. */
    private readonly parallelism: number,
    /**
     * Calls that may run at once under a limit, when the bucket has room: the conservative count
     * assumes every call in flight took a token, so fewer side by side leave it slack.
     */
    private readonly limitedParallelism: number = parallelism,
  ) {}

  /**
   * Waits until a call may be sent. The returned function must be called exactly once, with
   * the answer (or undefined when there was none), before the call is retried or given up.
   */
  async enter(signal?: AbortSignal): Promise<(answer: Answer | undefined) => void> {
    signal?.throwIfAborted();
    const flight = await new Promise<Flight>((resolve, reject) => {
      const entry = {
        admit: (admitted: Flight) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(admitted);
        },
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
      this.pump();
    });
    return this.release(flight);
  }

  /** The function that ends `flight`, once, with its answer. */
  private release(flight: Flight): (answer: Answer | undefined) => void {
    let settled = false;
    return (answer) => {
      if (settled) return;
      settled = true;
      this.flights.delete(flight);
      if (answer) this.observe(answer, flight);
      this.pump();
    };
  }

  /**
   * Enters at once when a call may be sent now (nobody waiting, a connection free, no 429 being
   * waited out, a token in the bucket by the conservative count); undefined otherwise. The
   * returned function is enter()'s.
   */
  tryEnter(): ((answer: Answer | undefined) => void) | undefined {
    if (this.waiting.length > 0) return undefined;
    let admitted: Flight | undefined;
    this.waiting.push({
      admit: (flight) => {
        admitted = flight;
      },
    });
    this.pump();
    if (!admitted) {
      this.waiting.pop();
      return undefined;
    }
    return this.release(admitted);
  }

  /** Tokens there are now by the conservative count; Infinity while no limit is known. */
  private available(now: number): number {
    if (this.bucket === undefined) return Number.POSITIVE_INFINITY;
    const refilled = (now - this.tokensAt) / (this.refillMs ?? UNKNOWN_REFILL_MS);
    return Math.min(this.bucket, this.tokens + Math.max(0, refilled));
  }

  /** Sends every waiting call the bucket and the parallelism allow; schedules a wake-up for the next. */
  private pump(): void {
    const now = this.clock.now();
    const parallelism = this.bucket === undefined ? this.parallelism : this.limitedParallelism;
    while (this.waiting.length > 0 && this.flights.size < parallelism) {
      if (now < this.blockedUntil) {
        this.wakeUpAt(this.blockedUntil);
        return;
      }
      const tokens = this.available(now);
      if (tokens < 1) {
        const perToken = this.refillMs ?? UNKNOWN_REFILL_MS;
        this.wakeUpAt(this.tokensAt + Math.ceil((1 - this.tokens) * perToken));
        return;
      }
      // Until the first answer, and after a 429 until an answer shows room again, one at a time.
      if ((!this.known || this.blockedUntil > 0) && this.flights.size > 0) return;
      if (this.bucket !== undefined) {
        this.tokens = tokens - 1;
        this.tokensAt = now;
      }
      const flight: Flight = { sentAt: now, seq: ++this.sent, overlapped: this.flights.size > 0 };
      for (const other of this.flights) other.overlapped = true;
      this.flights.add(flight);
      this.waiting.shift()!.admit(flight);
    }
  }

  private wakeUpAt(at: number): void {
    if (at >= this.wakeAt) return;
    this.wakeAt = at;
    void this.clock.sleep(Math.max(0, at - this.clock.now())).then(() => {
      if (this.wakeAt === at) this.wakeAt = Number.POSITIVE_INFINITY;
      this.pump();
    });
  }

  private observe(answer: Answer, flight: Flight): void {
    const now = this.clock.now();
    if (answer.status === 429) {
      this.blockedUntil = Math.max(this.blockedUntil, now + rateLimitWaitMs(answer.headers));
      // Retry-After says when one call will be let through.
      this.tokens = 1;
      this.tokensAt = this.blockedUntil;
      return;
    }
    if (answer.status >= 500) return; // a proxy's answer, not the limiter's
    const limit = Number(header(answer.headers, "x-ratelimit-limit"));
    const remaining = Number(header(answer.headers, "x-ratelimit-remaining"));
    this.known = true;
    if (!Number.isFinite(remaining) || !Number.isFinite(limit) || limit < 1) {
      this.bucket = undefined;
      this.blockedUntil = 0;
      return;
    }
    this.bucket = limit;
    this.accepted++;
    this.blockedUntil = 0;
    // An answer overtaken by that of a call sent after it says how many tokens were left before
    // that call took one: it would raise the count above what there is.
    if (flight.seq > this.countedSeq) {
      this.countedSeq = flight.seq;
      // Calls still in flight may have been counted after this one: assume they all were not yet.
      this.tokens = Math.max(0, remaining - this.flights.size);
      this.tokensAt = now;
    }
    this.bound(answer, flight, limit, remaining, now);
  }

  /** Tightens the upper bound on the refill time from this answer (see the file comment). */
  private bound(answer: Answer, flight: Flight, limit: number, remaining: number, now: number): void {
    const missing = limit - remaining - 1; // tokens short of a full bucket, at least
    const resetS = Number(header(answer.headers, "x-ratelimit-reset"));
    if (missing >= 1 && Number.isFinite(resetS) && resetS > 0) {
      this.tighten((resetS * 1000) / missing);
    }
    // A full bucket stops the count: tokens beyond it were not kept.
    if (remaining >= limit - 1) {
      this.anchor = undefined;
      return;
    }
    if (flight.overlapped) return;
    const anchor = this.anchor;
    if (!anchor) {
      this.anchor = { sentAt: flight.sentAt, remaining, accepted: this.accepted };
      return;
    }
    const cameBack = this.accepted - anchor.accepted + remaining - anchor.remaining - 1;
    if (cameBack >= 1) this.tighten((now - anchor.sentAt) / cameBack);
  }

  private tighten(candidateMs: number): void {
    if (this.refillMs === undefined || candidateMs < this.refillMs) this.refillMs = candidateMs;
  }
}

/** Seconds from Retry-After, else X-Ratelimit-Reset (seconds, relative: MATTERMOST-API.md §3). */
export function rateLimitWaitMs(headers: IncomingHttpHeaders): number {
  for (const name of ["retry-after", "x-ratelimit-reset"]) {
    const seconds = Number(header(headers, name));
    if (Number.isFinite(seconds) && seconds > 0) return Math.min(seconds * 1000, MAX_RATE_LIMIT_WAIT_MS);
  }
  return DEFAULT_RATE_LIMIT_WAIT_MS;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Shares Mattermost's rate limit (MATTERMOST-API.md §3) among all calls of one client, and
 * bounds how many run at once. Calls pass in arrival order. While the last answer shows less
 * room than a full set of parallel calls (X-Ratelimit-Remaining), and after a 429 (whose
 * Retry-After every call then waits out), calls run one at a time, each after the previous one's
 * answer. So a backlog costs about one 429 per refill of the bucket instead of one per call that
 * was already on its way, and no call is overtaken again and again until it runs out of retries.
 * Without rate limit headers (limiting off) calls just run side by side.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Clock } from "../lib/clock.js";

/** Longest wait one 429 imposes, whatever its headers say. */
const MAX_RATE_LIMIT_WAIT_MS = 60_000;
/** Wait after a 429 without a usable Retry-After (Mattermost sends whole seconds). */
const DEFAULT_RATE_LIMIT_WAIT_MS = 1_000;

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
}

export class RateLimitGate {
  /** While rate limited, no call is sent before this time (ms since epoch). */
  private blockedUntil = 0;
  /** True while the bucket is nearly empty or after a 429: calls then run one at a time. */
  private serial = false;
  private running = 0;
  /** Calls waiting for their turn, oldest first. */
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    /** Calls that may run at once while not rate limited. */
    private readonly parallelism: number,
  ) {}

  /**
   * Waits until a call may be sent. The returned function must be called exactly once, with
   * the answer (or undefined when there was none), before the call is retried or given up.
   */
  async enter(signal?: AbortSignal): Promise<(answer: Answer | undefined) => void> {
    if (this.waiting.length === 0 && this.running < this.limit()) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // admit() counts it in
    try {
      const wait = this.blockedUntil - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait, signal);
    } catch (error) {
      this.leave();
      throw error;
    }
    return (answer) => {
      if (answer) this.observe(answer);
      this.leave();
    };
  }

  private limit(): number {
    return this.serial ? 1 : this.parallelism;
  }

  private leave(): void {
    this.running--;
    this.admit();
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.running < this.limit()) {
      this.running++;
      this.waiting.shift()!();
    }
  }

  private observe(answer: Answer): void {
    if (answer.status === 429) {
      this.blockedUntil = Math.max(this.blockedUntil, this.clock.now() + rateLimitWaitMs(answer.headers));
      this.serial = true;
      return;
    }
    if (answer.status >= 500) return; // a proxy's answer, not the limiter's
    const remaining = Number(header(answer.headers, "x-ratelimit-remaining"));
    this.serial = Number.isFinite(remaining) && remaining < this.parallelism;
    this.admit();
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

/**
 * Runs one request's sync and decides what happens after it: look again when another
 * instance's claim lapses, retry with jittered backoff when Mattermost or Teleport failed, and
 * log a failure that repeats (every request hitting the same 403) once per minute, not once
 * per request. Timers are tracked so shutdown leaves none behind.
 */
import type { Logger } from "pino";
import type { RequestView } from "../core/plan.js";
import { AppError } from "../errors.js";
import { type BackoffPolicy, backoffDelay } from "../lib/backoff.js";
import type { Clock } from "../lib/clock.js";
import type { KeyedWork } from "./keyed-work.js";
import type { RequestSync } from "./request-sync.js";

/** Retries of a failed sync: 1 s doubling to 2 min, jittered; never given up while running. */
export const SYNC_RETRY_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 120_000 };
/** A permanent failure (401, 403, 400) is retried this rarely: an operator has to fix it first. */
export const PERMANENT_FAILURE_RETRY_MS = 5 * 60_000;
/** The same failure message is logged at most once in this window. */
export const REPEATED_LOG_WINDOW_MS = 60_000;
/** Extra wait after a lapsed claim, so the holder's own late write usually lands first. */
const RECHECK_SLACK_MS = 500;

export interface SchedulerDeps {
  sync: RequestSync;
  work: KeyedWork<RequestView>;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  onFailure?: (error: AppError) => void;
}

export class SyncScheduler {
  private readonly attempts = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** One pending re-check per request: the earliest asked for. */
  private readonly rechecks = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private stopped = false;

  constructor(private readonly deps: SchedulerDeps) {}

  async run(id: string, view: RequestView): Promise<void> {
    try {
      const result = await this.deps.sync.sync(view);
      this.attempts.delete(id);
      if (result.recheckAt !== undefined) {
        this.later(
          () => this.deps.work.push(id, view),
          result.recheckAt - this.deps.clock.now() + RECHECK_SLACK_MS,
        );
      }
    } catch (error) {
      const failure = AppError.from(error);
      if (failure.code === "ABORTED" && this.stopped) return;
      this.deps.onFailure?.(failure);
      const attempt = this.attempts.get(id) ?? 0;
      this.attempts.set(id, attempt + 1);
      const delay = failure.retryable
        ? backoffDelay(SYNC_RETRY_BACKOFF, attempt, this.deps.random)
        : PERMANENT_FAILURE_RETRY_MS;
      this.logFailure(id, failure, delay);
      this.later(() => this.deps.work.push(id, view), delay);
    }
  }

  /** Queues the request again at `at` (ms since epoch), unless an earlier re-check is set. */
  recheck(id: string, view: RequestView, at: number): void {
    if (this.stopped || !Number.isFinite(at)) return;
    const existing = this.rechecks.get(id);
    if (existing && existing.at <= at) return;
    if (existing) {
      clearTimeout(existing.timer);
      this.timers.delete(existing.timer);
    }
    const timer = this.later(
      () => {
        this.rechecks.delete(id);
        this.deps.work.push(id, view);
      },
      at - this.deps.clock.now() + RECHECK_SLACK_MS,
    );
    if (timer) this.rechecks.set(id, { at, timer });
  }

  /** Runs `task` after `ms` unless stopped first. */
  later(task: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.stopped) task();
      },
      Math.max(0, ms),
    );
    timer.unref();
    this.timers.add(timer);
    return timer;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.rechecks.clear();
  }

  /** Requests waiting for a retry (for readiness and metrics). */
  get failing(): number {
    return this.attempts.size;
  }

  private logFailure(id: string, failure: AppError, retryInMs: number): void {
    const key = `${failure.code}:${failure.message.replace(/[0-9a-f-]{36}/g, "<id>")}`;
    const now = this.deps.clock.now();
    const seen = this.lastLogged.get(key);
    if (seen && now - seen.at < REPEATED_LOG_WINDOW_MS) {
      seen.suppressed++;
      return;
    }
    this.lastLogged.set(key, { at: now, suppressed: 0 });
    if (this.lastLogged.size > 1_000) this.lastLogged.clear();
    this.deps.logger.error(
      {
        request_id: id,
        err: failure.describe(),
        retry_in_ms: retryInMs,
        ...(seen?.suppressed ? { same_error_since_last_log: seen.suppressed } : {}),
      },
      "Failed to update Mattermost for request",
    );
  }
}

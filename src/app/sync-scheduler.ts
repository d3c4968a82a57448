/**
 * Runs one request's sync and decides what happens after it: look again when another
 * instance's claim lapses, retry with jittered backoff when Mattermost or Teleport failed, and
 * log a failure that repeats (every request hitting the same 403) once per minute, not once
 * per request. A failure of one recipient (its `scope`: the bot lost a channel) parks every
 * request waiting on it behind one probe, retried on a short capped schedule: when the probe
 * gets through, or Mattermost answers again after failing, all of them go at once. Timers are
 * tracked so shutdown leaves none behind.
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
/**
 * A failure that looks permanent (401, 403, 400) needs an operator's fix first, but must not wait
 * long once it is fixed. Per request this costs one call per 20 s at most; requests waiting on
 * one recipient (most Mattermost refusals) share a single probe instead (PROBE_BACKOFF).
 */
export const PERMANENT_RETRY_BACKOFF: BackoffPolicy = { baseMs: 2_000, maxMs: 20_000 };
/**
 * The probe of a failing recipient: one call per 10 s at most however many requests wait on it,
 * so access returning is noticed within 10 s, leaving the rest of the 30 s for the catch-up.
 */
export const PROBE_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 10_000 };
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
  /** Scope (a failing recipient) → the requests waiting on it and its probe's schedule. */
  private readonly parked = new Map<string, ParkedScope>();
  /** Request id → the scopes it waits on. */
  private readonly parkedIn = new Map<string, Set<string>>();
  private stopped = false;

  constructor(private readonly deps: SchedulerDeps) {}

  async run(id: string, view: RequestView): Promise<void> {
    try {
      const result = await this.deps.sync.sync(view);
      this.attempts.delete(id);
      // It got through: whatever it waited on works again, for every request waiting there.
      this.unpark(id, new Set());
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
      const scopes = failure.retryable ? [] : scopesOf(failure);
      if (scopes.length > 0) {
        this.attempts.delete(id);
        this.unpark(id, new Set(scopes));
        for (const scope of scopes) this.park(scope, id, view);
        this.deps.logger.debug(
          { request_id: id, err: failure.describe(), waits_on: scopes },
          "Waiting for a recipient to work again",
        );
        return;
      }
      this.probeInconclusive(id);
      const attempt = this.attempts.get(id) ?? 0;
      this.attempts.set(id, attempt + 1);
      const delay = backoffDelay(
        failure.retryable ? SYNC_RETRY_BACKOFF : PERMANENT_RETRY_BACKOFF,
        attempt,
        this.deps.random,
      );
      this.logFailure(id, failure, delay);
      this.later(() => this.deps.work.push(id, view), delay);
    }
  }

  /** Every parked request now (Mattermost answers again after failing). */
  resumeParked(): void {
    for (const scope of [...this.parked.keys()]) this.release(scope);
  }

  private park(scope: string, id: string, view: RequestView): void {
    let entry = this.parked.get(scope);
    if (!entry) {
      entry = { waiting: new Map(), attempt: 0 };
      this.parked.set(scope, entry);
    }
    entry.waiting.set(id, view);
    const scopes = this.parkedIn.get(id) ?? new Set<string>();
    this.parkedIn.set(id, scopes);
    scopes.add(scope);
    if (entry.probe === id) {
      entry.probe = undefined;
      entry.attempt++;
    }
    this.armProbe(scope, entry);
  }

  /** After a backoff, one waiting request is tried; its outcome decides for all. */
  private armProbe(scope: string, entry: ParkedScope): void {
    if (entry.timer || entry.probe !== undefined) return;
    entry.timer = this.later(
      () => {
        entry.timer = undefined;
        const next = entry.waiting.entries().next().value;
        if (!next || this.parked.get(scope) !== entry) return;
        const [probe, view] = next;
        entry.waiting.delete(probe);
        entry.probe = probe;
        this.deps.work.push(probe, view);
      },
      backoffDelay(PROBE_BACKOFF, entry.attempt, this.deps.random),
    );
  }

  /** A probe that failed for another reason says nothing about its scope: probe again later. */
  private probeInconclusive(id: string): void {
    for (const scope of this.parkedIn.get(id) ?? []) {
      const entry = this.parked.get(scope);
      if (entry?.probe !== id) continue;
      entry.probe = undefined;
      this.armProbe(scope, entry);
    }
  }

  /** `id` got past the scopes it waited on, except `still`: release those. */
  private unpark(id: string, still: ReadonlySet<string>): void {
    for (const scope of this.parkedIn.get(id) ?? []) if (!still.has(scope)) this.release(scope);
  }

  private release(scope: string): void {
    const entry = this.parked.get(scope);
    if (!entry) return;
    this.parked.delete(scope);
    if (entry.timer) {
      clearTimeout(entry.timer);
      this.timers.delete(entry.timer);
    }
    const ids = [...entry.waiting, ...(entry.probe !== undefined ? [[entry.probe, undefined] as const] : [])];
    for (const [id] of ids) {
      const scopes = this.parkedIn.get(id);
      scopes?.delete(scope);
      if (scopes?.size === 0) this.parkedIn.delete(id);
    }
    for (const [id, view] of entry.waiting) this.deps.work.push(id, view);
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
    this.parked.clear();
    this.parkedIn.clear();
  }

  /** Requests waiting for a retry (for readiness and metrics). */
  get failing(): number {
    let waiting = this.parkedIn.size;
    for (const id of this.attempts.keys()) if (!this.parkedIn.has(id)) waiting++;
    return waiting;
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

interface ParkedScope {
  /** Requests waiting, oldest first, with the view to run them with. */
  waiting: Map<string, RequestView>;
  /** Probes that failed in a row, for the backoff. */
  attempt: number;
  timer?: NodeJS.Timeout | undefined;
  /** The request being tried right now, if any. */
  probe?: string | undefined;
}

/** The recipients a deferred failure waits on (app/delivery-failures), if any. */
function scopesOf(failure: AppError): string[] {
  const scope = failure.details["scope"];
  return typeof scope === "string" && scope ? scope.split(" ") : [];
}

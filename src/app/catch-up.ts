/**
 * Catch-up (ARCHITECTURE.md §3): after every (re)connect of the watch, and every few minutes while
 * it stays connected, compare every request Teleport has and every plugin record of ours with
 * what the posts show, and queue those that differ — requests created, decided or deleted while
 * the watch was down. A failed listing is tried again shortly; "Catch-up finished" is logged once
 * everything queued was handled (operators and the benchmark wait for that line).
 */
import type { Logger } from "pino";
import { planFor, type RequestView } from "../core/plan.js";
import { PLUGIN_NAME, readStored } from "../core/plugin-data.js";
import { AppError } from "../errors.js";
import type { RequestCensus } from "../observe/request-census.js";
import type { TeleportClient } from "../teleport/client.js";
import type { KeyedWork } from "./keyed-work.js";
import type { RequestSync } from "./request-sync.js";
import type { SyncScheduler } from "./sync-scheduler.js";

/** Full reconciliation while connected, to heal anything an event or a retry missed. */
export const RECONCILE_INTERVAL_MS = 5 * 60_000;
/** Wait before listing again after a failed catch-up. */
export const CATCH_UP_RETRY_MS = 5_000;

export interface CatchUpDeps {
  teleport: TeleportClient;
  sync: RequestSync;
  work: KeyedWork<RequestView>;
  scheduler: SyncScheduler;
  /** Counts the requests a listing found (pending gauge). */
  census: RequestCensus;
  logger: Logger;
  /** Called after each catch-up that finished (not after a failed one). */
  onFinished?: () => void;
}

export class CatchUp {
  private connected = false;
  /** The next listing is the first since the watch (re)connected (it finds what it missed). */
  private afterConnect = false;
  /** Requests the watch delivered while that listing was on its way: seen created, not missed. */
  private readonly seenMeanwhile = new Set<string>();

  constructor(private readonly deps: CatchUpDeps) {}

  /** Starts the periodic catch-up (only while the watch is connected) until `signal` aborts. */
  start(signal: AbortSignal): void {
    const periodic = setInterval(() => {
      if (this.connected) void this.run();
    }, RECONCILE_INTERVAL_MS);
    periodic.unref();
    signal.addEventListener("abort", () => clearInterval(periodic), { once: true });
  }

  /** The watch is live (INIT received): catch up on what happened while it was not. */
  watchConnected(): void {
    this.connected = true;
    this.afterConnect = true;
    this.seenMeanwhile.clear();
    void this.run();
  }

  watchLost(): void {
    this.connected = false;
  }

  /** A watch event: its request was not missed, whatever the listing after a connect shows. */
  sawEvent(view: RequestView): void {
    if (view.kind !== "live") return;
    if (this.afterConnect) this.seenMeanwhile.add(view.request.id);
    this.deps.sync.sawLive(view.request);
  }

  /** One catch-up; never throws (a failure is logged and tried again after CATCH_UP_RETRY_MS). */
  async run(): Promise<void> {
    const { teleport, sync, work, scheduler, logger } = this.deps;
    const listing = this.deps.census.beginListing();
    const started = Date.now();
    try {
      const [requests, records] = await Promise.all([
        teleport.listRequests(),
        teleport.listPluginData(PLUGIN_NAME),
      ]).catch((error: unknown) => {
        listing.abandon();
        throw error;
      });
      listing.finish(requests);
      // Requests already there when the watch came up: this instance did not see them created
      // (those created since came as events, usually before the listing).
      const unseen = this.afterConnect;
      this.afterConnect = false;
      const seen = new Set(this.seenMeanwhile);
      this.seenMeanwhile.clear();
      const context = sync.planContext();
      let queued = 0;
      const live = new Set<string>();
      for (const request of requests) {
        live.add(request.id);
        const view: RequestView = { kind: "live", request };
        if (unseen && !seen.has(request.id)) sync.notSeenCreated(request.id);
        // Data not in our format yet (an earlier version's) is read and rewritten by the sync.
        const record = sync.prime(request.id, records.get(request.id));
        const plan = record && planFor(view, record, context);
        if (plan?.kind !== "none") {
          work.push(request.id, view);
          queued++;
        } else if (plan.nextCheckAt !== undefined) {
          scheduler.recheck(request.id, view, plan.nextCheckAt);
        }
      }
      for (const [id, data] of records) {
        if (live.has(id)) continue;
        const view: RequestView = { kind: "gone", id };
        const stored = readStored(data);
        if (!stored.current || planFor(view, stored.record, context).kind !== "none") {
          work.push(id, view);
          queued++;
        }
      }
      // "Caught up" means every queued request was handled: from here on posts only lag behind
      // new events.
      await work.idle();
      logger.info(
        { requests: requests.length, records: records.size, queued, duration_ms: Date.now() - started },
        "Catch-up finished",
      );
      this.deps.onFinished?.();
    } catch (error) {
      logger.warn({ err: AppError.from(error).describe() }, "Catch-up failed; will try again");
      scheduler.later(() => void this.run(), CATCH_UP_RETRY_MS);
    }
  }
}

/**
 * Keeps a WatchEvents stream open on access requests for as long as the daemon runs: hands each
 * event on, reconnects with jittered backoff when the stream ends or fails, and tells the app
 * when a (re)connection is live (after INIT) so it can catch up on what it missed meanwhile.
 */
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import { type BackoffPolicy, backoffDelay } from "../lib/backoff.js";
import type { Clock } from "../lib/clock.js";
import type { TeleportClient, WatchEvent } from "../teleport/client.js";

/** Reconnect delays: 0.5 s doubling to 15 s, jittered, reset once a stream is live. */
export const WATCH_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 15_000 };
/** A stream that sends no INIT this long is treated as failed (the original waited 5–15 s). */
export const INIT_TIMEOUT_MS = 15_000;

export interface WatcherDeps {
  teleport: () => TeleportClient;
  clock: Clock;
  random?: () => number;
  logger: Logger;
  onEvent(event: Exclude<WatchEvent, { type: "init" }>): void;
  onConnected(): void;
  onDisconnected(error: AppError | undefined): void;
}

export class RequestWatcher {
  constructor(private readonly deps: WatcherDeps) {}

  /** Runs until `signal` aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.deps;
    let attempt = 0;
    while (!signal.aborted) {
      const outcome = await this.watchOnce(signal);
      if (signal.aborted) return;
      if (outcome.live) attempt = 0;
      this.deps.onDisconnected(outcome.error);
      const delay = backoffDelay(WATCH_BACKOFF, attempt++, this.deps.random);
      if (outcome.error) {
        logger.warn(
          { err: outcome.error.describe(), retry_in_ms: delay },
          "Failed to watch Teleport access requests. Reconnecting…",
        );
      } else {
        logger.warn({ retry_in_ms: delay }, "Watcher stream closed. Reconnecting…");
      }
      await clock.sleep(delay, signal).catch(() => undefined);
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<{ live: boolean; error?: AppError }> {
    const stream = new AbortController();
    const stop = () => stream.abort();
    signal.addEventListener("abort", stop, { once: true });
    let live = false;
    const initTimer = setTimeout(() => {
      if (!live) stream.abort(new Error("init timeout"));
    }, INIT_TIMEOUT_MS);
    try {
      for await (const event of this.deps.teleport().watchRequests(stream.signal)) {
        if (event.type === "init") {
          live = true;
          clearTimeout(initTimer);
          this.deps.onConnected();
        } else if (live) {
          this.deps.onEvent(event);
        }
      }
      if (!live && stream.signal.aborted && !signal.aborted) {
        return {
          live,
          error: new AppError("TIMEOUT", `Teleport sent no INIT event within ${INIT_TIMEOUT_MS} ms`, {
            retryable: true,
          }),
        };
      }
      return { live };
    } catch (error) {
      return { live, error: AppError.from(error, "TELEPORT") };
    } finally {
      clearTimeout(initTimer);
      signal.removeEventListener("abort", stop);
      stream.abort();
    }
  }
}

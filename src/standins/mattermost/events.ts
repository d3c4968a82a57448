/**
 * What happened on the stand-in, for tests to wait on: posts created and updated, ephemeral posts,
 * dialogs opened and submitted, integration requests. The real server would push these over its
 * WebSocket; the stand-in keeps a history so `waitFor` also finds events that already happened.
 */
import { EventEmitter } from "node:events";
import type { StandinEvent } from "./types.js";

export class EventLog {
  readonly emitter = new EventEmitter();
  private readonly history: StandinEvent[] = [];
  private readonly waiters = new Set<{ reject: (error: Error) => void; timer: NodeJS.Timeout }>();

  emit(event: StandinEvent): void {
    this.history.push(event);
    this.emitter.emit(event.type, event);
    this.emitter.emit("event", event);
  }

  /**
   * Resolves with the first event (already happened or future) the predicate accepts; rejects
   * after `timeoutMs` or when the stand-in stops.
   */
  waitFor(predicate: (event: StandinEvent) => boolean, timeoutMs = 5000): Promise<StandinEvent> {
    const past = this.history.find(predicate);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const listener = (event: StandinEvent) => {
        if (!predicate(event)) return;
        cleanup();
        resolve(event);
      };
      const waiter = {
        reject: (error: Error) => {
          cleanup();
          reject(error);
        },
        timer: setTimeout(() => {
          cleanup();
          reject(new Error(`Mattermost stand-in: no matching event within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      const cleanup = () => {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        this.emitter.off("event", listener);
      };
      this.waiters.add(waiter);
      this.emitter.on("event", listener);
    });
  }

  /** Rejects every pending `waitFor` and drops every listener. */
  close(): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error("Mattermost stand-in stopped"));
    }
    this.waiters.clear();
    this.emitter.removeAllListeners();
  }
}

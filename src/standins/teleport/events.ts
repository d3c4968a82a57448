/**
 * What the stand-in tells its test or demo as things happen, and `waitFor` built on it. Not
 * Teleport behaviour: the observation side of the stand-in (Teleport's own equivalents are its
 * audit log, kept in `TeleportStandin.audit`, and watch streams).
 */
import type { EventEmitter } from "node:events";
import type { StoreChange } from "./requests.js";
import type { CallRecord } from "./rpc.js";

export interface StandinEvents {
  call: [CallRecord];
  change: [StoreChange];
  pluginData: [{ id: string; plugin: string; data: Record<string, string> | undefined }];
  /** A TLS handshake was refused (certificate from an unknown CA, bad SNI …). */
  tlsRejected: [{ reason: string }];
}

/**
 * Resolves with the first truthy value `probe` returns, re-checked after every call and store
 * change; rejects after `timeoutMs`.
 */
export function waitFor<T>(
  events: EventEmitter<StandinEvents>,
  probe: () => T | undefined | null | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const check = () => {
      let value: T | undefined | null | false;
      try {
        value = probe();
      } catch (error) {
        finish();
        reject(error);
        return;
      }
      if (value !== undefined && value !== null && value !== false) {
        finish();
        resolve(value);
      }
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      events.off("call", check);
      events.off("change", check);
      events.off("pluginData", check);
    };
    events.on("call", check);
    events.on("change", check);
    events.on("pluginData", check);
    check();
  });
}

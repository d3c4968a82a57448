/**
 * Memory and CPU at 10,000 requests: RSS idle, then 10,000 requests handled as fast as the
 * daemon takes them (at most IN_FLIGHT created and not yet recorded), CPU per request, RSS a
 * second later and once settled. Idle and settled are read after the same time without work, so
 * the growth between them is the tracked requests', not what a collection after the start would
 * have freed anyway. One contender's settling overlaps the other's load: RSS of an idle process
 * does not depend on what else runs.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type Bench, type PerContender, startIn, stopIn, withSites } from "./harness.js";
import { cpuMs, ownCpuMs, peakRssMb, type RssParts, rssMb, rssPartsMb } from "./proc.js";
import { type HeapFigures, type StartedDaemon, until } from "./site.js";

export const TRACKED_REQUESTS = 10_000;
/** Requests created but not yet recorded, at most: keeps the daemon busy without an unbounded queue. */
const IN_FLIGHT = 500;
/** The load stops here if not done: on a busy shared machine a slow contender still reports. */
const LOAD_TIMEOUT_MS = 180_000;
/** Idle time after the load before the "1 s after" RSS is read. */
const SETTLE_MS = 1_000;
/**
 * Idle time before "idle" RSS is read after the start, and "settled" RSS after the load: V8's
 * memory reducer runs ~8 s after allocation stops (a start is a burst of allocation too; ours
 * read 1 s after its start was ~3 MB above the same daemon 15 s later).
 */
export const SETTLED_MS = 15_000;

/** What the daemon's RSS is made of at one moment. */
export interface MemoryParts extends RssParts {
  /** Ours only (from its /metrics, read right after RSS). */
  heap?: HeapFigures;
}

export interface MemoryResult {
  /** RSS once the daemon has been idle for SETTLED_MS after its start. */
  idleRssMb: number;
  idleParts: MemoryParts;
  /** RSS a second after the last request was handled. */
  loadedRssMb: number;
  /** RSS once the daemon has been idle for SETTLED_MS after the load. */
  trackedRssMb: number;
  trackedParts?: MemoryParts;
  /** VmHWM: the most RSS the daemon ever had. */
  peakRssMb: number;
  handled: number;
  /** Daemon CPU per request handled, ms. */
  daemonCpuMs: number;
  standinCpuMs: number;
  /** Requests handled per second with the daemon kept busy. */
  perSec: number;
}

export async function memory(bench: Bench): Promise<PerContender<MemoryResult>> {
  const results: PerContender<MemoryResult> = {};
  return withSites(bench, {}, async (arenas) => {
    const settling: Promise<void>[] = [];
    for (const [contender, arena] of arenas) {
      const { site } = arena;
      const daemon = await startIn(arena, contender);
      await sleep(SETTLED_MS);
      const idleRssMb = rssMb(daemon.pid);
      const idleParts = await partsOf(daemon);
      const daemonCpuBefore = cpuMs(daemon.pid);
      const ownCpuBefore = ownCpuMs();
      const start = performance.now();
      const ids: string[] = [];
      const deadline = start + LOAD_TIMEOUT_MS;
      while (ids.length < TRACKED_REQUESTS && performance.now() < deadline) {
        const inFlight = ids.length - site.recorded.size;
        const batch = Math.min(IN_FLIGHT - inFlight, TRACKED_REQUESTS - ids.length);
        if (batch > 0) ids.push(...site.createRequests(batch));
        await sleep(5);
      }
      const done = await until(
        () => site.recorded.size >= TRACKED_REQUESTS,
        Math.max(0, deadline - performance.now()),
      );
      const elapsedS = (performance.now() - start) / 1000;
      const handled = site.recorded.size;
      const daemonCpu = cpuMs(daemon.pid) - daemonCpuBefore;
      const ownCpu = ownCpuMs() - ownCpuBefore;
      await sleep(SETTLE_MS);
      const loadedRssMb = rssMb(daemon.pid);
      const loadEnded = performance.now();
      const result: MemoryResult = {
        idleRssMb,
        idleParts,
        loadedRssMb,
        trackedRssMb: Number.NaN,
        peakRssMb: Number.NaN,
        handled,
        daemonCpuMs: daemonCpu / handled,
        standinCpuMs: ownCpu / handled,
        perSec: handled / elapsedS,
      };
      results[contender] = result;
      bench.log(
        `  ${contender}: ${handled} handled${done ? "" : " (timed out)"} in ${elapsedS.toFixed(1)} s, CPU ${result.daemonCpuMs.toFixed(2)} ms/request (stand-ins ${result.standinCpuMs.toFixed(2)}), RSS idle ${idleRssMb.toFixed(1)} (${describeParts(idleParts)}), 1 s after ${loadedRssMb.toFixed(1)} MB`,
      );
      settling.push(
        (async () => {
          await sleep(Math.max(0, loadEnded + SETTLED_MS - SETTLE_MS - performance.now()));
          result.trackedRssMb = rssMb(daemon.pid);
          result.peakRssMb = peakRssMb(daemon.pid);
          result.trackedParts = await partsOf(daemon);
          bench.log(
            `  ${contender}: settled RSS ${result.trackedRssMb.toFixed(1)} MB (${describeParts(result.trackedParts)}), peak ${result.peakRssMb.toFixed(1)} MB`,
          );
          await stopIn(arena, daemon);
        })(),
      );
    }
    await Promise.all(settling);
    return results;
  });
}

/** The RSS split, then (ours) the heap figures: asking for them costs the daemon a little memory. */
async function partsOf(daemon: StartedDaemon): Promise<MemoryParts> {
  const parts = rssPartsMb(daemon.pid);
  return daemon.heap ? { ...parts, heap: await daemon.heap() } : parts;
}

export function describeParts(parts: MemoryParts): string {
  const heap = parts.heap
    ? `; V8 heap ${parts.heap.usedMb.toFixed(1)} used of ${parts.heap.totalMb.toFixed(1)}, external ${parts.heap.externalMb.toFixed(1)}`
    : "";
  return `anonymous ${parts.anonMb.toFixed(1)}, program files ${parts.filesMb.toFixed(1)}${heap}`;
}

/**
 * The side-by-side table: one row per figure, the original's column and ours, ours ÷ the
 * original's, the target (from issue 11) and whether ours meets it.
 */

import type { RoundTripCpu } from "./calibrate.js";
import type { PerContender } from "./harness.js";
import {
  BURST_REQUESTS,
  type BurstRound,
  CLICKS_PER_ROUND,
  type ClickRound,
  EVENT_TO_POST,
  type EventToPostRound,
  type LatencyResult,
} from "./latency.js";
import { LIMIT, type LimitedBurst } from "./limit.js";
import { describeParts, type MemoryResult, SETTLED_MS, TRACKED_REQUESTS } from "./memory.js";
import type { NodeAlone } from "./node-alone.js";
import type { Contender } from "./site.js";
import { PENDING_AT_START, type StartupResult } from "./startup.js";
import { median } from "./stats.js";

export interface Results {
  startup?: PerContender<StartupResult>;
  latency?: LatencyResult;
  limit?: PerContender<LimitedBurst[]>;
  memory?: PerContender<MemoryResult>;
  /** What Node costs alone here, and a round trip's CPU: the floors under some targets. */
  nodeAlone?: NodeAlone;
  roundTrip?: RoundTripCpu;
}

export interface Row {
  figure: string;
  go: string;
  ours: string;
  /** ours ÷ Go, per value shown. */
  ratio: string;
  target: string;
  /** The same figure for Node alone (node-alone.ts, calibrate.ts), where it bounds ours from below. */
  node?: string;
  /** Whether ours meets the target; undefined for figures without one. */
  met: boolean | undefined;
  /** The target is below the Node-alone floor (`node`): out of reach here for a daemon like ours. */
  outOfReach?: boolean;
  values: Record<string, number | undefined>;
}

/**
 * Round trips a request costs any daemon that records its post, as both do: the post to
 * Mattermost, then the write of its record to Teleport (the watch event that starts it adds a wake-up).
 */
const MIN_ROUND_TRIPS_PER_REQUEST = 2;

const medianOf = <T>(runs: readonly T[] | undefined, pick: (run: T) => number) =>
  runs && runs.length > 0 ? median(runs.map(pick)) : undefined;
const fixed = (value: number | undefined, digits = 1) => (value === undefined ? "—" : value.toFixed(digits));
const ratioOf = (ours: number | undefined, go: number | undefined) =>
  ours === undefined || go === undefined || go === 0 ? "—" : `${(ours / go).toFixed(2)}×`;

export function rows(results: Results, contenders: readonly Contender[]): Row[] {
  const out: Row[] = [];
  const hasGo = contenders.includes("go");
  const goMissing = hasGo ? "—" : "not run";
  const { startup, latency, limit, memory, nodeAlone, roundTrip } = results;
  const nodeReady = nodeAlone ? `${fixed(nodeAlone.readyMs, 0)} ms` : undefined;

  if (latency?.post.ours) {
    const pick = (runs: EventToPostRound[] | undefined) =>
      ["p50", "p90", "p99", "max"].map((key) => medianOf(runs, (r) => r[key as "p50"]));
    const [go, ours] = [pick(latency.post.go), pick(latency.post.ours)];
    const missing = (latency.post.ours ?? []).reduce((sum, run) => sum + run.missing, 0);
    const goMissingPosts = (latency.post.go ?? []).reduce((sum, run) => sum + run.missing, 0);
    out.push({
      figure: `Event → post, ${EVENT_TO_POST.requests} at ${EVENT_TO_POST.perSec}/s after ${EVENT_TO_POST.warmup.toLocaleString("en")} warm-up requests: p50 / p90 / p99 / max`,
      go: latency.post.go
        ? `${go.map((v) => fixed(v)).join(" / ")} ms${goMissingPosts ? `, ${goMissingPosts} never posted` : ""}`
        : goMissing,
      ours: `${ours.map((v) => fixed(v)).join(" / ")} ms${missing ? `, ${missing} never posted` : ""}`,
      ratio: ours.map((v, i) => ratioOf(v, go[i])).join(" / "),
      target: "p50, p99 ≤ Go",
      met: go[0] === undefined ? undefined : missing === 0 && ours[0]! <= go[0] && ours[2]! <= go[2]!,
      values: {
        goP50: go[0],
        goP90: go[1],
        goP99: go[2],
        goMax: go[3],
        p50: ours[0],
        p90: ours[1],
        p99: ours[2],
        max: ours[3],
      },
    });
  }
  if (latency?.postFirst.ours) {
    const show = (r: EventToPostRound | undefined) =>
      r ? `${fixed(r.p50)} / ${fixed(r.p99)} ms; ${fixed(r.daemonCpuMs, 2)} ms` : goMissing;
    const [go, ours] = [latency.postFirst.go, latency.postFirst.ours];
    out.push({
      figure: `  the first ${EVENT_TO_POST.requests} after start: p50 / p99; CPU per request`,
      go: show(go),
      ours: show(ours),
      ratio: `${ratioOf(ours.p50, go?.p50)} / ${ratioOf(ours.p99, go?.p99)}; ${ratioOf(ours.daemonCpuMs, go?.daemonCpuMs)}`,
      target: "—",
      met: undefined,
      values: {
        p50: ours.p50,
        p99: ours.p99,
        cpuMs: ours.daemonCpuMs,
        goP50: go?.p50,
        goP99: go?.p99,
        goCpuMs: go?.daemonCpuMs,
      },
    });
  }
  if (startup?.ours) {
    const goEmpty = medianOf(startup.go?.emptyMs, (v) => v);
    const oursEmpty = medianOf(startup.ours.emptyMs, (v) => v)!;
    const best = (values: number[] | undefined) => (values?.length ? Math.min(...values) : undefined);
    out.push({
      figure: "Startup to ready, nothing pending (best)",
      go: startup.go ? `${fixed(goEmpty, 0)} ms (${fixed(best(startup.go.emptyMs), 0)})` : goMissing,
      ours: `${fixed(oursEmpty, 0)} ms (${fixed(best(startup.ours.emptyMs), 0)})`,
      ratio: ratioOf(oursEmpty, goEmpty),
      target: "≤ Go + 50 ms",
      node: nodeReady,
      met: goEmpty === undefined ? undefined : oursEmpty <= goEmpty + 50,
      outOfReach: goEmpty !== undefined && nodeAlone !== undefined && nodeAlone.readyMs > goEmpty + 50,
      values: { goMs: goEmpty, ms: oursEmpty },
    });
    const goPending = medianOf(startup.go?.pendingMs, (v) => v);
    const oursPending = medianOf(startup.ours.pendingMs, (v) => v)!;
    out.push({
      figure: `Startup to ready, ${PENDING_AT_START.toLocaleString("en")} pending already posted (best)`,
      go: startup.go
        ? `${fixed(goPending, 0)} ms (${fixed(best(startup.go.pendingMs), 0)}); it lists nothing`
        : goMissing,
      ours: `${fixed(oursPending, 0)} ms (${fixed(best(startup.ours.pendingMs), 0)})${startup.ours.reposted ? `, ${startup.ours.reposted} reposted` : ""}`,
      ratio: ratioOf(oursPending, goPending),
      target: "≤ 400 ms, 0 reposted",
      node: nodeReady,
      met: oursPending <= 400 && startup.ours.reposted === 0,
      outOfReach: nodeAlone !== undefined && nodeAlone.readyMs > 400,
      values: { goMs: goPending, ms: oursPending, reposted: startup.ours.reposted },
    });
  }
  if (latency?.burst.ours) {
    const pick = (runs: BurstRound[] | undefined) => medianOf(runs, (r) => r.totalS);
    const flaws = (runs: BurstRound[] | undefined) => {
      const short = (runs ?? []).filter((r) => r.posted < BURST_REQUESTS).length;
      const dup = (runs ?? []).reduce((sum, r) => sum + r.duplicates, 0);
      return `${short ? `, ${short} rounds incomplete` : ""}${dup ? `, ${dup} duplicates` : ""}`;
    };
    const [go, ours] = [pick(latency.burst.go), pick(latency.burst.ours)!];
    out.push({
      figure: `Burst of ${BURST_REQUESTS}, no rate limit: last posted after`,
      go: latency.burst.go ? `${fixed(go, 2)} s${flaws(latency.burst.go)}` : goMissing,
      ours: `${fixed(ours, 2)} s${flaws(latency.burst.ours)}`,
      ratio: ratioOf(ours, go),
      target: "≤ Go",
      met: go === undefined ? undefined : ours <= go && flaws(latency.burst.ours) === "",
      values: { goS: go, s: ours },
    });
  }
  for (const [index, requests] of (limit?.ours ?? []).map((burst, i) => [i, burst.requests] as const)) {
    const go = limit?.go?.[index];
    const ours = limit!.ours![index]!;
    const describe = (burst: LimitedBurst) =>
      burst.lost > 0 && burst.posted < burst.requests / 2
        ? `${burst.posted} posted, ${burst.lost} lost (429 not retried)`
        : `${fixed(burst.totalS)} s = ${(burst.totalS / burst.boundS).toFixed(2)}× bound; ${burst.posted}/${burst.duplicates}/${burst.lost}`;
    out.push({
      figure: `Burst of ${requests.toLocaleString("en")} under ${LIMIT.perSec}/s, burst ${LIMIT.maxBurst} per ${LIMIT.varyBy} (bound ${fixed(ours.boundS)} s): time; posted/dup/lost`,
      go: go ? describe(go) : goMissing,
      ours: describe(ours),
      ratio: go && go.lost === 0 ? ratioOf(ours.totalS, go.totalS) : "—",
      target: "≤ 1.1× bound; all/0/0",
      met:
        ours.totalS <= ours.boundS * 1.1 &&
        ours.posted === requests &&
        ours.duplicates === 0 &&
        ours.lost === 0,
      values: {
        s: ours.totalS,
        boundS: ours.boundS,
        posted: ours.posted,
        duplicates: ours.duplicates,
        lost: ours.lost,
        goPosted: go?.posted,
      },
    });
    const perRequest = (burst: LimitedBurst) =>
      `${(burst.calls / burst.requests).toFixed(2)} (${burst.rateLimited} answered 429)`;
    out.push({
      figure: "  Mattermost calls per request in it",
      go: go ? perRequest(go) : goMissing,
      ours: perRequest(ours),
      ratio: go ? ratioOf(ours.calls, go.calls) : "—",
      target: "1.00, no 429",
      met: ours.calls === requests && ours.rateLimited === 0,
      values: { calls: ours.calls, rateLimited: ours.rateLimited, goCalls: go?.calls },
    });
  }
  // Idle: read in the memory phase after as long without work as the settled figure after the
  // load (memory.ts says why); without that phase, the startup runs' reading 1 s after ready.
  const settledIdle = memory?.ours !== undefined;
  const idle = (contender: Contender) =>
    settledIdle ? memory?.[contender]?.idleRssMb : medianOf(startup?.[contender]?.idleRssMb, (v) => v);
  if (idle("ours") !== undefined) {
    const [go, ours] = [idle("go"), idle("ours")!];
    out.push({
      figure: `RSS idle, started with nothing to do${settledIdle ? ` (${SETTLED_MS / 1000} s after ready, one daemon)` : " (1 s after ready)"}`,
      go: go === undefined ? goMissing : `${fixed(go)} MB`,
      ours: `${fixed(ours)} MB`,
      ratio: ratioOf(ours, go),
      target: "≤ 50 MB",
      node: nodeAlone
        ? `${fixed(nodeAlone.idleRssMb)} MB; ${fixed(nodeAlone.withModulesRssMb)} with the ${nodeAlone.modules} modules of Node's ours loads`
        : undefined,
      met: ours <= 50,
      outOfReach: nodeAlone !== undefined && nodeAlone.idleRssMb > 50,
      values: { goMb: go, mb: ours },
    });
  }
  if (settledIdle && startup?.ours) {
    const early = (contender: Contender) => medianOf(startup[contender]?.idleRssMb, (v) => v);
    const [go, ours] = [early("go"), early("ours")!];
    out.push({
      figure: "  RSS 1 s after ready (startup runs, median)",
      go: go === undefined ? goMissing : `${fixed(go)} MB`,
      ours: `${fixed(ours)} MB`,
      ratio: ratioOf(ours, go),
      target: "—",
      met: undefined,
      values: { goMb: go, mb: ours },
    });
  }
  if (memory?.ours) {
    const parts = (m: MemoryResult | undefined) => (m ? `${describeParts(m.idleParts)} MB` : goMissing);
    out.push({
      figure: "  of idle RSS (program files: shared pages of the binary and its libraries)",
      go: parts(memory.go),
      ours: parts(memory.ours),
      ratio: `${ratioOf(memory.ours.idleParts.anonMb, memory.go?.idleParts.anonMb)} / ${ratioOf(memory.ours.idleParts.filesMb, memory.go?.idleParts.filesMb)}`,
      target: "—",
      met: undefined,
      values: {
        anonMb: memory.ours.idleParts.anonMb,
        filesMb: memory.ours.idleParts.filesMb,
        heapUsedMb: memory.ours.idleParts.heap?.usedMb,
        heapTotalMb: memory.ours.idleParts.heap?.totalMb,
        externalMb: memory.ours.idleParts.heap?.externalMb,
        goAnonMb: memory.go?.idleParts.anonMb,
        goFilesMb: memory.go?.idleParts.filesMb,
      },
    });
  }
  if (memory?.ours) {
    const partial = (m: MemoryResult) =>
      m.handled < TRACKED_REQUESTS ? `; only ${m.handled.toLocaleString("en")} handled in time` : "";
    const show = (m: MemoryResult | undefined) =>
      m ? `${fixed(m.trackedRssMb)} MB (+${fixed(m.trackedRssMb - m.idleRssMb)})${partial(m)}` : goMissing;
    const ours = memory.ours;
    out.push({
      figure: `RSS after ${TRACKED_REQUESTS.toLocaleString("en")} requests, settled (growth over its idle)`,
      go: show(memory.go),
      ours: show(ours),
      ratio: ratioOf(ours.trackedRssMb, memory.go?.trackedRssMb),
      target: "growth ≤ +15 MB",
      met: ours.trackedRssMb - ours.idleRssMb <= 15 && ours.handled === TRACKED_REQUESTS,
      values: {
        mb: ours.trackedRssMb,
        growthMb: ours.trackedRssMb - ours.idleRssMb,
        goMb: memory.go?.trackedRssMb,
      },
    });
    const loaded = (m: MemoryResult | undefined) =>
      m ? `${fixed(m.loadedRssMb)}; ${fixed(m.peakRssMb)} MB` : goMissing;
    out.push({
      figure: "  RSS 1 s after the last of them; peak",
      go: loaded(memory.go),
      ours: loaded(ours),
      ratio: `${ratioOf(ours.loadedRssMb, memory.go?.loadedRssMb)}; ${ratioOf(ours.peakRssMb, memory.go?.peakRssMb)}`,
      target: "—",
      met: undefined,
      values: { loadedMb: ours.loadedRssMb, peakMb: ours.peakRssMb },
    });
  }
  if (latency?.post.ours) {
    const [go, ours] = [
      medianOf(latency.post.go, (r) => r.daemonCpuMs),
      medianOf(latency.post.ours, (r) => r.daemonCpuMs)!,
    ];
    const steadyFloorMs = roundTrip ? (roundTrip.spacedUs + roundTrip.backToBackUs) / 1000 : undefined;
    out.push({
      figure: `CPU per request, ${EVENT_TO_POST.perSec}/s steady (the rounds above)`,
      go: go === undefined ? goMissing : `${fixed(go, 2)} ms`,
      ours: `${fixed(ours, 2)} ms`,
      ratio: ratioOf(ours, go),
      target: "≤ 1 ms",
      // The post's round trip starts from idle; the record's follows it at once.
      node:
        steadyFloorMs === undefined
          ? undefined
          : `${fixed(steadyFloorMs, 2)} ms: a round trip from idle and one right after`,
      met: ours <= 1,
      outOfReach: steadyFloorMs !== undefined && steadyFloorMs > 1,
      values: { goMs: go, ms: ours },
    });
  }
  if (memory?.ours) {
    const show = (m: MemoryResult | undefined) =>
      m ? `${fixed(m.daemonCpuMs, 2)} ms, ${fixed(m.perSec, 0)}/s` : goMissing;
    const busyFloorMs = roundTrip ? (MIN_ROUND_TRIPS_PER_REQUEST * roundTrip.backToBackUs) / 1000 : undefined;
    out.push({
      figure: `CPU per request, ${TRACKED_REQUESTS.toLocaleString("en")} as fast as handled; requests/s`,
      go: show(memory.go),
      ours: show(memory.ours),
      ratio: ratioOf(memory.ours.daemonCpuMs, memory.go?.daemonCpuMs),
      target: "≤ 1 ms",
      node:
        busyFloorMs === undefined
          ? undefined
          : `${fixed(busyFloorMs, 2)} ms: ${MIN_ROUND_TRIPS_PER_REQUEST} round trips back to back`,
      met: memory.ours.daemonCpuMs <= 1,
      outOfReach: busyFloorMs !== undefined && busyFloorMs > 1,
      values: { ms: memory.ours.daemonCpuMs, perSec: memory.ours.perSec, goMs: memory.go?.daemonCpuMs },
    });
  }
  if (latency?.click.ours) {
    const pick = (runs: ClickRound[] | undefined) => [
      medianOf(runs, (r) => r.p50),
      medianOf(runs, (r) => r.p99),
    ];
    const failed = (runs: ClickRound[] | undefined) => (runs ?? []).reduce((sum, r) => sum + r.failed, 0);
    const [go, ours] = [pick(latency.click.go), pick(latency.click.ours)];
    const show = (values: (number | undefined)[], runs: ClickRound[] | undefined) =>
      `${values.map((v) => fixed(v)).join(" / ")} ms${failed(runs) ? `, ${failed(runs)} failed` : ""}`;
    out.push({
      figure: `Click → decided and post updated, ${CLICKS_PER_ROUND} a round: p50 / p99 (ours: from the dialog submission)`,
      go: latency.click.go ? show(go, latency.click.go) : goMissing,
      ours: show(ours, latency.click.ours),
      ratio: ours.map((v, i) => ratioOf(v, go[i])).join(" / "),
      target: "p99 < 100 ms",
      met: ours[1]! < 100 && failed(latency.click.ours) === 0,
      values: { p50: ours[0], p99: ours[1], goP50: go[0], goP99: go[1] },
    });
  }
  return out;
}

export function renderTable(table: Row[]): string {
  const header = ["figure", "Go 0.1.0", "ours", "ours ÷ Go", "target", "met", "Node alone (floor)"];
  const cells = table.map((row) => [
    row.figure,
    row.go,
    row.ours,
    row.ratio,
    row.target,
    row.met === undefined ? "" : row.met ? "yes" : row.outOfReach ? "NO, out of reach" : "NO",
    row.node ?? "",
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => cell[column]!.length)),
  );
  const line = (cell: string[]) =>
    cell
      .map((text, column) => text.padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...cells.map(line)].join("\n");
}

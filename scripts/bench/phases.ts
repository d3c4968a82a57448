/**
 * The benchmark's measurements. Each starts its own site (fresh stand-ins) and daemon process,
 * so one phase's leftovers (thousands of requests, a rate limiter's state) never colour
 * another's figures, and each stops everything it started, also when it fails.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { RateLimitOptions } from "../../src/standins/mattermost/index.js";
import { cpuMs, ownCpuMs, peakRssMb, rssMb } from "./proc.js";
import { BenchSite, type StartedDaemon, until } from "./site.js";
import { percentile } from "./stats.js";

/** Runs of each repeated measurement; the figure reported is the median over them. */
export const RUNS = 3;

async function withSite<T>(
  options: { rateLimit?: RateLimitOptions },
  body: (site: BenchSite, daemons: StartedDaemon[]) => Promise<T>,
): Promise<T> {
  const site = await BenchSite.create(options);
  const daemons: StartedDaemon[] = [];
  try {
    return await body(site, daemons);
  } finally {
    for (const daemon of daemons) await daemon.process.stop();
    await site.stop();
  }
}

async function started(site: BenchSite, daemons: StartedDaemon[]): Promise<StartedDaemon> {
  const daemon = await site.startDaemon();
  daemons.push(daemon);
  return daemon;
}

async function stopped(daemon: StartedDaemon): Promise<void> {
  const code = await daemon.process.stop();
  if (code !== 0)
    throw new Error(`daemon exited with code ${code}\n${daemon.process.stderrText.slice(-2000)}`);
}

/** Creates `count` requests at `perSec`, on schedule (no drift); returns id → performance.now() of creation. */
async function createPaced(site: BenchSite, count: number, perSec: number): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  const intervalMs = 1000 / perSec;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const at = performance.now();
    created.set(site.createRequest(), at);
  }
  return created;
}

// --- 1. Event → post -------------------------------------------------------------------------

export const EVENT_TO_POST = { requests: 1000, perSec: 50, warmup: 50 } as const;

export interface EventToPostRun {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  missing: number;
  /** Daemon CPU (user + system) per request, ms. */
  daemonCpuMs: number;
  /** This process's CPU per request (both stand-ins and the benchmark), ms. */
  standinCpuMs: number;
}

export async function eventToPost(log: (line: string) => void): Promise<EventToPostRun[]> {
  return withSite({}, async (site, daemons) => {
    const daemon = await started(site, daemons);
    // A long-running daemon has its code paths compiled; so does this one before timing starts.
    const warm = await createPaced(site, EVENT_TO_POST.warmup, EVENT_TO_POST.perSec);
    await until(() => site.allPosted([...warm.keys()], true), 10_000);
    const runs: EventToPostRun[] = [];
    for (let run = 0; run < RUNS; run++) {
      const daemonCpuBefore = cpuMs(daemon.pid);
      const ownCpuBefore = ownCpuMs();
      const created = await createPaced(site, EVENT_TO_POST.requests, EVENT_TO_POST.perSec);
      const ids = [...created.keys()];
      await until(() => site.allPosted(ids, true), 30_000);
      const latencies = ids.flatMap((id) => {
        const post = site.posts.get(id);
        return post ? [post.at - created.get(id)!] : [];
      });
      const result: EventToPostRun = {
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
        max: percentile(latencies, 100),
        missing: ids.length - latencies.length,
        daemonCpuMs: (cpuMs(daemon.pid) - daemonCpuBefore) / ids.length,
        standinCpuMs: (ownCpuMs() - ownCpuBefore) / ids.length,
      };
      log(
        `  event→post run ${run + 1}: p50 ${result.p50.toFixed(1)} p95 ${result.p95.toFixed(1)} p99 ${result.p99.toFixed(1)} max ${result.max.toFixed(1)} ms, missing ${result.missing}, daemon CPU ${result.daemonCpuMs.toFixed(2)} ms/request`,
      );
      runs.push(result);
    }
    await stopped(daemon);
    return runs;
  });
}

// --- 2. Burst under Mattermost's rate limit -------------------------------------------------

/**
 * Mattermost's own RateLimitSettings defaults (PerSec 10, MaxBurst 100: MATTERMOST-API.md §3),
 * keyed by token (VaryByUser) so the bot's budget is its own: what an operator who switches
 * rate limiting on gets.
 */
export const BURST_RATE_LIMIT = {
  perSec: 10,
  maxBurst: 100,
  varyBy: "token",
} as const satisfies RateLimitOptions;
export const BURST_REQUESTS = 1000;
/** After the last post, how long to keep watching for a duplicate. */
const DUPLICATE_WATCH_MS = 3_000;

export interface BurstResult {
  requests: number;
  rateLimit: RateLimitOptions;
  totalS: number;
  /** (calls needed − calls the full bucket lets through at once) ÷ rate. */
  boundS: number;
  posted: number;
  duplicates: number;
  lost: number;
  /** API calls the daemon made during the burst (429s included) and how many were answered 429. */
  calls: number;
  rateLimited: number;
  /** Calls answered 2xx: the calls the work needed. */
  succeeded: number;
}

export async function burst(log: (line: string) => void): Promise<BurstResult> {
  const rateLimit = BURST_RATE_LIMIT;
  return withSite({ rateLimit }, async (site, daemons) => {
    const daemon = await started(site, daemons);
    // Let the startup checks' tokens come back so the burst meets a full bucket.
    await sleep(((rateLimit.maxBurst + 1) / rateLimit.perSec) * 1000);
    site.world.mattermost.clearLogs();
    const start = performance.now();
    const ids = site.createRequests(BURST_REQUESTS);
    // GCRA lets maxBurst + 1 calls through at once, then one every 1/perSec s.
    const boundS = (BURST_REQUESTS - (rateLimit.maxBurst + 1)) / rateLimit.perSec;
    const progress = setInterval(() => {
      const posted = ids.filter((id) => site.posts.has(id)).length;
      const limited = site.world.mattermost.requests.filter((request) => request.status === 429).length;
      log(
        `    ${((performance.now() - start) / 1000).toFixed(0)} s: ${posted} posted, ${limited} calls answered 429`,
      );
    }, 15_000);
    const done = await until(() => site.allPosted(ids, true), boundS * 2_000 + 30_000, 100).finally(() =>
      clearInterval(progress),
    );
    const lastPostAt = Math.max(...ids.map((id) => site.posts.get(id)?.at ?? 0));
    await sleep(DUPLICATE_WATCH_MS);
    const seen = ids.map((id) => site.posts.get(id));
    const requests = site.world.mattermost.requests;
    const result: BurstResult = {
      requests: ids.length,
      rateLimit,
      totalS: (lastPostAt - start) / 1000,
      boundS,
      posted: seen.filter((post) => post !== undefined).length,
      duplicates: seen.reduce((sum, post) => sum + Math.max(0, (post?.count ?? 0) - 1), 0),
      lost: seen.filter((post) => post === undefined).length,
      calls: requests.length,
      rateLimited: requests.filter((request) => request.status === 429).length,
      succeeded: requests.filter((request) => request.status >= 200 && request.status < 300).length,
    };
    log(
      `  burst: ${result.posted} posted in ${result.totalS.toFixed(1)} s (bound ${boundS.toFixed(1)} s), ${result.duplicates} duplicates, ${result.lost} lost, ${result.calls} calls (${result.rateLimited} answered 429)${done ? "" : " — timed out"}`,
    );
    await stopped(daemon);
    return result;
  });
}

// --- 3. Click round trip --------------------------------------------------------------------

export const CLICKS_PER_RUN = 200;
/** Clicks start at most this often, so each meets a daemon not busy with the previous one's follow-up. */
const CLICK_SPACING_MS = 20;

export interface ClickRun {
  p50: number;
  p99: number;
  max: number;
  failed: number;
  /** "click": the click itself decides; "dialog": the click opened a dialog and its submission was timed. */
  mode: "click" | "dialog";
}

export async function clickRoundTrip(log: (line: string) => void): Promise<ClickRun[]> {
  return withSite({}, async (site, daemons) => {
    const daemon = await started(site, daemons);
    const { mattermost } = site.world;
    const approver = site.world.approver;
    const runs: ClickRun[] = [];
    for (let run = 0; run < RUNS; run++) {
      const ids = site.createRequests(CLICKS_PER_RUN);
      if (!(await until(() => site.allPosted(ids, true), 30_000)))
        throw new Error("requests to click were not posted");
      const samples: number[] = [];
      let failed = 0;
      let mode: ClickRun["mode"] = "click";
      for (const id of ids) {
        const postId = site.posts.get(id)!.postId;
        let start = performance.now();
        const reply = await mattermost.clickAction(approver.session, postId, "approve");
        if (reply.status !== 200) {
          failed++;
          continue;
        }
        // A reason dialog (if the daemon opens one) is filled in by a person; time its submission instead.
        const dialog = mattermost.openDialogs(approver.user.id)[0];
        if (dialog) {
          mode = "dialog";
          start = performance.now();
          const submitted = await mattermost.submitDialog(approver.session, {
            url: dialog.url,
            callback_id: dialog.dialog["callback_id"] ?? "",
            state: dialog.dialog["state"] ?? "",
            channel_id: site.world.channel.id,
            team_id: site.world.team.id,
            submission: { reason: "benchmark" },
            cancelled: false,
          });
          if (submitted.status !== 200) {
            failed++;
            continue;
          }
        }
        const effective = await until(() => site.decided.has(id) && site.postDecided.has(postId), 5_000, 1);
        if (!effective) {
          failed++;
          continue;
        }
        samples.push(Math.max(site.decided.get(id)!, site.postDecided.get(postId)!) - start);
        const wait = start + CLICK_SPACING_MS - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const result: ClickRun = {
        p50: percentile(samples, 50),
        p99: percentile(samples, 99),
        max: percentile(samples, 100),
        failed,
        mode,
      };
      log(
        `  click run ${run + 1}: p50 ${result.p50.toFixed(1)} p99 ${result.p99.toFixed(1)} max ${result.max.toFixed(1)} ms, failed ${failed} (${mode})`,
      );
      runs.push(result);
    }
    await stopped(daemon);
    return runs;
  });
}

// --- 4. Startup, and RSS idle ---------------------------------------------------------------

export const PENDING_AT_START = 1000;
/** Idle time before RSS is read, so startup's garbage has had a chance to be collected. */
const SETTLE_MS = 1_000;

export interface StartupResult {
  /** Spawn → "Catch-up finished", ms, per run. */
  emptyMs: number[];
  pendingMs: number[];
  /** VmRSS after start with nothing to do, MB, per run. */
  idleRssMb: number[];
  /** Posts created by the measured starts with 1,000 already posted (must be 0). */
  repostedDuringPendingStarts: number;
}

export async function startup(log: (line: string) => void): Promise<StartupResult> {
  return withSite({}, async (site, daemons) => {
    const result: StartupResult = {
      emptyMs: [],
      pendingMs: [],
      idleRssMb: [],
      repostedDuringPendingStarts: 0,
    };
    for (let run = 0; run < RUNS; run++) {
      const daemon = await started(site, daemons);
      await sleep(SETTLE_MS);
      result.emptyMs.push(daemon.startupMs);
      result.idleRssMb.push(rssMb(daemon.pid));
      await stopped(daemon);
    }
    log(`  startup, nothing pending: ${result.emptyMs.map((ms) => ms.toFixed(0)).join(", ")} ms`);
    // A first daemon posts the pending requests; the measured starts then only catch up on them.
    const ids = site.createRequests(PENDING_AT_START);
    const spawnedAt = performance.now();
    const first = await started(site, daemons);
    // "Catch-up finished" may come once the work is queued rather than done: wait for the posts.
    if (!(await until(() => site.allPosted(ids, true), 60_000))) {
      throw new Error("the first daemon did not post every pending request within 60 s");
    }
    const postedMs = performance.now() - spawnedAt;
    await stopped(first);
    log(
      `  first daemon posted ${PENDING_AT_START} pending requests in ${postedMs.toFixed(0)} ms (start included)`,
    );
    const postsBefore = site.postsCreated;
    for (let run = 0; run < RUNS; run++) {
      const daemon = await started(site, daemons);
      if (daemon.caughtUp < PENDING_AT_START) throw new Error(`catch-up saw ${daemon.caughtUp} requests`);
      result.pendingMs.push(daemon.startupMs);
      await stopped(daemon);
    }
    result.repostedDuringPendingStarts = site.postsCreated - postsBefore;
    log(
      `  startup, ${PENDING_AT_START} posted and pending: ${result.pendingMs.map((ms) => ms.toFixed(0)).join(", ")} ms`,
    );
    return result;
  });
}

// --- 5. Memory and CPU at 10,000 tracked requests ---------------------------------------------

export const TRACKED_REQUESTS = 10_000;
/** Requests created but not yet recorded, at most: keeps the daemon busy without an unbounded queue. */
const IN_FLIGHT = 500;

/** Idle time after the load before "settled" RSS is read: V8's memory reducer runs ~8 s after a load ends. */
const SETTLED_MS = 15_000;

export interface MemoryResult {
  idleRssMb: number;
  /** RSS a second after the last request was handled. */
  loadedRssMb: number;
  /** RSS once the daemon has been idle for SETTLED_MS with the requests tracked. */
  trackedRssMb: number;
  /** VmHWM: the most RSS the daemon ever had. */
  peakRssMb: number;
  /** Daemon CPU per request handled, ms. */
  daemonCpuMs: number;
  standinCpuMs: number;
  /** Requests handled per second with the daemon kept busy. */
  perSec: number;
}

export async function memory(log: (line: string) => void): Promise<MemoryResult> {
  return withSite({}, async (site, daemons) => {
    const daemon = await started(site, daemons);
    await sleep(SETTLE_MS);
    const idleRssMb = rssMb(daemon.pid);
    const daemonCpuBefore = cpuMs(daemon.pid);
    const ownCpuBefore = ownCpuMs();
    const start = performance.now();
    const ids: string[] = [];
    const deadline = start + 120_000;
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
    const daemonCpu = cpuMs(daemon.pid) - daemonCpuBefore;
    const ownCpu = ownCpuMs() - ownCpuBefore;
    await sleep(SETTLE_MS);
    const loadedRssMb = rssMb(daemon.pid);
    await sleep(SETTLED_MS - SETTLE_MS);
    const handled = site.recorded.size;
    const result: MemoryResult = {
      idleRssMb,
      loadedRssMb,
      trackedRssMb: rssMb(daemon.pid),
      peakRssMb: peakRssMb(daemon.pid),
      daemonCpuMs: daemonCpu / handled,
      standinCpuMs: ownCpu / handled,
      perSec: handled / elapsedS,
    };
    log(
      `  ${handled} tracked${done ? "" : " (timed out)"} in ${elapsedS.toFixed(1)} s: RSS idle ${idleRssMb.toFixed(1)}, peak ${result.peakRssMb.toFixed(1)}, after ${loadedRssMb.toFixed(1)}, settled ${result.trackedRssMb.toFixed(1)} MB, daemon CPU ${result.daemonCpuMs.toFixed(2)} ms/request, stand-ins ${result.standinCpuMs.toFixed(2)} ms/request`,
    );
    await stopped(daemon);
    return result;
  });
}

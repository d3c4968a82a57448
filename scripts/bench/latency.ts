/**
 * Latency figures, on one running daemon per contender: event → post at a steady rate (with CPU
 * per request), a burst of requests with no rate limit, and the click round trip.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Arena,
  type Bench,
  createPaced,
  type PerContender,
  ROUNDS,
  startIn,
  stopIn,
  withSites,
} from "./harness.js";
import { cpuMs, ownCpuMs } from "./proc.js";
import { type Contender, until } from "./site.js";
import { percentile } from "./stats.js";

/**
 * Rounds of `requests` at `perSec`, after `warmup` requests: the first `requests` of them at
 * `perSec` too, measured as the daemon's first after its start ("cold"), the rest at
 * `warmupPerSec`. Ours kept getting cheaper for its first ~900 requests (V8 compiling its hot
 * paths: 7.8, 5.4, 4.1 ms of CPU per request in three rounds after a warm-up of 50), so a
 * shorter warm-up mixed its start into its steady state; both figures are shown. The original
 * needs no warm-up and gets the same.
 */
export const EVENT_TO_POST = { requests: 300, perSec: 50, warmup: 1_000, warmupPerSec: 200 } as const;
/** Longest the warm-up may take to be posted, once created. */
const WARMUP_TIMEOUT_MS = 30_000;
export const BURST_REQUESTS = 200;
export const CLICKS_PER_ROUND = 60;
/** Clicks start at most this often, so each meets a daemon not busy with the previous one's follow-up. */
const CLICK_SPACING_MS = 20;

export interface EventToPostRound {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  missing: number;
  /** Daemon CPU (user + system) per request, ms. */
  daemonCpuMs: number;
  /** This process's CPU per request (both stand-ins and the benchmark), ms. */
  standinCpuMs: number;
}

export interface BurstRound {
  /** Creation of the first request → the last one's post, s. */
  totalS: number;
  posted: number;
  duplicates: number;
}

export interface ClickRound {
  p50: number;
  p99: number;
  failed: number;
  /** "click": the click itself decides (the original); "dialog": the click opens a dialog whose submission is timed. */
  mode: "click" | "dialog";
}

export interface LatencyResult {
  post: PerContender<EventToPostRound[]>;
  /** The first EVENT_TO_POST.requests after the start, before the rest of the warm-up. */
  postFirst: PerContender<EventToPostRound>;
  burst: PerContender<BurstRound[]>;
  click: PerContender<ClickRound[]>;
}

export async function latency(
  bench: Bench,
  wanted: { post: boolean; burst: boolean; click: boolean },
): Promise<LatencyResult> {
  const result: LatencyResult = { post: {}, postFirst: {}, burst: {}, click: {} };
  return withSites(bench, {}, async (arenas) => {
    const daemons = new Map<Contender, number>();
    for (const [contender, arena] of arenas) {
      const daemon = await startIn(arena, contender);
      daemons.set(contender, daemon.pid);
      // A long-running daemon has its code paths compiled; so has this one before the rounds.
      let warmed = 0;
      if (wanted.post) {
        const first = await eventToPostRound(arena, daemon.pid);
        result.postFirst[contender] = first;
        warmed = EVENT_TO_POST.requests;
        bench.log(
          `  event→post, first ${EVENT_TO_POST.requests} after start, ${contender}: ${describePost(first)}`,
        );
      }
      const warm = await createPaced(arena.site, EVENT_TO_POST.warmup - warmed, EVENT_TO_POST.warmupPerSec);
      if (!(await until(() => arena.site.allPosted([...warm.keys()], true), WARMUP_TIMEOUT_MS)))
        throw new Error(
          `${contender}: the warm-up's requests were not all posted within ${WARMUP_TIMEOUT_MS} ms`,
        );
    }
    const each = async <T>(
      name: string,
      into: PerContender<T[]>,
      round: (arena: Arena, pid: number, contender: Contender) => Promise<T>,
      describe: (value: T) => string,
    ) => {
      for (let index = 0; index < ROUNDS; index++) {
        for (const [contender, arena] of arenas) {
          const value = await round(arena, daemons.get(contender)!, contender);
          const list = into[contender] ?? [];
          into[contender] = list;
          list.push(value);
          bench.log(`  ${name} round ${index + 1}, ${contender}: ${describe(value)}`);
        }
      }
    };
    if (wanted.post) {
      await each("event→post", result.post, (arena, pid) => eventToPostRound(arena, pid), describePost);
    }
    if (wanted.burst) {
      await each(
        "burst",
        result.burst,
        (arena) => burstRound(arena),
        (r) => `${r.posted}/${BURST_REQUESTS} posted in ${r.totalS.toFixed(2)} s, ${r.duplicates} duplicates`,
      );
    }
    if (wanted.click) {
      await each(
        "click",
        result.click,
        (arena, _pid, contender) => clickRound(arena, contender),
        (r) => `p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} ms, ${r.failed} failed (${r.mode})`,
      );
    }
    for (const arena of arenas.values()) {
      for (const daemon of [...arena.daemons]) await stopIn(arena, daemon);
    }
    return result;
  });
}

const describePost = (r: EventToPostRound) =>
  `p50 ${r.p50.toFixed(1)} p90 ${r.p90.toFixed(1)} p99 ${r.p99.toFixed(1)} max ${r.max.toFixed(1)} ms, missing ${r.missing}, CPU ${r.daemonCpuMs.toFixed(2)} ms/request`;

async function eventToPostRound(arena: Arena, pid: number): Promise<EventToPostRound> {
  const { site } = arena;
  const daemonCpuBefore = cpuMs(pid);
  const ownCpuBefore = ownCpuMs();
  const created = await createPaced(site, EVENT_TO_POST.requests, EVENT_TO_POST.perSec);
  const ids = [...created.keys()];
  await until(() => site.allPosted(ids, true), 30_000);
  const latencies = ids.flatMap((id) => {
    const post = site.posts.get(id);
    return post ? [post.at - created.get(id)!] : [];
  });
  return {
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    missing: ids.length - latencies.length,
    daemonCpuMs: (cpuMs(pid) - daemonCpuBefore) / ids.length,
    standinCpuMs: (ownCpuMs() - ownCpuBefore) / ids.length,
  };
}

async function burstRound(arena: Arena): Promise<BurstRound> {
  const { site } = arena;
  const start = performance.now();
  const ids = site.createRequests(BURST_REQUESTS);
  await until(() => site.allPosted(ids, true), 60_000, 5);
  const seen = ids.map((id) => site.posts.get(id));
  const lastAt = Math.max(...seen.map((post) => post?.at ?? 0));
  // Quiet between rounds: the daemon finishes what follows the posts before the next one starts.
  await sleep(500);
  return {
    totalS: (lastAt - start) / 1000,
    posted: seen.filter((post) => post !== undefined).length,
    duplicates: seen.reduce((sum, post) => sum + Math.max(0, (post?.count ?? 0) - 1), 0),
  };
}

/** The id of the post's button named `name` (Mattermost assigns ids the original leaves empty). */
function actionId(arena: Arena, postId: string, name: string): string {
  type Props = { attachments?: Array<{ actions?: Array<{ id?: string; name?: string }> }> };
  const post = arena.site.world.mattermost.post(postId);
  const actions = (post?.props as Props | undefined)?.attachments?.flatMap((a) => a.actions ?? []) ?? [];
  return actions.find((action) => action.name === name)?.id ?? name.toLowerCase();
}

async function clickRound(arena: Arena, contender: Contender): Promise<ClickRound> {
  const { site } = arena;
  const { mattermost } = site.world;
  const approver = site.world.approver;
  const ids = site.createRequests(CLICKS_PER_ROUND);
  if (!(await until(() => site.allPosted(ids, true), 30_000)))
    throw new Error("requests to click were not posted");
  const samples: number[] = [];
  let failed = 0;
  let mode: ClickRound["mode"] = "click";
  for (const id of ids) {
    const postId = site.posts.get(id)!.postId;
    let start = performance.now();
    const reply = await mattermost.clickAction(approver.session, postId, actionId(arena, postId, "Approve"));
    if (reply.status !== 200) {
      failed++;
      continue;
    }
    // Ours opens a reason dialog, filled in by a person; time its submission instead.
    const dialog = contender === "ours" ? mattermost.openDialogs(approver.user.id)[0] : undefined;
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
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), failed, mode };
}

/**
 * Bursts under Mattermost's rate limit (10/s, burst 20, per token: the limit the original was
 * measured under on a real server). The bound is what one call per request allows: the full
 * bucket at once, then one call every 1/perSec s. The original does not retry a 429, so it loses
 * posts; its row says how many.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { RateLimitOptions } from "../../src/standins/mattermost/index.js";
import { type Arena, type Bench, type PerContender, startIn, stopIn, withSites } from "./harness.js";
import { until } from "./site.js";

export const LIMIT = { perSec: 10, maxBurst: 20, varyBy: "token" } as const satisfies RateLimitOptions;
export const LIMITED_BURSTS = [100, 1000] as const;
/** After the last post, how long to keep watching for a duplicate. */
const DUPLICATE_WATCH_MS = 3_000;
/** A contender that sent nothing to Mattermost for this long has given up on what is missing. */
const QUIET_MS = 5_000;

export interface LimitedBurst {
  requests: number;
  /** Creation of the first request → the last post, s. */
  totalS: number;
  /** (requests − what the full bucket lets through at once) ÷ rate: one call per request at the limit. */
  boundS: number;
  posted: number;
  duplicates: number;
  lost: number;
  /** Mattermost calls during the burst (429s included), and how many were answered 429 and 2xx. */
  calls: number;
  rateLimited: number;
  succeeded: number;
}

export async function limitedBursts(bench: Bench): Promise<PerContender<LimitedBurst[]>> {
  const results: PerContender<LimitedBurst[]> = {};
  return withSites(bench, { rateLimit: LIMIT }, async (arenas) => {
    for (const [contender, arena] of arenas) {
      const daemon = await startIn(arena, contender);
      for (const requests of LIMITED_BURSTS) {
        const result = await limitedBurst(arena, requests, bench.log);
        const list = results[contender] ?? [];
        results[contender] = list;
        list.push(result);
        bench.log(
          `  ${requests} under the limit, ${contender}: ${result.posted} posted in ${result.totalS.toFixed(1)} s (bound ${result.boundS.toFixed(1)} s), ${result.duplicates} duplicates, ${result.lost} lost, ${result.calls} calls (${result.rateLimited} answered 429)`,
        );
      }
      await stopIn(arena, daemon);
    }
    return results;
  });
}

async function limitedBurst(
  arena: Arena,
  requests: number,
  log: (line: string) => void,
): Promise<LimitedBurst> {
  const { site } = arena;
  const { mattermost } = site.world;
  // Let earlier calls' tokens come back so the burst meets a full bucket.
  await sleep(((LIMIT.maxBurst + 2) / LIMIT.perSec) * 1000);
  mattermost.clearLogs();
  const start = performance.now();
  const ids = site.createRequests(requests);
  const boundS = (requests - (LIMIT.maxBurst + 1)) / LIMIT.perSec;
  const progress = setInterval(() => {
    const posted = ids.filter((id) => site.posts.has(id)).length;
    const limited = mattermost.requests.filter((request) => request.status === 429).length;
    log(
      `    ${((performance.now() - start) / 1000).toFixed(0)} s: ${posted} posted, ${limited} calls answered 429`,
    );
  }, 20_000);
  let calls = -1;
  let quietSince = performance.now();
  await until(
    () => {
      if (site.allPosted(ids, true)) return true;
      if (mattermost.requests.length !== calls) {
        calls = mattermost.requests.length;
        quietSince = performance.now();
      }
      return performance.now() - quietSince > QUIET_MS;
    },
    boundS * 3_000 + 30_000,
    50,
  ).finally(() => clearInterval(progress));
  const lastPostAt = Math.max(start, ...ids.map((id) => site.posts.get(id)?.at ?? 0));
  await sleep(DUPLICATE_WATCH_MS);
  const seen = ids.map((id) => site.posts.get(id));
  const log429 = mattermost.requests;
  return {
    requests,
    totalS: (lastPostAt - start) / 1000,
    boundS,
    posted: seen.filter((post) => post !== undefined).length,
    duplicates: seen.reduce((sum, post) => sum + Math.max(0, (post?.count ?? 0) - 1), 0),
    lost: seen.filter((post) => post === undefined).length,
    calls: log429.length,
    rateLimited: log429.filter((request) => request.status === 429).length,
    succeeded: log429.filter((request) => request.status >= 200 && request.status < 300).length,
  };
}

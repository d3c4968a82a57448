/**
 * Startup to ready, with nothing pending and with 1,000 pending requests already posted, and RSS
 * once started and idle. Ready: ours logs "Catch-up finished" (watch live, every request listed
 * and reconciled); the original logs that its callback server started and "Watcher connected"
 * (debug level; it lists nothing at start, so pending requests cost it nothing, and it never
 * posts those created while it was down). The first start after the 1,000 were posted is not
 * measured: it warms the stand-in up (see below).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type Bench, type PerContender, startIn, stopIn, withSites } from "./harness.js";
import { rssMb } from "./proc.js";
import { until } from "./site.js";

export const PENDING_AT_START = 1000;
/** Starts per contender and case: cheap, and the figure most swayed by the machine's load. */
export const STARTUP_ROUNDS = 5;
/** Idle time before RSS is read, so startup's garbage has had a chance to be collected. */
const SETTLE_MS = 1_000;

export interface StartupResult {
  /** Spawn → ready, ms, per start. */
  emptyMs: number[];
  pendingMs: number[];
  /** VmRSS after start with nothing to do, MB, per start. */
  idleRssMb: number[];
  /** Posts created by the measured starts with 1,000 already posted (must be 0). */
  reposted: number;
}

export async function startup(bench: Bench): Promise<PerContender<StartupResult>> {
  const results: PerContender<StartupResult> = {};
  return withSites(bench, {}, async (arenas) => {
    for (const contender of arenas.keys()) {
      results[contender] = { emptyMs: [], pendingMs: [], idleRssMb: [], reposted: 0 };
    }
    for (let round = 0; round < STARTUP_ROUNDS; round++) {
      for (const [contender, arena] of arenas) {
        const daemon = await startIn(arena, contender, { readyByLog: true });
        await sleep(SETTLE_MS);
        results[contender]!.emptyMs.push(daemon.startupMs);
        results[contender]!.idleRssMb.push(rssMb(daemon.pid));
        await stopIn(arena, daemon);
      }
    }
    for (const [contender, result] of Object.entries(results)) {
      bench.log(
        `  startup, nothing pending, ${contender}: ${result.emptyMs.map((ms) => ms.toFixed(0)).join(", ")} ms; idle RSS ${result.idleRssMb.map((mb) => mb.toFixed(1)).join(", ")} MB`,
      );
    }
    // A first daemon posts the requests as they come (the original posts nothing created while
    // it was down); the measured starts then only catch up on them.
    for (const [contender, arena] of arenas) {
      const first = await startIn(arena, contender);
      const createdAt = performance.now();
      const ids = arena.site.createRequests(PENDING_AT_START);
      if (!(await until(() => arena.site.allPosted(ids, true), 120_000))) {
        throw new Error(`${contender} did not post ${PENDING_AT_START} requests within 120 s`);
      }
      bench.log(
        `  ${contender} posted ${PENDING_AT_START} requests created at once in ${(performance.now() - createdAt).toFixed(0)} ms`,
      );
      await stopIn(arena, first);
      // One start not measured: the Teleport stand-in encodes each request and record once (and
      // its JavaScript warms up) at the first listing of them, which real Teleport, holding them
      // in Go, does not; that first listing took 180 ms against ~50 ms for the next ones.
      await stopIn(arena, await startIn(arena, contender, { readyByLog: true }));
    }
    const postsBefore = new Map(
      [...arenas].map(([contender, arena]) => [contender, arena.site.postsCreated]),
    );
    for (let round = 0; round < STARTUP_ROUNDS; round++) {
      for (const [contender, arena] of arenas) {
        const daemon = await startIn(arena, contender, { readyByLog: true });
        if (contender === "ours" && daemon.caughtUp < PENDING_AT_START) {
          throw new Error(`catch-up saw ${daemon.caughtUp} requests`);
        }
        results[contender]!.pendingMs.push(daemon.startupMs);
        await stopIn(arena, daemon);
      }
    }
    for (const [contender, arena] of arenas) {
      const result = results[contender]!;
      result.reposted = arena.site.postsCreated - postsBefore.get(contender)!;
      bench.log(
        `  startup, ${PENDING_AT_START} posted and pending, ${contender}: ${result.pendingMs.map((ms) => ms.toFixed(0)).join(", ")} ms`,
      );
    }
    return results;
  });
}

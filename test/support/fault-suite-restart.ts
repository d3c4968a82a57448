/**
 * Fault scenarios where the daemon starts on state someone else left: the original plugin's
 * plugin data and posts, and values damaged by hand (9, issue 12 item 1), or its own process
 * killed mid-burst and started again with the same config (10, item 7). Shared by the test suite
 * (small sizes) and `npm run faults` (full sizes), like fault-suite.ts.
 */
import { CLAIM_LEASE_MS } from "../../src/app/request-sync.js";
import { burstAndKill, FaultStage, type ScenarioResult, type Sizes, waitUntil } from "./fault-suite.js";
import { LegacyPlugin, MISSING_POST_ID } from "./legacy-plugin.js";

const UNREADABLE = "Plugin data of this request holds values this version cannot read; replacing them";
const RESUMED = "Resuming this instance's unfinished posting of the request";

/**
 * 9. Upgrade from the original plugin: requests whose plugin data is 0.1.0's or 6.x's (with
 * their posts), names a post deleted since, or was damaged by hand; some decided or deleted
 * before the daemon starts. Each must end with one post showing its real state — the earlier
 * version's own post where it still exists.
 */
export async function upgradeScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open();
  const legacy = new LegacyPlugin(stage.world);
  try {
    const { ledger, world } = stage;
    const ids = ledger.create(sizes.upgrade, "upgrade");
    /** Request id → the earlier version's post, which must be adopted. */
    const adoptable = new Map<string, string>();
    for (const [index, id] of ids.entries()) {
      const kind = index % 6;
      if (kind <= 2) {
        const version = kind === 2 ? "6.x" : "0.1.0";
        const postId = await legacy.post(version, id);
        await legacy.record(version, id, postId);
        adoptable.set(id, postId);
      } else if (kind === 3) {
        await legacy.record("0.1.0", id, MISSING_POST_ID);
      } else if (kind === 4) {
        await legacy.write(id, { user: "alice", roles: "dba", messages: "garbage{]" });
      } else {
        await legacy.write(id, {
          user: "alice",
          messages: '{"x":"a/b"}',
          rendered: "MAYBE",
          claim: "nobody",
        });
      }
    }
    // Decided or deleted while the old plugin still ran: their old posts must show it too.
    const withPosts = [...adoptable.keys()];
    for (const id of withPosts.filter((_, i) => i % 10 === 0)) ledger.approve(id, true);
    for (const id of withPosts.filter((_, i) => i % 10 === 1)) ledger.delete(id, true);
    const unadopted = () => {
      const posts = ledger.posts();
      return [...adoptable].filter(
        ([id, postId]) => !(posts.get(id) ?? []).some((post) => post.id === postId),
      );
    };

    const startedAt = Date.now();
    const daemon = await stage.startDaemon();
    await waitUntil(() => ledger.converged() && unadopted().length === 0, sizes.timeoutMs, 200);
    const convergeMs = Date.now() - startedAt;
    const result = ledger.tally();
    // An earlier post left in the old format is one post set too many, or the only one and wrong.
    const posts = ledger.posts();
    for (const [id] of unadopted()) {
      if ((posts.get(id) ?? []).length > 0) result.duplicates++;
      else result.stale++;
    }
    const redraws = world.mattermost.requests.filter(
      (entry) => entry.method === "PUT" && [...adoptable.values()].some((id) => entry.path.includes(id)),
    ).length;
    const warnings = daemon.lines.filter((line) => line.msg === UNREADABLE).length;
    return {
      scenario: "9 upgrade from the original plugin",
      ...result,
      convergeMs,
      notes: `${adoptable.size - unadopted().length}/${adoptable.size} earlier posts adopted with ${redraws} edits; ${warnings} unreadable records replaced (warned once each)`,
    };
  } finally {
    legacy.close();
    await stage.close();
  }
}

/**
 * 10. SIGKILL mid-burst, then the same daemon (same host, same config) started again at once: it
 * resumes the claims it held instead of waiting out their lease, so recovery is bounded by the
 * work left, not by the lease.
 */
export async function crashRestartScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open();
  try {
    const { daemon, postedAtKill, claimsAtKill, claimed } = await burstAndKill(stage, sizes, "crash");
    const startedAt = Date.now();
    const again = await stage.restartDaemon(daemon);
    // The figure the lease used to bound: when the last request caught mid-claim is posted.
    await waitUntil(
      () => claimed.every((id) => !stage.world.teleport.pluginData(id, "mattermost")?.["claim"]),
      sizes.timeoutMs,
    );
    const claimsDoneMs = Date.now() - startedAt;
    const result = await stage.converge("10 SIGKILL, restart same config", startedAt, sizes.timeoutMs);
    // Logged after every queued request was handled, so the lines before it have all been read.
    await again.waitForLog("Catch-up finished", sizes.timeoutMs);
    const resumed = new Set(
      again.lines.filter((line) => line.msg === RESUMED).map((line) => line["request_id"]),
    );
    return {
      ...result,
      postedAtKill,
      claimsAtKill,
      notes: `killed after ${postedAtKill} posts with ${claimsAtKill} claims held, ${resumed.size} resumed at once, all done ${(claimsDoneMs / 1000).toFixed(1)} s after the restart (lease ${CLAIM_LEASE_MS / 1000} s)`,
    };
  } finally {
    await stage.close();
  }
}

/**
 * One benchmark site: the Teleport and Mattermost stand-ins running in this process, set up as
 * an operator would (src/demo/world.ts), the daemon's config and identity files in a temporary
 * folder, and logs of what happened when (posts created and updated, requests decided, plugin
 * data recorded), timed with this process's monotonic clock. The daemon runs as a separate
 * process, started from the built CLI.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createWorld, type World } from "../../src/demo/world.js";
import type { RateLimitOptions, StandinPost } from "../../src/standins/mattermost/index.js";
import { DaemonProcess, writeDaemonConfig } from "../../test/support/daemon-process.js";
import { makeTempDir, type TempDir } from "../../test/support/temp-dir.js";

/** Node options for every daemon process (`--daemon-node-args`), e.g. `--cpu-prof` to profile it. */
export const daemonNodeArgs: string[] = [];

/** Daemon processes running now, so an interrupted benchmark can kill them. */
const runningDaemons = new Set<DaemonProcess>();

/** Kills every daemon process still running (on SIGINT/SIGTERM of the benchmark). */
export function killAllDaemons(): void {
  for (const daemon of runningDaemons) daemon.kill("SIGKILL");
}

/** The log line after which the daemon posts new requests with nothing left to catch up on. */
export const READY_LOG = "Catch-up finished";
const START_TIMEOUT_MS = 60_000;

export interface PostSeen {
  postId: string;
  /** performance.now() of the first post for the request. */
  at: number;
  /** Posts created for the request (more than one is a duplicate). */
  count: number;
}

export interface StartedDaemon {
  process: DaemonProcess;
  pid: number;
  /** ms from spawning the process to its READY_LOG line. */
  startupMs: number;
  /** The `requests` field of the READY_LOG line: how many requests catch-up went through. */
  caughtUp: number;
}

/** A field of a post's attachment (core/render.ts), e.g. "Status" → "✅ APPROVED". */
function fieldOf(post: StandinPost, title: string): string | undefined {
  type Props = { attachments?: Array<{ fields?: Array<{ title: string; value: string }> }> };
  return (post.props as Props).attachments?.[0]?.fields?.find((field) => field.title === title)?.value;
}

/** The request id a post shows, backticks stripped. */
export function requestIdOf(post: StandinPost): string | undefined {
  return fieldOf(post, "Request ID")?.replace(/`/g, "");
}

export function statusOf(post: StandinPost): string | undefined {
  return fieldOf(post, "Status");
}

/**
 * Resolves true once `done()` holds (checked every `pollMs`), false after `timeoutMs`: callers
 * report what is missing instead of failing. Timings come from the event logs, not from here.
 */
export async function until(done: () => boolean, timeoutMs: number, pollMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

export class BenchSite {
  /** First post per request id. */
  readonly posts = new Map<string, PostSeen>();
  /** Every post created in the channel, duplicates included. */
  postsCreated = 0;
  /** performance.now() when plugin data first recorded the post ids, per request id. */
  readonly recorded = new Map<string, number>();
  /** performance.now() when Teleport first stored a decision, per request id. */
  readonly decided = new Map<string, number>();
  /** performance.now() when a post first showed a decision, per post id. */
  readonly postDecided = new Map<string, number>();
  private configPath = "";

  private constructor(
    readonly world: World,
    private readonly dir: TempDir,
  ) {
    world.mattermost.events.on("post_created", ({ post }: { post: StandinPost }) => {
      const at = performance.now();
      this.postsCreated++;
      const id = requestIdOf(post);
      if (id === undefined) return;
      const seen = this.posts.get(id);
      if (seen) seen.count++;
      else this.posts.set(id, { postId: post.id, at, count: 1 });
    });
    world.mattermost.events.on("post_updated", ({ post }: { post: StandinPost }) => {
      const at = performance.now();
      const status = statusOf(post) ?? "";
      if (!this.postDecided.has(post.id) && /APPROVED|DENIED/.test(status)) this.postDecided.set(post.id, at);
    });
    world.teleport.on("pluginData", ({ id, data }) => {
      if (data?.["messages"] && !this.recorded.has(id)) this.recorded.set(id, performance.now());
    });
    world.teleport.on("change", (change) => {
      if (change.type !== "put" || this.decided.has(change.id)) return;
      const state = change.request.spec?.state;
      // RequestState enum: 2 = APPROVED, 3 = DENIED.
      if (state === 2 || state === 3) this.decided.set(change.id, performance.now());
    });
  }

  static async create(options: { rateLimit?: RateLimitOptions } = {}): Promise<BenchSite> {
    const world = await createWorld({
      ...(options.rateLimit ? { mattermost: { rateLimit: options.rateLimit } } : {}),
    });
    let dir: TempDir | undefined;
    try {
      dir = await makeTempDir("teleport-mattermost-bench-");
      const site = new BenchSite(world, dir);
      // Info level, JSON lines on a pipe: what an operator's service manager would collect.
      const { configPath } = await writeDaemonConfig(dir, world, {
        replace: { severity: 'severity = "info"' },
      });
      site.configPath = configPath;
      return site;
    } catch (error) {
      await world.stop();
      await dir?.remove();
      throw error;
    }
  }

  /** Spawns the daemon and waits until it has caught up. */
  async startDaemon(): Promise<StartedDaemon> {
    const spawnedAt = performance.now();
    const daemon = new DaemonProcess(["start", "-c", this.configPath], { nodeArgs: daemonNodeArgs });
    runningDaemons.add(daemon);
    void daemon.exited.then(() => runningDaemons.delete(daemon));
    try {
      const ready = await daemon.waitForLog(READY_LOG, START_TIMEOUT_MS);
      const startupMs = performance.now() - spawnedAt;
      return { process: daemon, pid: daemon.pid!, startupMs, caughtUp: Number(ready["requests"] ?? 0) };
    } catch (error) {
      await daemon.stop(2_000);
      throw error;
    }
  }

  /** Creates pending requests like `tsh request create`; returns their ids. */
  createRequests(count: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(this.createRequest());
    return ids;
  }

  createRequest(): string {
    const request = this.world.teleport.createRequest({
      user: "alice",
      roles: ["dba"],
      reason: "benchmark",
    });
    return request.metadata!.name;
  }

  /** True once every id has a post (and, with `recorded`, its post id is in plugin data). */
  allPosted(ids: readonly string[], recorded = false): boolean {
    return ids.every((id) => this.posts.has(id) && (!recorded || this.recorded.has(id)));
  }

  async stop(): Promise<void> {
    await this.world.stop();
    await this.dir.remove();
  }
}

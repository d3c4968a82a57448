/**
 * One benchmark site: the Teleport and Mattermost stand-ins running in this process, set up as
 * an operator would (src/demo/world.ts), config and identity files for both contenders (this
 * project's daemon and the original Go plugin) in a temporary folder, with the same callback
 * certificate, and logs of what happened when (posts created and updated, requests decided,
 * plugin data recorded), timed with this process's monotonic clock. A daemon runs as a separate
 * process: ours from the built CLI, the original from its binary.
 */
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createWorld, type World } from "../../src/demo/world.js";
import { freePort } from "../../src/lib/free-port.js";
import type { RateLimitOptions, StandinPost } from "../../src/standins/mattermost/index.js";
import { DaemonProcess, writeServiceConfig } from "../../test/support/daemon-process.js";
import { serviceEnvironment, shippedUnitEnvironment } from "../../test/support/systemd-unit.js";
import { makeTempDir, type TempDir } from "../../test/support/temp-dir.js";
import { GO_READY_LOGS, GoProcess, writeGoConfig } from "./go-original.js";

/**
 * The environment every daemon (both contenders, and Node alone in node-alone.ts) runs with: what
 * systemd gives the service of deploy/teleport-mattermost.service: the default PATH, the user's
 * HOME and the locale, plus the unit's own `Environment=` (its malloc and V8 thread settings),
 * not the environment of whoever started it. Not this shell's: a variable of the machine's would
 * be measured as the daemon's (NODE_EXTRA_CA_CERTS naming the system's bundle of 144 CAs made
 * every Node start here ~90 ms longer, before any code of ours ran).
 */
export const UNIT_ENV: Readonly<Record<string, string>> = shippedUnitEnvironment();
export const SERVICE_ENV: NodeJS.ProcessEnv = serviceEnvironment(UNIT_ENV);

/** Node options for every daemon process of ours (`--daemon-node-args`), e.g. `--cpu-prof`. */
export const daemonNodeArgs: string[] = [];

export type Contender = "go" | "ours";
export const CONTENDER_NAMES: Record<Contender, string> = { go: "Go 0.1.0", ours: "ours" };

/** Daemon processes running now, so an interrupted benchmark can kill them. */
const running = new Set<{ kill(signal: NodeJS.Signals): void }>();

/** Kills every daemon process still running (on SIGINT/SIGTERM of the benchmark). */
export function killAllDaemons(): void {
  for (const daemon of running) daemon.kill("SIGKILL");
}

/** Our log line after which the daemon posts new requests with nothing left to catch up on. */
export const READY_LOG = "Catch-up finished";
const START_TIMEOUT_MS = 60_000;
/**
 * The Mattermost the original was measured against (anchor README: 5.36.1 with Teleport 6.2.1);
 * both contenders speak both.
 */
const MATTERMOST_VERSION = "5.36.1";
const TELEPORT_VERSION = "6.2.1";

export interface PostSeen {
  postId: string;
  /** performance.now() of the first post for the request. */
  at: number;
  /** Posts created for the request (more than one is a duplicate). */
  count: number;
}

export interface StartedDaemon {
  contender: Contender;
  pid: number;
  /** ms from spawning the process to ready (ours: READY_LOG; the original: GO_READY_LOGS or its watch and listener up). */
  startupMs: number;
  /** Ours: the `requests` field of the READY_LOG line (how many requests catch-up went through). */
  caughtUp: number;
  /** Ours: its V8 heap and external memory now, from its /metrics (the original has no such figures). */
  heap?: () => Promise<HeapFigures>;
  /** Stops the process; fails when it does not exit cleanly. */
  stop(): Promise<void>;
}

/** What Node says of its memory (process.memoryUsage(), v8.getHeapStatistics()), in MB. */
export interface HeapFigures {
  /** Live and not yet collected objects in V8's heap. */
  usedMb: number;
  /** The heap's size, used or not. */
  totalMb: number;
  /** Memory outside the heap that JavaScript objects hold: Buffers, external strings. */
  externalMb: number;
}

/** prom-client's default metrics of these (collectDefaultMetrics), after our prefix. */
const HEAP_METRICS = {
  usedMb: "nodejs_heap_size_used_bytes",
  totalMb: "nodejs_heap_size_total_bytes",
  externalMb: "nodejs_external_memory_bytes",
} as const;

/** The heap figures in a /metrics page (Prometheus text format). */
export function heapFiguresOf(metrics: string): HeapFigures {
  const mb = (name: string) => {
    const match = new RegExp(`^\\w*${name} (\\S+)$`, "m").exec(metrics);
    if (!match) throw new Error(`no ${name} in /metrics`);
    return Number(match[1]) / 2 ** 20;
  };
  return {
    usedMb: mb(HEAP_METRICS.usedMb),
    totalMb: mb(HEAP_METRICS.totalMb),
    externalMb: mb(HEAP_METRICS.externalMb),
  };
}

/** A field of our post's attachment (core/render.ts), e.g. "Status" → "✅ APPROVED". */
function fieldOf(post: StandinPost, title: string): string | undefined {
  type Props = {
    attachments?: Array<{ text?: string; fields?: Array<{ title: string; value: string }> | null }>;
  };
  return (post.props as Props).attachments?.[0]?.fields?.find((field) => field.title === title)?.value;
}

/** The original's attachment text: a code block of `Title:  value` lines. */
function textLineOf(post: StandinPost, title: string): string | undefined {
  type Props = { attachments?: Array<{ text?: string }> };
  const text = (post.props as Props).attachments?.[0]?.text ?? "";
  return new RegExp(`^${title}:\\s+(.+)$`, "m").exec(text)?.[1]?.trim();
}

/** The request id a post shows, backticks stripped (either contender's layout). */
export function requestIdOf(post: StandinPost): string | undefined {
  return (fieldOf(post, "Request ID") ?? textLineOf(post, "Request ID"))?.replace(/`/g, "");
}

export function statusOf(post: StandinPost): string | undefined {
  return fieldOf(post, "Status") ?? textLineOf(post, "Status");
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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export interface SiteOptions {
  rateLimit?: RateLimitOptions;
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
  private configs = { ours: "", goInfo: "", goDebug: "" };
  private goPort = 0;

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
      // Ours records `messages`; the original `post_id` (and `channel_id`).
      if ((data?.["messages"] || data?.["post_id"]) && !this.recorded.has(id))
        this.recorded.set(id, performance.now());
    });
    world.teleport.on("change", (change) => {
      if (change.type !== "put" || this.decided.has(change.id)) return;
      const state = change.request.spec?.state;
      // RequestState enum: 2 = APPROVED, 3 = DENIED.
      if (state === 2 || state === 3) this.decided.set(change.id, performance.now());
    });
  }

  static async create(options: SiteOptions = {}): Promise<BenchSite> {
    const world = await createWorld({
      teleportVersion: TELEPORT_VERSION,
      mattermost: {
        version: MATTERMOST_VERSION,
        ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
      },
    });
    let dir: TempDir | undefined;
    try {
      dir = await makeTempDir("teleport-mattermost-bench-");
      const site = new BenchSite(world, dir);
      // Both get the operator's certificate for the callback: neither generates one at start.
      const ours = await writeServiceConfig(dir, world);
      const { certFile, keyFile } = ours;
      site.configs.ours = ours.configPath;
      site.goPort = await freePort();
      const go = { port: site.goPort, certFile, keyFile };
      site.configs.goInfo = await writeGoConfig(dir, world, { ...go, severity: "info" });
      site.configs.goDebug = await writeGoConfig(dir, world, { ...go, severity: "debug" });
      return site;
    } catch (error) {
      await world.stop();
      await dir?.remove();
      throw error;
    }
  }

  /**
   * Spawns a daemon and waits until it is ready. `readyByLog` (the original only) waits for its
   * debug log lines, which costs it a little per request; otherwise it counts as ready once its
   * watch stream is open and its callback port accepts connections.
   */
  async startDaemon(contender: Contender, options: { readyByLog?: boolean } = {}): Promise<StartedDaemon> {
    return contender === "ours" ? this.startOurs() : this.startGo(options.readyByLog ?? false);
  }

  private async startOurs(): Promise<StartedDaemon> {
    const spawnedAt = performance.now();
    const daemon = new DaemonProcess(["start", "-c", this.configs.ours], {
      nodeArgs: daemonNodeArgs,
      env: SERVICE_ENV,
    });
    running.add(daemon);
    void daemon.exited.then(() => running.delete(daemon));
    try {
      const ready = await daemon.waitForLog(READY_LOG, START_TIMEOUT_MS);
      const startupMs = performance.now() - spawnedAt;
      return {
        contender: "ours",
        pid: daemon.pid!,
        startupMs,
        caughtUp: Number(ready["requests"] ?? 0),
        heap: async () => {
          const response = await fetch(`${await daemon.healthUrl()}/metrics`);
          if (!response.ok) throw new Error(`our /metrics answered ${response.status}`);
          return heapFiguresOf(await response.text());
        },
        stop: async () => {
          const code = await daemon.stop();
          if (code !== 0)
            throw new Error(`our daemon exited with code ${code}\n${daemon.stderrText.slice(-2000)}`);
        },
      };
    } catch (error) {
      await daemon.stop(2_000);
      throw error;
    }
  }

  private async startGo(readyByLog: boolean): Promise<StartedDaemon> {
    const watchesBefore = this.world.teleport.activeWatchCount;
    const spawnedAt = performance.now();
    const daemon = new GoProcess(readyByLog ? this.configs.goDebug : this.configs.goInfo, SERVICE_ENV);
    running.add(daemon);
    void daemon.exited.then(() => running.delete(daemon));
    try {
      if (readyByLog) await daemon.waitForLogs(GO_READY_LOGS, START_TIMEOUT_MS);
      else {
        const up = async () =>
          this.world.teleport.activeWatchCount > watchesBefore && (await accepts(this.goPort));
        const deadline = spawnedAt + START_TIMEOUT_MS;
        while (!(await up())) {
          if (performance.now() > deadline)
            throw new Error(`the Go plugin did not start\n${daemon.stderrText}`);
          await sleep(5);
        }
      }
      const startupMs = performance.now() - spawnedAt;
      return {
        contender: "go",
        pid: daemon.pid!,
        startupMs,
        caughtUp: 0,
        stop: async () => {
          const code = await daemon.stop();
          if (code !== 0)
            throw new Error(`the Go plugin exited with code ${code}\n${daemon.stderrText.slice(-2000)}`);
        },
      };
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

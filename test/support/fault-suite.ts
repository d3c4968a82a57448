/**
 * The fault scenarios of issue "Nothing lost, nothing doubled", shared by the test suite (small
 * sizes) and `npm run faults` (full sizes). Each starts real stand-ins and the built daemon as
 * child processes, breaks something, and waits until every request's posts converge; it then
 * reports what it saw. Nothing here asserts timing: the figures are for the operator.
 */
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import { verifyActionContext } from "../../src/core/sign.js";
import type { World, WorldOptions } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { RequestState } from "../../src/teleport/gen/teleport/types_pb.js";
import type { DaemonConfigOptions, DaemonProcess } from "./daemon-process.js";
import { decide } from "./decide.js";
import { accessLostScenario, secretRotationScenario } from "./fault-access.js";
import { crashRestartScenario, upgradeScenario } from "./fault-suite-restart.js";
import { Stage, type StartedDaemon, type StartOptions } from "./stage.js";
import type { TempDir } from "./temp-dir.js";

/** Delay on every Teleport call while a burst must still be running when a daemon is killed. */
const SLOW_TELEPORT_MS = 20;

export interface ScenarioResult {
  scenario: string;
  requests: number;
  posted: number;
  duplicates: number;
  lost: number;
  /** Posts whose status differs from the request's real state at the end. */
  stale: number;
  convergeMs: number;
  notes?: string;
  /** Scenarios 2–3: posts made, and claims held, when the daemon was killed. */
  postedAtKill?: number;
  claimsAtKill?: number;
}

const STATUS_OF_STATE: Record<number, string> = {
  [RequestState.PENDING]: "PENDING",
  [RequestState.APPROVED]: "APPROVED",
  [RequestState.DENIED]: "DENIED",
};

/** The status a post of ours shows (its "Status" field), undefined for any other post. */
export function postStatus(post: StandinPost | undefined): string | undefined {
  const props = post?.props as
    | { attachments?: Array<{ fields?: Array<{ title: string; value: string }> }> }
    | undefined;
  return props?.attachments?.[0]?.fields
    ?.find((field) => field.title === "Status")
    ?.value.split(" ")
    .at(-1);
}

/** True when the post's first button carries a context signed with `secret`. */
function signedWith(post: StandinPost, secret: string): boolean {
  const actions = (
    post.props as { attachments?: Array<{ actions?: Array<{ integration?: { context?: unknown } }> }> }
  ).attachments?.[0]?.actions;
  const context = actions?.[0]?.integration?.context;
  return context !== undefined && verifyActionContext(secret, context).ok;
}

/** Tracks every request a scenario made and what its post should end up showing. */
export class Ledger {
  /** Request id → expected final status ("none" = must not be posted). */
  readonly expected = new Map<string, string>();
  /** When set, a pending post whose buttons this secret does not sign is stale too. */
  secret: string | undefined;

  constructor(private readonly world: World) {}

  create(count: number, prefix = "r"): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const request = this.world.teleport.createRequest({
        user: "alice",
        roles: ["dba"],
        reason: `${prefix} ${i}`,
      });
      const id = request.metadata!.name;
      this.expected.set(id, "PENDING");
      ids.push(id);
    }
    return ids;
  }

  /** A request decided before it was ever posted is not posted afterwards: nobody needs to act. */
  approve(id: string, posted: boolean): void {
    this.world.teleport.approve(id, { reason: "tctl" });
    this.expected.set(id, posted ? "APPROVED" : "none");
  }

  delete(id: string, posted: boolean): void {
    this.world.teleport.deleteRequest(id);
    this.expected.set(id, posted ? "EXPIRED" : "none");
  }

  /** Request id → the bot's root posts for it. */
  posts(): Map<string, StandinPost[]> {
    const byRequest = new Map<string, StandinPost[]>();
    for (const post of this.world.mattermost.channelPosts(this.world.channel.id)) {
      const id = post.props[REQUEST_ID_PROP];
      if (typeof id !== "string" || post.root_id || post.user_id !== this.world.bot.user.id) continue;
      byRequest.set(id, [...(byRequest.get(id) ?? []), post]);
    }
    return byRequest;
  }

  tally(): Omit<ScenarioResult, "scenario" | "convergeMs"> {
    const posts = this.posts();
    let posted = 0;
    let duplicates = 0;
    let lost = 0;
    let stale = 0;
    for (const [id, want] of this.expected) {
      const mine = posts.get(id) ?? [];
      if (want === "none") {
        duplicates += mine.length;
        continue;
      }
      if (mine.length === 0) lost++;
      else posted++;
      duplicates += Math.max(0, mine.length - 1);
      const live = this.world.teleport.getRequest(id);
      const truth = live ? (STATUS_OF_STATE[live.spec?.state ?? 0] ?? "?") : want;
      const unsigned = (post: StandinPost) =>
        this.secret !== undefined && truth === "PENDING" && !signedWith(post, this.secret);
      if (mine.some((post) => postStatus(post) !== truth || unsigned(post))) stale++;
    }
    return { requests: this.expected.size, posted, duplicates, lost, stale };
  }

  converged(): boolean {
    const { duplicates, lost, stale } = this.tally();
    return duplicates === 0 && lost === 0 && stale === 0;
  }
}

export async function waitUntil(check: () => boolean, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return check();
}

/** The e2e stage (test/support/stage.ts) of one scenario, with its ledger; all stopped by `close()`. */
export class FaultStage {
  private constructor(
    private readonly stage: Stage,
    readonly ledger: Ledger,
  ) {}

  static async open(options: WorldOptions = {}): Promise<FaultStage> {
    const stage = await Stage.open(options);
    return new FaultStage(stage, new Ledger(stage.world));
  }

  get world(): World {
    return this.stage.world;
  }

  /** The config file each daemon was started with, for a restart on the same config. */
  readonly configPaths = new Map<DaemonProcess, string>();

  /** Starts one more daemon on its own config and callback port; resolves once it watches. */
  async startDaemon(): Promise<DaemonProcess> {
    return (await this.startDaemonWith()).daemon;
  }

  /** Like startDaemon, with config options, and says where its config is (to rewrite it). */
  async startDaemonWith(options: StartOptions = {}): Promise<StartedDaemon> {
    const started = await this.stage.startDaemon({
      dir: await this.stage.tempDir(),
      timeoutMs: 30_000,
      ...options,
      replace: { severity: 'severity = "info"', ...options.replace },
    });
    this.configPaths.set(started.daemon, started.configPath);
    return started;
  }

  /** Starts `daemon`'s config again (same host and config: the same instance); resolves once it watches. */
  async restartDaemon(daemon: DaemonProcess): Promise<DaemonProcess> {
    const configPath = this.configPaths.get(daemon);
    if (configPath === undefined) throw new Error("not a daemon of this stage");
    const again = this.stage.spawn(["start", "-c", configPath]);
    this.configPaths.set(again, configPath);
    await again.waitForLog("Watcher connected", 30_000);
    return again;
  }

  /** Another temp dir, removed with the stage. */
  tempDir(): Promise<TempDir> {
    return this.stage.tempDir();
  }

  /** Writes a daemon config into `dir` (to rewrite one that startDaemonWith wrote there). */
  writeConfig(options: DaemonConfigOptions, dir: TempDir): Promise<unknown> {
    return this.stage.writeConfig(
      { ...options, replace: { severity: 'severity = "info"', ...options.replace } },
      dir,
    );
  }

  async converge(
    scenario: string,
    startedAt: number,
    timeoutMs: number,
    notes?: string,
  ): Promise<ScenarioResult> {
    await waitUntil(() => this.ledger.converged(), timeoutMs, 100);
    return {
      scenario,
      ...this.ledger.tally(),
      convergeMs: Date.now() - startedAt,
      ...(notes ? { notes } : {}),
    };
  }

  close(): Promise<void> {
    return this.stage.close();
  }
}

export interface Sizes {
  /** Scenario 1: requests created while the daemon is down (plus as many posted before). */
  down: number;
  /**
   * Scenarios 2–4: burst size; more than the requests a daemon handles at once (app/daemon
   * SYNC_CONCURRENCY), so that a burst is still being posted when a daemon is killed.
   */
  burst: number;
  /** Scenario 5: burst size, Mattermost downtime and rate limit. */
  stormBurst: number;
  mattermostDownMs: number;
  ratePerSec: number;
  /** Scenario 9: requests with plugin data of the original plugin or damaged by hand. */
  upgrade: number;
  /** Upper bound for converging, per scenario. */
  timeoutMs: number;
}

export const TEST_SIZES: Sizes = {
  down: 20,
  burst: 200,
  stormBurst: 40,
  mattermostDownMs: 3_000,
  ratePerSec: 10,
  upgrade: 30,
  timeoutMs: 90_000,
};

export const FULL_SIZES: Sizes = {
  down: 50,
  burst: 500,
  stormBurst: 1_000,
  mattermostDownMs: 60_000,
  ratePerSec: 10,
  upgrade: 300,
  timeoutMs: 600_000,
};

/** 1. Daemon down while requests are created, approved and deleted → start → all converge. */
export async function daemonDownScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open();
  try {
    const first = await stage.startDaemon();
    const before = stage.ledger.create(sizes.down, "before");
    await waitUntil(() => stage.ledger.converged(), sizes.timeoutMs);
    await first.stop();
    const tenth = Math.max(1, Math.floor(sizes.down / 5));
    for (const id of before.slice(0, tenth)) stage.ledger.approve(id, true);
    for (const id of before.slice(tenth, 2 * tenth)) stage.ledger.delete(id, true);
    const during = stage.ledger.create(sizes.down, "during");
    stage.ledger.approve(during[0]!, false);
    stage.ledger.delete(during[1]!, false);
    const startedAt = Date.now();
    await stage.startDaemon();
    return await stage.converge("1 daemon down meanwhile", startedAt, sizes.timeoutMs);
  } finally {
    await stage.close();
  }
}

/**
 * Starts a daemon, creates a burst against a slowed auth server and SIGKILLs the daemon once a
 * third is posted; reports what was posted and how many claims were held at that moment.
 */
export async function burstAndKill(
  stage: FaultStage,
  sizes: Sizes,
  prefix: string,
): Promise<{
  daemon: DaemonProcess;
  startedAt: number;
  postedAtKill: number;
  claimsAtKill: number;
  /** Requests whose posting claim was held when the daemon was killed. */
  claimed: string[];
}> {
  const daemon = await stage.startDaemon();
  // A slower auth server keeps the burst in flight long enough to be cut in the middle.
  stage.world.teleport.delayMs = SLOW_TELEPORT_MS;
  const startedAt = Date.now();
  const ids = stage.ledger.create(sizes.burst, prefix);
  await waitUntil(() => stage.ledger.tally().posted >= sizes.burst / 3, sizes.timeoutMs, 5);
  daemon.kill("SIGKILL");
  await daemon.exited;
  // Calls received before the kill are still applied after the stand-in's delay (a real server
  // finishes them too); read the claims once they have landed.
  await new Promise((resolve) => setTimeout(resolve, SLOW_TELEPORT_MS * 5));
  const postedAtKill = stage.ledger.tally().posted;
  const claimed = ids.filter((id) => stage.world.teleport.pluginData(id, "mattermost")?.["claim"]);
  return { daemon, startedAt, postedAtKill, claimsAtKill: claimed.length, claimed };
}

/** 2. SIGKILL in the middle of a burst → restart (another config) → every request posted once. */
export async function killMidBurstScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open();
  try {
    const { startedAt, postedAtKill, claimsAtKill } = await burstAndKill(stage, sizes, "burst");
    await stage.startDaemon();
    const result = await stage.converge("2 SIGKILL mid-burst", startedAt, sizes.timeoutMs);
    return {
      ...result,
      postedAtKill,
      claimsAtKill,
      notes: `killed after ${postedAtKill} posts with ${claimsAtKill} claims held`,
    };
  } finally {
    await stage.close();
  }
}

/** 3. Two daemons on the same servers; one is killed mid-burst. */
export async function twoInstancesScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open();
  try {
    const [first] = [await stage.startDaemon(), await stage.startDaemon()];
    stage.world.teleport.delayMs = SLOW_TELEPORT_MS;
    const startedAt = Date.now();
    stage.ledger.create(sizes.burst, "pair");
    await waitUntil(() => stage.ledger.tally().posted >= sizes.burst / 2, sizes.timeoutMs, 5);
    first!.kill("SIGKILL");
    const postedAtKill = stage.ledger.tally().posted;
    const result = await stage.converge("3 two instances, one killed", startedAt, sizes.timeoutMs);
    return { ...result, postedAtKill, notes: `one killed after ${postedAtKill} posts` };
  } finally {
    await stage.close();
  }
}

/** 4. Teleport restarted in the middle of a burst → all posted, watch resumed. */
export async function teleportRestartScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open();
  try {
    const daemon = await stage.startDaemon();
    const startedAt = Date.now();
    const half = Math.floor(sizes.burst / 2);
    stage.ledger.create(half, "early");
    await waitUntil(() => stage.ledger.tally().posted >= half / 3, sizes.timeoutMs, 5);
    await stage.world.teleport.restart({ downtimeMs: 1_000 });
    stage.ledger.create(sizes.burst - half, "late");
    const result = await stage.converge("4 Teleport restarted", startedAt, sizes.timeoutMs);
    const reconnects = daemon.lines.filter((line) => line.msg === "Watcher connected").length;
    return { ...result, notes: `watch connected ${reconnects} times` };
  } finally {
    await stage.close();
  }
}

/** 5. Mattermost down, then a 429 storm under a rate limit, during a burst → all posted once. */
export async function mattermostStormScenario(sizes: Sizes): Promise<ScenarioResult> {
  const stage = await FaultStage.open({
    mattermost: { rateLimit: { perSec: sizes.ratePerSec, maxBurst: sizes.ratePerSec, varyBy: "token" } },
  });
  try {
    await stage.startDaemon();
    const startedAt = Date.now();
    await stage.world.mattermost.setDown(true);
    stage.ledger.create(sizes.stormBurst, "storm");
    await new Promise((resolve) => setTimeout(resolve, sizes.mattermostDownMs));
    await stage.world.mattermost.setDown(false);
    const result = await stage.converge("5 Mattermost down + 429 storm", startedAt, sizes.timeoutMs);
    const limited = stage.world.mattermost.requests.filter((entry) => entry.status === 429).length;
    return {
      ...result,
      notes: `down ${sizes.mattermostDownMs / 1000} s, limit ${sizes.ratePerSec}/s, ${limited} answers were 429`,
    };
  } finally {
    await stage.close();
  }
}

/** 6. A click while Mattermost fails the bot's updates → decided once; post updated on recovery. */
export async function clickDuringOutageScenario(
  sizes: Sizes,
): Promise<ScenarioResult & { decisions: number }> {
  const stage = await FaultStage.open();
  try {
    await stage.startDaemon();
    const [id] = stage.ledger.create(1, "click");
    await waitUntil(() => stage.ledger.tally().posted === 1, sizes.timeoutMs);
    const post = stage.ledger.posts().get(id!)![0]!;
    const startedAt = Date.now();
    // Every post update the bot sends fails for a while; the click itself still reaches us.
    stage.world.mattermost.faults = {
      status: 503,
      forMs: 3_000,
      match: (req) => req.path.endsWith("/patch"),
    };
    const reply = await decide(stage.world, stage.world.approver, post.id, "approve", "during the outage");
    stage.ledger.expected.set(id!, "APPROVED");
    const rendered = await waitUntil(
      () => stage.world.teleport.pluginData(id!, "mattermost")?.["rendered"] === "APPROVED",
      sizes.timeoutMs,
    );
    const result = await stage.converge("6 click during outage", startedAt, sizes.timeoutMs);
    const decisions = stage.world.teleport.audit.filter(
      (entry) => entry.id === id && entry.state === "APPROVED",
    ).length;
    return {
      ...result,
      decisions,
      notes: `decision answered ${reply.status}; ${decisions} decision(s) in Teleport; record ${rendered ? "updated" : "NOT updated"}`,
    };
  } finally {
    await stage.close();
  }
}

export const SCENARIOS = [
  daemonDownScenario,
  killMidBurstScenario,
  twoInstancesScenario,
  teleportRestartScenario,
  mattermostStormScenario,
  clickDuringOutageScenario,
  accessLostScenario,
  secretRotationScenario,
  upgradeScenario,
  crashRestartScenario,
] as const;

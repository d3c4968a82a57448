/**
 * The e2e fixture every process test stands on: a world (the Teleport stand-in over gRPC/mTLS and
 * the Mattermost stand-in over HTTP, set up as the operator's guide says — bot, team, channel,
 * requester, approver, and the plugin's certificates), a temp dir for config and identity files,
 * and daemons run as child processes from the built CLI. `close()` stops and removes all of it;
 * `openStage(t)` registers that with a test, `suiteStage()` with a describe block.
 */
import { after, before, type TestContext } from "node:test";
import { createWorld, type World, type WorldOptions } from "../../src/demo/world.js";
import { type DaemonConfigOptions, DaemonProcess, writeDaemonConfig } from "./daemon-process.js";
import { makeTempDir, type TempDir } from "./temp-dir.js";

export interface StartOptions extends DaemonConfigOptions {
  /** CLI flags between `start` and `-c <config>` (e.g. `-d`). */
  args?: string[];
  /** Where the config and identity files go (default the stage's dir). */
  dir?: TempDir;
  /** The log line to wait for before resolving (default "Watcher connected"); null: do not wait. */
  waitFor?: string | RegExp | null;
  timeoutMs?: number;
}

export interface StartedDaemon {
  daemon: DaemonProcess;
  configPath: string;
  /** https://127.0.0.1:<port> of the callback server. */
  callbackUrl: string;
  port: number;
}

export class Stage {
  private readonly daemons: DaemonProcess[] = [];
  private readonly dirs: TempDir[];

  private constructor(
    readonly world: World,
    readonly dir: TempDir,
  ) {
    this.dirs = [dir];
  }

  /** A world and a temp dir; the caller closes the stage (see openStage and suiteStage). */
  static async open(options: WorldOptions = {}): Promise<Stage> {
    const world = await createWorld(options);
    try {
      return new Stage(world, await makeTempDir());
    } catch (error) {
      await world.stop();
      throw error;
    }
  }

  /** Another temp dir, removed with the stage (a second daemon's config, say). */
  async tempDir(): Promise<TempDir> {
    const dir = await makeTempDir();
    this.dirs.push(dir);
    return dir;
  }

  /** Writes identity files and a daemon config for the world (see writeDaemonConfig). */
  writeConfig(
    options: DaemonConfigOptions = {},
    dir: TempDir = this.dir,
  ): ReturnType<typeof writeDaemonConfig> {
    return writeDaemonConfig(dir, this.world, options);
  }

  /** Runs the CLI with `args` as a child process, stopped when the stage closes. */
  spawn(args: string[]): DaemonProcess {
    const daemon = new DaemonProcess(args);
    this.daemons.push(daemon);
    return daemon;
  }

  /** Writes a config and runs `start -c` on it; resolves once it logged `waitFor`. */
  async startDaemon(options: StartOptions = {}): Promise<StartedDaemon> {
    const { args = [], dir, waitFor = "Watcher connected", timeoutMs, ...config } = options;
    const written = await this.writeConfig(config, dir);
    const daemon = this.spawn(["start", ...args, "-c", written.configPath]);
    if (waitFor !== null) await daemon.waitForLog(waitFor, timeoutMs);
    return { daemon, ...written };
  }

  /** Stops every daemon (SIGTERM, then SIGKILL), then the stand-ins, then removes the files. */
  async close(): Promise<void> {
    await Promise.allSettled(this.daemons.map((daemon) => daemon.stop()));
    await this.world.stop();
    await Promise.allSettled(this.dirs.map((dir) => dir.remove()));
  }
}

/** A stage for one test, closed after it. */
export async function openStage(t: TestContext, options: WorldOptions = {}): Promise<Stage> {
  const stage = await Stage.open(options);
  t.after(() => stage.close());
  return stage;
}

/** Options for a suite's world, or a function that makes them once the suite starts (e.g. a CA). */
export type SuiteWorldOptions = WorldOptions | (() => Promise<WorldOptions>);

/**
 * A stage shared by the tests of a describe block: opened before the first (then `prepare` runs,
 * to start a daemon or add people) and closed after the last. Call it in the describe body.
 */
export function suiteStage(options: SuiteWorldOptions, prepare: (stage: Stage) => Promise<void>): void {
  let stage: Stage | undefined;
  before(async () => {
    stage = await Stage.open(typeof options === "function" ? await options() : options);
    await prepare(stage);
  });
  after(() => stage?.close());
}

/** The suite's stage (see suiteStage) as a handle whose world and dir are read inside tests. */
export function suiteWorld(options: SuiteWorldOptions = {}): {
  readonly world: World;
  readonly dir: TempDir;
} {
  let stage: Stage | undefined;
  suiteStage(options, async (opened) => {
    stage = opened;
  });
  const opened = (): Stage => {
    if (!stage) throw new Error("the stage is opened in before()");
    return stage;
  };
  return {
    get world() {
      return opened().world;
    },
    get dir() {
      return opened().dir;
    },
  };
}

/**
 * Node alone on this machine: what a Node process costs before any code of ours runs, measured as
 * our daemon is (spawned with this Node and the daemons' environment, ready when its first line
 * arrives on a pipe, RSS after a second idle). Two processes: an empty one, and one that only
 * loads the modules of Node's that our daemon loads (the list the build writes into the code
 * cache, dist/teleport-mattermost-main.cache), in the same order. Ours cannot start faster or
 * idle smaller than the empty one; the second shows what Node's own modules add.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheContents } from "../../src/cli/code-cache-file.js";
import { rssMb } from "./proc.js";
import { STARTUP_ROUNDS } from "./startup.js";
import { median } from "./stats.js";

const BUNDLE = new URL("../../dist/teleport-mattermost-main.cjs", import.meta.url);
const CODE_CACHE = new URL("../../dist/teleport-mattermost-main.cache", import.meta.url);
/** Idle time before RSS is read, as for the daemons (startup.ts). */
const SETTLE_MS = 1_000;
/** An empty Node that has not printed its line by then is stuck: the benchmark says so and goes on failing. */
const READY_TIMEOUT_MS = 10_000;
/**
 * Prints its line, then idles until its standard input closes: when the benchmark ends, however it
 * ends, the pipe closes and the process exits (as calibrate.ts's echo server does).
 */
const IDLE = 'process.stdout.write("ready\\n"); process.stdin.on("end", () => process.exit(0)).resume();';

export interface NodeAlone {
  /** Spawn → first line of an empty process, ms, median. */
  readyMs: number;
  /** VmRSS of the empty process idle, MB, median. */
  idleRssMb: number;
  /** VmRSS idle once it loaded the modules of Node's that our daemon loads, MB, median. */
  withModulesRssMb: number;
  /** How many modules that was (0: no code cache for this build, so no list). */
  modules: number;
}

/** Node's modules our daemon loads, in its order (empty without a cache made from the built bundle). */
function daemonBuiltins(): string[] {
  try {
    const bundleHash = createHash("sha256").update(readFileSync(BUNDLE)).digest();
    return cacheContents(readFileSync(CODE_CACHE), bundleHash)?.builtins ?? [];
  } catch {
    return [];
  }
}

/** Spawns `node -e script` and resolves with its ms to the first line and its idle RSS. */
async function oneProcess(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ readyMs: number; rssMb: number }> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"], env });
  let timer: NodeJS.Timeout | undefined;
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", () => resolve(performance.now() - spawnedAt));
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`node -e exited with ${code} before its first line`)));
      timer = setTimeout(
        () => reject(new Error(`node -e printed nothing within ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
    });
    await sleep(SETTLE_MS);
    return { readyMs, rssMb: rssMb(child.pid!) };
  } finally {
    clearTimeout(timer);
    child.stdin.end();
    child.kill();
  }
}

export async function nodeAlone(env: NodeJS.ProcessEnv): Promise<NodeAlone> {
  const builtins = daemonBuiltins();
  const loading = `for (const name of ${JSON.stringify(builtins)}) if (require("node:module").isBuiltin(name)) require(name); ${IDLE}`;
  const empty: { readyMs: number; rssMb: number }[] = [];
  const withModules: number[] = [];
  for (let round = 0; round < STARTUP_ROUNDS; round++) {
    empty.push(await oneProcess(IDLE, env));
    withModules.push((await oneProcess(loading, env)).rssMb);
  }
  return {
    readyMs: median(empty.map((run) => run.readyMs)),
    idleRssMb: median(empty.map((run) => run.rssMb)),
    withModulesRssMb: median(withModules),
    modules: builtins.length,
  };
}

/**
 * Node alone on this machine: what a Node process costs before any code of ours runs, measured as
 * our daemon is (spawned with this Node, ready when its first line arrives on a pipe, RSS after a
 * second idle). Two processes: an empty one, and one that only loads the modules of Node's that
 * our daemon loads (the list the build writes into the code cache, dist/teleport-mattermost-main.cache),
 * in the same order. A target below these figures is out of reach for any Node program here,
 * however little it does.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { rssMb } from "./proc.js";
import { STARTUP_ROUNDS } from "./startup.js";
import { median } from "./stats.js";

const CODE_CACHE = "dist/teleport-mattermost-main.cache";
/** The cache's layout (src/cli/loader.ts): SHA-256 of the bundle, the list's length (2 bytes, big-endian), the list. */
const HASH_BYTES = 32;
/** Idle time before RSS is read, as for the daemons (startup.ts). */
const SETTLE_MS = 1_000;

export interface NodeAlone {
  /** Spawn → first line of an empty process, ms, median. */
  readyMs: number;
  /** VmRSS of the empty process idle, MB, median. */
  idleRssMb: number;
  /** VmRSS idle once it loaded the modules of Node's that our daemon loads, MB, median. */
  withModulesRssMb: number;
  /** How many modules that was. */
  modules: number;
}

/** Node's modules our daemon loads, in its order (empty when the build wrote no cache). */
function daemonBuiltins(): string[] {
  try {
    const file = readFileSync(CODE_CACHE);
    const length = file.readUInt16BE(HASH_BYTES);
    const list = file.toString("latin1", HASH_BYTES + 2, HASH_BYTES + 2 + length);
    return list ? list.split(",") : [];
  } catch {
    return [];
  }
}

/** Spawns `node -e script` and resolves with its ms to the first line and its idle RSS. */
async function oneProcess(script: string): Promise<{ readyMs: number; rssMb: number }> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", () => resolve(performance.now() - spawnedAt));
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`node -e exited with ${code} before its first line`)));
    });
    await sleep(SETTLE_MS);
    return { readyMs, rssMb: rssMb(child.pid!) };
  } finally {
    child.kill();
  }
}

export async function nodeAlone(): Promise<NodeAlone> {
  const builtins = daemonBuiltins();
  const idle = 'process.stdout.write("ready\\n"); setInterval(() => {}, 60_000);';
  const loading = `for (const name of ${JSON.stringify(builtins)}) if (require("node:module").isBuiltin(name)) require(name); ${idle}`;
  const empty: { readyMs: number; rssMb: number }[] = [];
  const withModules: number[] = [];
  for (let round = 0; round < STARTUP_ROUNDS; round++) {
    empty.push(await oneProcess(idle));
    withModules.push((await oneProcess(loading)).rssMb);
  }
  return {
    readyMs: median(empty.map((run) => run.readyMs)),
    idleRssMb: median(empty.map((run) => run.rssMb)),
    withModulesRssMb: median(withModules),
    modules: builtins.length,
  };
}

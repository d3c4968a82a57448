/**
 * `npm run bench`: the figures that matter, for this project's daemon and the original Go plugin
 * (../shared/anchor/, when it is there) side by side in the same run, against the same stand-ins
 * on loopback (Teleport 6.2.1 and Mattermost 5.36.1 profiles, which both speak), each daemon run
 * as an operator runs it (its own process, logs at info level on a pipe). Prints one table with
 * both columns, their ratio and the targets, and writes bench-results.json.
 *
 * `npm run bench -- --only post,click` runs some phases: startup, post, burst, click, limit, memory.
 * `npm run bench -- --no-go` leaves the original out.
 * `npm run bench -- --daemon-node-args "--cpu-prof --cpu-prof-dir=prof"` profiles our daemon.
 */
import { writeFile } from "node:fs/promises";
import * as os from "node:os";
import { loopbackRoundTripCpu } from "./bench/calibrate.js";
import { GO_BINARY, goOriginalAvailable } from "./bench/go-original.js";
import type { Bench } from "./bench/harness.js";
import { latency } from "./bench/latency.js";
import { limitedBursts } from "./bench/limit.js";
import { memory } from "./bench/memory.js";
import { nodeAlone } from "./bench/node-alone.js";
import { type Results, type Row, renderTable, rows } from "./bench/report.js";
import { type Contender, daemonNodeArgs, killAllDaemons, SERVICE_ENV, UNIT_ENV } from "./bench/site.js";
import { startup } from "./bench/startup.js";
import { median, round } from "./bench/stats.js";

const RESULTS_FILE = "bench-results.json";
const PHASES = ["startup", "post", "burst", "click", "limit", "memory"] as const;
type Phase = (typeof PHASES)[number];
/** How often the load average is sampled during the run. */
const LOAD_SAMPLE_MS = 5_000;

function optionValue(argv: string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index < 0 ? undefined : (argv[index + 1] ?? "");
}

function selectedPhases(argv: string[]): Phase[] {
  const only = optionValue(argv, "--only");
  if (only === undefined) return [...PHASES];
  const wanted = only.split(",");
  const unknown = wanted.filter((name) => !(PHASES as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(`unknown phase ${unknown.join(", ")}; phases: ${PHASES.join(", ")}`);
  return PHASES.filter((phase) => wanted.includes(phase));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const phases = selectedPhases(argv);
  daemonNodeArgs.push(...(optionValue(argv, "--daemon-node-args") ?? "").split(" ").filter(Boolean));
  const machine = {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const withGo = !argv.includes("--no-go") && goOriginalAvailable();
  const contenders: Contender[] = withGo ? ["go", "ours"] : ["ours"];
  const goNote = withGo
    ? `the original Go plugin: ${GO_BINARY}`
    : argv.includes("--no-go")
      ? "the original Go plugin left out (--no-go): its column is empty"
      : `the original Go plugin is not at ${GO_BINARY}: its column is empty`;
  log(
    `teleport-mattermost benchmark: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}; phases: ${phases.join(", ")}`,
  );
  log(goNote);
  // Other work on the machine skews every figure; the load average says how much there was.
  const loadBefore = os.loadavg()[0]!;
  const loadSamples: number[] = [];
  const sampler = setInterval(() => loadSamples.push(os.loadavg()[0]!), LOAD_SAMPLE_MS);
  const roundTrip = await loopbackRoundTripCpu();
  const started = performance.now();
  const bench: Bench = { contenders, log };
  const results: Results = { roundTrip };
  try {
    if (phases.includes("startup") || phases.includes("memory")) {
      log("Node alone…");
      results.nodeAlone = await nodeAlone(SERVICE_ENV);
      log(
        `  Node alone: ready ${results.nodeAlone.readyMs.toFixed(0)} ms, idle RSS ${results.nodeAlone.idleRssMb.toFixed(1)} MB, ${results.nodeAlone.withModulesRssMb.toFixed(1)} MB with ${results.nodeAlone.modules} of its modules`,
      );
      const shellNodeVariables = Object.keys(process.env).filter(
        (name) => name.startsWith("NODE_") && process.env[name] !== SERVICE_ENV[name],
      );
      if (shellNodeVariables.length > 0) {
        const inShell = await nodeAlone(process.env);
        log(
          `  Node alone with this shell's environment (${shellNodeVariables.join(", ")}, which the daemons do not get): ready ${inShell.readyMs.toFixed(0)} ms, idle RSS ${inShell.idleRssMb.toFixed(1)} MB, ${inShell.withModulesRssMb.toFixed(1)} MB with its modules`,
        );
      }
    }
    for (const phase of phases) {
      const latencyPhase = phase === "post" || phase === "burst" || phase === "click";
      // One run of the latency phases does all that were asked for.
      if (latencyPhase && results.latency) continue;
      log(
        latencyPhase
          ? `${phases.filter((name) => ["post", "burst", "click"].includes(name)).join(", ")}…`
          : `${phase}…`,
      );
      if (phase === "startup") results.startup = await startup(bench);
      if (latencyPhase) {
        results.latency = await latency(bench, {
          post: phases.includes("post"),
          burst: phases.includes("burst"),
          click: phases.includes("click"),
        });
      }
      if (phase === "limit") results.limit = await limitedBursts(bench);
      if (phase === "memory") results.memory = await memory(bench);
    }
  } finally {
    clearInterval(sampler);
  }
  const elapsedS = (performance.now() - started) / 1000;
  const loadAfter = os.loadavg()[0]!;
  loadSamples.push(loadAfter);
  const table: Row[] = rows(results, contenders);
  const load = {
    before: loadBefore,
    after: loadAfter,
    min: Math.min(...loadSamples),
    median: median(loadSamples),
    max: Math.max(...loadSamples),
  };
  process.stdout.write(
    [
      "",
      `${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${machine.platform}`,
      goNote,
      `load average (1 min) ${load.before.toFixed(2)} before; during the run min ${load.min.toFixed(2)}, median ${load.median.toFixed(2)}, max ${load.max.toFixed(2)}; ${load.after.toFixed(2)} after; took ${elapsedS.toFixed(0)} s`,
      `figures are medians over the rounds (interleaved between the two) unless a row says otherwise; ours ÷ Go > 1 means ours is slower or bigger`,
      `both daemons run with the environment a systemd service gets (${Object.keys(SERVICE_ENV)
        .filter((name) => !(name in UNIT_ENV))
        .join(", ")}) and our unit's Environment= (${Object.entries(UNIT_ENV)
        .map(([name, value]) => `${name}=${value}`)
        .join(" ")}, which the original ignores), not this shell's`,
      `Node alone: an empty node process spawned and idle (and one that loaded Node's modules ours loads), ready as ours is, RSS 1 s after it (an idle empty node does not shrink later); "out of reach": the target is below it`,
      `a loopback TCP round trip costs ${roundTrip.spacedUs.toFixed(0)} µs of CPU when 20 ms apart, ${roundTrip.backToBackUs.toFixed(0)} µs back to back (what waking up costs here)`,
      "",
      renderTable(table),
      "",
    ].join("\n"),
  );
  await writeFile(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: { ...machine, load, roundTripCpuUs: roundTrip },
        contenders,
        elapsedS: round(elapsedS),
        figures: table,
        runs: results,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\nWrote ${RESULTS_FILE}\n`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAllDaemons();
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  killAllDaemons();
  process.stderr.write(
    `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});

/**
 * `npm run bench`: the figures that matter, measured the way an operator runs the daemon (the
 * built CLI as its own process, JSON logs at info level on a pipe) against the stand-ins on
 * loopback, which run in this process. Prints a table and writes bench-results.json.
 *
 * `npm run bench -- --only post,click` runs some phases: post, burst, click, startup, memory.
 * `npm run bench -- --daemon-node-args "--cpu-prof --cpu-prof-dir=prof"` profiles the daemon.
 */
import { writeFile } from "node:fs/promises";
import * as os from "node:os";
import { loopbackRoundTripCpu } from "./bench/calibrate.js";
import {
  BURST_REQUESTS,
  type BurstResult,
  burst,
  CLICKS_PER_RUN,
  type ClickRun,
  clickRoundTrip,
  EVENT_TO_POST,
  type EventToPostRun,
  eventToPost,
  type MemoryResult,
  memory,
  PENDING_AT_START,
  type StartupResult,
  startup,
  TRACKED_REQUESTS,
} from "./bench/phases.js";
import { daemonNodeArgs, killAllDaemons } from "./bench/site.js";
import { median, round } from "./bench/stats.js";

const RESULTS_FILE = "bench-results.json";
const PHASES = ["post", "burst", "click", "startup", "memory"] as const;
type Phase = (typeof PHASES)[number];

interface Figure {
  figure: string;
  measured: string;
  target: string;
  /** Whether the target is met; undefined for figures without a target. */
  met: boolean | undefined;
  runs: number;
  values: Record<string, number>;
}

interface Results {
  post?: EventToPostRun[];
  burst?: BurstResult;
  click?: ClickRun[];
  startup?: StartupResult;
  memory?: MemoryResult;
}

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

const ms = (value: number) => `${value.toFixed(1)} ms`;
const mb = (value: number) => `${value.toFixed(1)} MB`;
const medianOf = <T>(runs: T[], pick: (run: T) => number) => median(runs.map(pick));

function figures(results: Results): Figure[] {
  const rows: Figure[] = [];
  const { post, burst, click, startup, memory } = results;
  if (post) {
    const [p50, p95, p99] = [
      medianOf(post, (r) => r.p50),
      medianOf(post, (r) => r.p95),
      medianOf(post, (r) => r.p99),
    ];
    const missing = post.reduce((sum, run) => sum + run.missing, 0);
    rows.push({
      figure: `Event → post, ${EVENT_TO_POST.requests} at ${EVENT_TO_POST.perSec}/s: p50 / p95 / p99`,
      measured: `${p50.toFixed(1)} / ${p95.toFixed(1)} / ${p99.toFixed(1)} ms${missing ? `, ${missing} never posted` : ""}`,
      target: "p99 < 20 ms",
      met: p99 < 20 && missing === 0,
      runs: post.length,
      values: { p50, p95, p99, missing },
    });
  }
  if (burst) {
    const ratio = burst.totalS / burst.boundS;
    const { perSec, maxBurst, varyBy } = burst.rateLimit;
    rows.push({
      figure: `Burst: ${BURST_REQUESTS} at once, limit ${perSec}/s burst ${maxBurst} per ${varyBy}`,
      measured: `${burst.totalS.toFixed(1)} s = ${ratio.toFixed(2)}× bound ${burst.boundS.toFixed(1)} s; ${burst.posted} posted, ${burst.duplicates} dup, ${burst.lost} lost`,
      target: `≤ 1.2×; ${BURST_REQUESTS}/0/0`,
      met: ratio <= 1.2 && burst.posted === BURST_REQUESTS && burst.duplicates === 0 && burst.lost === 0,
      runs: 1,
      values: {
        totalS: burst.totalS,
        boundS: burst.boundS,
        ratio,
        posted: burst.posted,
        duplicates: burst.duplicates,
        lost: burst.lost,
      },
    });
    rows.push({
      figure: "  Mattermost calls per request in the burst",
      measured: `${(burst.calls / burst.requests).toFixed(2)} sent (${burst.rateLimited} answered 429), ${(burst.succeeded / burst.requests).toFixed(2)} answered 2xx`,
      target: "—",
      met: undefined,
      runs: 1,
      values: { calls: burst.calls, rateLimited: burst.rateLimited, succeeded: burst.succeeded },
    });
  }
  if (click) {
    const [p50, p99] = [medianOf(click, (r) => r.p50), medianOf(click, (r) => r.p99)];
    const failed = click.reduce((sum, run) => sum + run.failed, 0);
    const dialog = click.some((run) => run.mode === "dialog");
    rows.push({
      figure: `Click round trip${dialog ? " (from dialog submission)" : ""}, ${CLICKS_PER_RUN} clicks: p50 / p99`,
      measured: `${p50.toFixed(1)} / ${p99.toFixed(1)} ms${failed ? `, ${failed} failed` : ""}`,
      target: "p99 < 100 ms",
      met: p99 < 100 && failed === 0,
      runs: click.length,
      values: { p50, p99, failed },
    });
  }
  if (startup) {
    const empty = median(startup.emptyMs);
    const pending = median(startup.pendingMs);
    rows.push({
      figure: "Startup to caught up, nothing pending",
      measured: ms(empty),
      target: "< 500 ms",
      met: empty < 500,
      runs: startup.emptyMs.length,
      values: { ms: empty },
    });
    rows.push({
      figure: `Startup to caught up, ${PENDING_AT_START} pending already posted`,
      measured: `${ms(pending)}${startup.repostedDuringPendingStarts ? `, ${startup.repostedDuringPendingStarts} reposted` : ""}`,
      target: "< 500 ms",
      met: pending < 500 && startup.repostedDuringPendingStarts === 0,
      runs: startup.pendingMs.length,
      values: { ms: pending, reposted: startup.repostedDuringPendingStarts },
    });
    const idle = median(startup.idleRssMb);
    rows.push({
      figure: "RSS idle",
      measured: mb(idle),
      target: "< 80 MB",
      met: idle < 80,
      runs: startup.idleRssMb.length,
      values: { mb: idle },
    });
  }
  if (memory) {
    const growth = memory.trackedRssMb - memory.idleRssMb;
    rows.push({
      figure: `RSS at ${TRACKED_REQUESTS.toLocaleString("en")} tracked requests, settled`,
      measured: `${mb(memory.trackedRssMb)} (+${mb(growth)} over its idle ${mb(memory.idleRssMb)})`,
      target: "< +20 MB",
      met: growth < 20,
      runs: 1,
      values: { mb: memory.trackedRssMb, growthMb: growth, idleMb: memory.idleRssMb },
    });
    rows.push({
      figure: "  RSS 1 s after the last of them; peak",
      measured: `${mb(memory.loadedRssMb)}; ${mb(memory.peakRssMb)}`,
      target: "—",
      met: undefined,
      runs: 1,
      values: { loadedMb: memory.loadedRssMb, peakMb: memory.peakRssMb },
    });
  }
  if (post) {
    const cpu = medianOf(post, (r) => r.daemonCpuMs);
    rows.push({
      figure: `CPU per request, ${EVENT_TO_POST.perSec}/s steady`,
      measured: `${cpu.toFixed(2)} ms (stand-ins ${medianOf(post, (r) => r.standinCpuMs).toFixed(2)} ms)`,
      target: "< 2 ms",
      met: cpu < 2,
      runs: post.length,
      values: { ms: cpu, standinMs: medianOf(post, (r) => r.standinCpuMs) },
    });
  }
  if (memory) {
    rows.push({
      figure: `CPU per request, ${TRACKED_REQUESTS.toLocaleString("en")} as fast as handled`,
      measured: `${memory.daemonCpuMs.toFixed(2)} ms (stand-ins ${memory.standinCpuMs.toFixed(2)} ms), ${memory.perSec.toFixed(0)} requests/s`,
      target: "< 2 ms",
      met: memory.daemonCpuMs < 2,
      runs: 1,
      values: { ms: memory.daemonCpuMs, standinMs: memory.standinCpuMs, perSec: memory.perSec },
    });
  }
  return rows;
}

function table(rows: Figure[]): string {
  const header = ["figure", "measured", "target", "met", "runs"];
  const cells = rows.map((row) => [
    row.figure,
    row.measured,
    row.target,
    row.met === undefined ? "" : row.met ? "yes" : "NO",
    String(row.runs),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => cell[column]!.length)),
  );
  const line = (cell: string[]) =>
    cell
      .map((text, column) => text.padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...cells.map(line)].join("\n");
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
  log(
    `teleport-mattermost benchmark: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}; phases: ${phases.join(", ")}`,
  );
  // Other work on the machine skews every figure; the load average says how much there was.
  const loadBefore = os.loadavg()[0]!;
  const roundTrip = await loopbackRoundTripCpu();
  const started = performance.now();
  const results: Results = {};
  for (const phase of phases) {
    log(`${phase}…`);
    if (phase === "post") results.post = await eventToPost(log);
    if (phase === "burst") results.burst = await burst(log);
    if (phase === "click") results.click = await clickRoundTrip(log);
    if (phase === "startup") results.startup = await startup(log);
    if (phase === "memory") results.memory = await memory(log);
  }
  const elapsedS = (performance.now() - started) / 1000;
  const loadAfter = os.loadavg()[0]!;
  const rows = figures(results);
  process.stdout.write(
    [
      "",
      `${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${machine.platform}`,
      `load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; took ${elapsedS.toFixed(0)} s; figures are medians of the runs counted`,
      `a loopback TCP round trip costs ${roundTrip.spacedUs.toFixed(0)} µs of CPU when 20 ms apart, ${roundTrip.backToBackUs.toFixed(0)} µs back to back (what waking up costs here)`,
      "",
      table(rows),
      "",
    ].join("\n"),
  );
  await writeFile(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: { ...machine, loadBefore, loadAfter, roundTripCpuUs: roundTrip },
        elapsedS: round(elapsedS),
        figures: rows.map(({ figure, measured, target, met, runs, values }) => ({
          figure: figure.trim(),
          measured,
          target,
          met,
          runs,
          values: Object.fromEntries(Object.entries(values).map(([key, value]) => [key, round(value, 3)])),
        })),
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
  process.stderr.write(
    `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});

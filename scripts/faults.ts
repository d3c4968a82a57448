/**
 * `npm run faults`: the fault scenarios at full size (500-request bursts, Mattermost down 60 s,
 * a 1,000-request burst under a 10 req/s limit, 300 records of the original plugin, a 500-request
 * burst cut by SIGKILL and resumed by the same daemon). Prints, per scenario: requests, posted,
 * duplicates, lost, posts not showing the real state, and the time to converge. Takes several
 * minutes; `--quick` runs the test sizes instead.
 */
import { cpus } from "node:os";
import { FULL_SIZES, SCENARIOS, type ScenarioResult, TEST_SIZES } from "../test/support/fault-suite.js";

const sizes = process.argv.includes("--quick") ? TEST_SIZES : FULL_SIZES;
const only = process.argv.find((arg) => /^\d+$/.test(arg));
const results: ScenarioResult[] = [];
console.log(`fault suite on ${cpus().length} cores, Node ${process.version}, sizes ${JSON.stringify(sizes)}`);
for (const [index, scenario] of SCENARIOS.entries()) {
  if (only && Number(only) !== index + 1) continue;
  const result = await scenario(sizes);
  results.push(result);
  console.log(`  done: ${result.scenario} in ${(result.convergeMs / 1000).toFixed(1)} s`);
}
const header = ["scenario", "requests", "posted", "duplicates", "lost", "stale", "converge s", "notes"];
const rows = results.map((r) => [
  r.scenario,
  String(r.requests),
  String(r.posted),
  String(r.duplicates),
  String(r.lost),
  String(r.stale),
  (r.convergeMs / 1000).toFixed(1),
  r.notes ?? "",
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ");
console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
for (const row of rows) console.log(line(row));
const failed = results.filter((r) => r.lost || r.duplicates || r.stale);
process.exitCode = failed.length ? 1 : 0;

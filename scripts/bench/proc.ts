/**
 * What Linux says about a process: resident memory and CPU time, from /proc. Read from outside
 * the daemon, so measuring costs the daemon nothing.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (100 on every common kernel). */
const CLOCK_TICKS_PER_SECOND =
  Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** VmRSS of the process in MB (1 MB = 2^20 bytes). */
export function rssMb(pid: number): number {
  return statusMb(pid, "VmRSS");
}

/**
 * RSS as Linux splits it, in MB: anonymous (heaps, thread stacks, buffers: what the process made)
 * and file-backed (pages of its program and libraries it has touched, shared with every other
 * process running them and dropped by the kernel first when memory is short).
 */
export interface RssParts {
  anonMb: number;
  filesMb: number;
}

export function rssPartsMb(pid: number): RssParts {
  return { anonMb: statusMb(pid, "RssAnon"), filesMb: statusMb(pid, "RssFile") + statusMb(pid, "RssShmem") };
}

/** VmHWM: the highest RSS the process has had, in MB. */
export function peakRssMb(pid: number): number {
  return statusMb(pid, "VmHWM");
}

function statusMb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/** User + system CPU time of all the process's threads so far, in ms (10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses; fields after its last ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** CPU time (user + system) this process has used so far, in ms. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

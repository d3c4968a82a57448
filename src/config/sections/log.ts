/**
 * [log]: where log lines go and from which severity on, with the spellings the original
 * plugin accepted (ORIGINAL-PLUGIN.md §1).
 */

import { quoted } from "../../lib/bounded.js";
import type { LogConfig, LogFormat, LogOutput, LogSeverity } from "../config.js";
import { ConfigIssue } from "../config-issue.js";
import type { RawConfig } from "../schema.js";
import { configFilePath, given, type SectionContext } from "../section-context.js";

type LogTable = NonNullable<RawConfig["log"]>;

const OUTPUTS: Record<string, LogOutput> = {
  stderr: { kind: "stderr" },
  error: { kind: "stderr" },
  "2": { kind: "stderr" },
  stdout: { kind: "stdout" },
  out: { kind: "stdout" },
  "1": { kind: "stdout" },
};

const SEVERITIES: Record<string, LogSeverity> = {
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  err: "error",
  error: "error",
};

export function resolveLog(table: LogTable, ctx: SectionContext): LogConfig {
  return {
    output: resolveOutput(table, ctx),
    severity: resolveSeverity(table, ctx),
    format: resolveFormat(table, ctx),
  };
}

/** Text for people (the default, as Teleport's own daemons log), JSON lines for log shippers. */
function resolveFormat(table: LogTable, ctx: SectionContext): LogFormat {
  if (!given(table.format)) return "text";
  const format = table.format.trim().toLowerCase();
  if (format === "text" || format === "json") return format;
  const path = ["log", "format"];
  throw new ConfigIssue(
    path,
    `${ctx.keyName(path)} ${quoted(table.format)} is not a known format`,
    'Use "text" (readable lines, the default) or "json" (one JSON object per line, for log shippers)',
  );
}

function resolveOutput(table: LogTable, ctx: SectionContext): LogOutput {
  if (!given(table.output)) return { kind: "stderr" };
  const named = OUTPUTS[table.output.trim().toLowerCase()];
  return named ?? { kind: "file", path: configFilePath(ctx, table.output) };
}

function resolveSeverity(table: LogTable, ctx: SectionContext): LogSeverity {
  if (!given(table.severity)) return "info";
  const severity = SEVERITIES[table.severity.trim().toLowerCase()];
  if (severity === undefined) {
    const path = ["log", "severity"];
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(table.severity)} is not a known severity`,
      'Use one of "info", "warn", "error" or "debug"',
    );
  }
  return severity;
}

/**
 * Log setup: pino writing JSON lines (for files and log collectors) or readable text (on a
 * terminal), to stderr, stdout or a file, at the configured severity. No transports (worker
 * threads do not survive bundling into one file: STACK.md §2.7). Secrets are redacted by key.
 */
import * as fs from "node:fs";
import pino, { type Logger } from "pino";

export type Severity = "debug" | "info" | "warn" | "error";

export interface LogOptions {
  /** "stderr", "stdout" or a file path. */
  output: string;
  severity: Severity;
  /** Text or JSON; default: text on a terminal, JSON elsewhere. */
  format?: "text" | "json";
}

const REDACT_PATHS = ["token", "secret", "password", "*.token", "*.secret", "*.password", "authorization"];
const HIDDEN_KEYS = new Set(["level", "time", "msg", "pid", "hostname"]);

interface Sink {
  write(line: string): void;
  isTTY: boolean;
}

function openSink(output: string): Sink {
  if (output === "stderr")
    return { write: (line) => process.stderr.write(line), isTTY: process.stderr.isTTY === true };
  if (output === "stdout")
    return { write: (line) => process.stdout.write(line), isTTY: process.stdout.isTTY === true };
  const fd = fs.openSync(output, "a", 0o640);
  return { write: (line) => fs.writeSync(fd, line), isTTY: false };
}

/** Formats one pino JSON line as `LEVEL message key=value …`. */
export function textLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = String(record["level"] ?? "info")
    .toUpperCase()
    .padEnd(5);
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN_KEYS.has(key))
    .map(
      ([key, value]) =>
        `${key}=${typeof value === "string" && !/\s/.test(value) ? value : JSON.stringify(value)}`,
    );
  const time = typeof record["time"] === "number" ? new Date(record["time"]).toISOString() : "";
  return `${time} ${level} ${String(record["msg"] ?? "")}${fields.length ? ` ${fields.join(" ")}` : ""}\n`;
}

export function createLogger(options: LogOptions): Logger {
  const sink = openSink(options.output);
  const format = options.format ?? (sink.isTTY ? "text" : "json");
  const stream = { write: (line: string) => sink.write(format === "text" ? textLine(line) : line) };
  return pino(
    {
      level: options.severity,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/**
 * Log setup: pino, to stderr, stdout or a file, at the configured severity, as readable text
 * (the default, like Teleport's own daemons) or JSON lines (for log shippers). Text is made by
 * pino-pretty's synchronous formatter, not a transport: transports run in worker threads that
 * need their files on disk, which a bundle or single executable does not have (STACK.md §2.7).
 * Secrets are redacted by key in both formats, and every string (message and fields) is cut to
 * MAX_LOG_STRING_CHARS, so no input can make a line huge. A log file is reopened on request
 * (SIGHUP), so logrotate can move it away.
 */
import * as fs from "node:fs";
import { dirname } from "node:path";
import pino, { type Logger } from "pino";
import { prettyFactory } from "pino-pretty";
import { AppError } from "../errors.js";
import { clip, clipFields, MAX_LOG_STRING_CHARS, REDACTED } from "../lib/bounded.js";

export type Severity = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";

export interface LogOptions {
  /** "stderr", "stdout" or a file path. */
  output: string;
  severity: Severity;
  /** Default "text". */
  format?: LogFormat;
}

/** The logger and, for a file, how to reopen it after logrotate moved it. */
export interface LogSetup {
  logger: Logger;
  /** Closes the log file and opens its path again (a no-op for stderr and stdout). */
  reopen(): void;
}

/**
 * Fields whose values never reach a line. Top-level fields (child bindings included) by pino's
 * `redact`, a lookup per field; nested ones, at any depth, in the `log` formatter's walk over
 * the fields (clipFields): pino's wildcard paths (`*.token`) would run every field of every line
 * through a redactor that parses its paths and copies the value.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set(["token", "secret", "password", "authorization"]);
/** The key that names the log file in errors about it. */
const OUTPUT_KEY = "[log] output";

interface Sink {
  write(line: string): void;
  reopen(): void;
  isTTY: boolean;
}

function openLogFile(path: string): number {
  try {
    return fs.openSync(path, "a", 0o640);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const folder = dirname(path);
    const why =
      code === "ENOENT"
        ? `its folder ${folder} does not exist`
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a folder"
            : (code ?? String(error));
    const fix =
      code === "ENOENT"
        ? `Create ${folder} (writable by the daemon's user), or set ${OUTPUT_KEY} to another file, "stderr" or "stdout"`
        : `Make ${path} writable by the daemon's user, or set ${OUTPUT_KEY} to another file, "stderr" or "stdout"`;
    throw new AppError("CONFIG", `${OUTPUT_KEY}: cannot open the log file ${path}: ${why}`, {
      cause: error,
      fix,
    });
  }
}

function openSink(output: string): Sink {
  if (output === "stderr")
    return {
      write: (line) => process.stderr.write(line),
      reopen: () => {},
      isTTY: process.stderr.isTTY === true,
    };
  if (output === "stdout")
    return {
      write: (line) => process.stdout.write(line),
      reopen: () => {},
      isTTY: process.stdout.isTTY === true,
    };
  let fd = openLogFile(output);
  return {
    write: (line) => fs.writeSync(fd, line),
    reopen: () => {
      // Open first: if the new file cannot be opened, lines keep going to the old one.
      const next = openLogFile(output);
      const previous = fd;
      fd = next;
      fs.closeSync(previous);
    },
    isTTY: false,
  };
}

/** Longest line written; a longer one (long child bindings) has its strings cut again. */
const MAX_LINE_CHARS = 16_000;

function boundedLine(line: string): string {
  if (line.length <= MAX_LINE_CHARS) return line;
  try {
    // Strings cut before carry a marker that makes them a little longer: leave those as they are.
    return `${JSON.stringify(clipFields(JSON.parse(line), MAX_LOG_STRING_CHARS + 64))}\n`;
  } catch {
    return `${clip(line, MAX_LINE_CHARS)}\n`;
  }
}

export function createLogger(options: LogOptions): LogSetup {
  const sink = openSink(options.output);
  const format = options.format ?? "text";
  const base = {
    level: options.severity,
    base: undefined,
    redact: { paths: [...SECRET_KEYS], censor: REDACTED },
    hooks: {
      logMethod(args: unknown[], method: (...args: unknown[]) => void) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === "string" ? clip(arg, MAX_LOG_STRING_CHARS) : arg)),
        );
      },
    },
  };
  const log = (fields: Record<string, unknown>) =>
    clipFields(fields, MAX_LOG_STRING_CHARS, SECRET_KEYS) as Record<string, unknown>;
  if (format === "json") {
    const logger = pino(
      { ...base, formatters: { level: (label: string) => ({ level: label }), log } },
      { write: (line: string) => sink.write(boundedLine(line)) },
    );
    return { logger, reopen: () => sink.reopen() };
  }
  const pretty = prettyFactory({
    colorize: sink.isTTY && process.env["NO_COLOR"] === undefined,
    singleLine: true,
    translateTime: "SYS:yyyy-mm-dd'T'HH:MM:ss.lo",
    ignore: "pid,hostname",
    // Our `err` fields are one-line descriptions; keep them on the line with the other fields.
    errorLikeObjectKeys: [],
  });
  const logger = pino(
    { ...base, formatters: { log } },
    { write: (line: string) => sink.write(pretty(boundedLine(line))) },
  );
  return { logger, reopen: () => sink.reopen() };
}

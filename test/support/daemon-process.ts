/**
 * Runs the built CLI (dist/teleport-mattermost.cjs) as a child process, the way an operator
 * runs it, and reads its JSON log lines. Tests await log messages and the exit code; `stop()`
 * sends SIGTERM and, if the process does not leave in time, SIGKILL, so nothing is left behind.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { selfSignedCert } from "../../src/callback/self-signed.js";
import type { World } from "../../src/demo/world.js";
import { freePort } from "../../src/lib/free-port.js";
import { LoggedProcess } from "./logged-process.js";
import type { TempDir } from "./temp-dir.js";

export const CLI_PATH = fileURLToPath(new URL("../../dist/teleport-mattermost.cjs", import.meta.url));
export const TEST_SECRET = "test-secret-0123456789abcdef0123456789";

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A JSON log line; anything else (a crash's output, say) kept as a "raw" line. */
function parseLogLine(line: string): LogLine {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return { level: "raw", msg: line };
  }
}

function assertBuilt(): void {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` first`);
}

/** Runs the CLI to completion (for configure, version, bad configs). */
export function runCli(
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `teleport-mattermost ${args.join(" ")} did not exit within ${options.timeoutMs ?? 20_000} ms\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 20_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export class DaemonProcess extends LoggedProcess<LogLine> {
  /**
   * `nodeArgs` go to node before the CLI's path (e.g. `--cpu-prof`, which NODE_OPTIONS refuses);
   * `env` replaces the inherited environment (e.g. proxy variables); `cliPath` is another copy of
   * the built entry point (default CLI_PATH).
   */
  constructor(
    args: string[],
    options: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv; cliPath?: string } = {},
  ) {
    if (!options.cliPath) assertBuilt();
    const cli = options.cliPath ?? CLI_PATH;
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), cli, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.env ? { env: options.env } : {}),
    });
    super(child, { parse: parseLogLine });
    child.stdout!.resume();
  }

  /** The exit code once the process ended (-1 when a signal ended it); null while it runs. */
  get exitCode(): number | null {
    if (this.child.signalCode !== null) return -1;
    return this.child.exitCode;
  }

  /** Resolves with the first log line matching, failing after `timeoutMs` or if the process exits. */
  waitForLog(match: string | RegExp | ((line: LogLine) => boolean), timeoutMs = 15_000): Promise<LogLine> {
    const test =
      typeof match === "function"
        ? match
        : (line: LogLine) => (typeof match === "string" ? line.msg === match : match.test(line.msg));
    return this.waitFor(
      () => this.lines.find(test),
      {
        exited: `daemon exited before logging ${String(match)}`,
        timeout: `no log line ${String(match)} within ${timeoutMs} ms`,
      },
      timeoutMs,
    );
  }

  /** Resolves once `msg` has been logged `count` times (e.g. the second "Watcher connected"). */
  waitForLogCount(msg: string, count: number, timeoutMs = 15_000): Promise<LogLine> {
    return this.waitForLog(
      (line) =>
        line.msg === msg && this.lines.filter((other) => other.msg === msg).indexOf(line) === count - 1,
      timeoutMs,
    );
  }

  /** Base URL of the health listener, from its latest startup log line (configs use port 0). */
  async healthUrl(): Promise<string> {
    await this.waitForLog(/^Health and metrics listening on /);
    const line = this.lines.findLast((candidate) =>
      candidate.msg.startsWith("Health and metrics listening on "),
    );
    return `http://127.0.0.1:${String(line?.["port"])}`;
  }

  /** Messages logged, in order (for asserting the startup sequence). */
  messages(): string[] {
    return this.lines.map((line) => line.msg);
  }
}

/** A [review] section: people mapped by name, the approvers of every role, a reason required to deny. */
export function reviewToml(mapped: readonly string[], approvers: readonly string[]): string {
  return [
    "[review]",
    'deny_reason = "required"',
    "",
    "[review.users]",
    ...mapped.map((name) => `"${name}" = "${name}"`),
    "",
    '[review.approvers."*"]',
    `mattermost_users = [${approvers.map((name) => `"${name}"`).join(", ")}]`,
  ].join("\n");
}

/** The section process tests start from: alice and bob mapped, bob the approver of every role. */
export const DEFAULT_REVIEW_TOML = reviewToml(["alice", "bob"], ["bob"]);

export interface DaemonConfigOptions {
  /** The [review] section (default DEFAULT_REVIEW_TOML). */
  review?: string;
  /** Extra TOML appended (e.g. another [http.basic_auth] table). */
  extra?: string;
  /** Replace lines: key → full TOML line, matched by `key =` at line start. */
  replace?: Record<string, string>;
  listenPort?: number;
}

/** Writes auth.crt/auth.key/auth.cas and a config for `world` into `dir`; returns the config path. */
export async function writeDaemonConfig(
  dir: TempDir,
  world: World,
  options: DaemonConfigOptions = {},
): Promise<{ configPath: string; callbackUrl: string; port: number }> {
  await dir.write("auth.crt", world.identity.crt);
  await dir.write("auth.key", world.identity.key);
  await dir.write("auth.cas", world.identity.cas);
  const port = options.listenPort ?? (await freePort());
  let toml = [
    "[teleport]",
    `addr = "${world.teleport.addr}"`,
    'client_key = "auth.key"',
    'client_crt = "auth.crt"',
    'root_cas = "auth.cas"',
    "",
    "[mattermost]",
    `url = "${world.mattermost.url}"`,
    `team = "${world.team.name}"`,
    `channel = "${world.channel.name}"`,
    `token = "${world.bot.token}"`,
    `secret = "${TEST_SECRET}"`,
    "",
    "[http]",
    `public_addr = "https://127.0.0.1:${port}"`,
    `listen_addr = "127.0.0.1:${port}"`,
    "",
    // Port 0: tests run daemons side by side; they read the port from the log line.
    "[health]",
    'listen_addr = "127.0.0.1:0"',
    "",
    "[log]",
    'output = "stderr"',
    'severity = "debug"',
    // Tests read the lines as JSON; the default is text (test/e2e/logs.test.ts).
    'format = "json"',
    "",
  ].join("\n");
  for (const [key, line] of Object.entries(options.replace ?? {})) {
    toml = toml.replace(new RegExp(`^${key} = .*$`, "m"), line);
  }
  toml += `\n${options.review ?? DEFAULT_REVIEW_TOML}\n`;
  if (options.extra) toml += `\n${options.extra}\n`;
  const configPath = await dir.write("teleport-mattermost.toml", toml);
  // It holds the token: private, as the README says (start warns otherwise).
  await chmod(configPath, 0o600);
  return { configPath, callbackUrl: `https://127.0.0.1:${port}`, port };
}

/**
 * A config as an operator's service runs it: info level, JSON lines on a pipe (what a service
 * manager collects), and a callback certificate of the operator's (`callback.crt`/`.key` in
 * `dir`, written here), so nothing is generated at start. For the benchmark and the build's
 * code-cache warm-up.
 */
export async function writeServiceConfig(
  dir: TempDir,
  world: World,
): Promise<{ configPath: string; port: number; certFile: string; keyFile: string }> {
  const callback = await selfSignedCert({ commonName: "127.0.0.1", hosts: ["127.0.0.1", "localhost"] });
  const certFile = await dir.write("callback.crt", callback.cert);
  const keyFile = await dir.write("callback.key", callback.key);
  const port = await freePort();
  const { configPath } = await writeDaemonConfig(dir, world, {
    listenPort: port,
    replace: {
      severity: 'severity = "info"',
      public_addr: [
        `public_addr = "https://127.0.0.1:${port}"`,
        `https_key_file = "${keyFile}"`,
        `https_cert_file = "${certFile}"`,
      ].join("\n"),
    },
  });
  return { configPath, port, certFile, keyFile };
}

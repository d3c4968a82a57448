/**
 * The original Go plugin (teleport-mattermost 0.1.0, ../shared/anchor/ next to the repository:
 * its README says how it was built and how it runs), run as its own process for side-by-side
 * figures. It logs text lines (logrus with trace's formatter: `LEVEL  message fields file:line`),
 * speaks the 4.2-era access-request methods, posts everything in one attachment, and keeps
 * `post_id`/`channel_id` in plugin data. It is never part of a release or of the tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { World } from "../../src/demo/world.js";
import type { TempDir } from "../../test/support/temp-dir.js";

export const GO_BINARY = fileURLToPath(
  new URL("../../../shared/anchor/teleport-mattermost-0.1.0-go", import.meta.url),
);

export function goOriginalAvailable(): boolean {
  return existsSync(GO_BINARY);
}

/**
 * Ready as the original defines it (ORIGINAL-PLUGIN.md §4): its callback listener is up and the
 * watcher got INIT. It logs both at debug level only, so the startup figures run it with
 * `severity = "debug"`.
 */
export const GO_READY_LOGS = [/^Starting secure HTTPS server on /, /^Watcher connected/] as const;

export interface GoLogLine {
  level: string;
  msg: string;
}

/** Writes the 0.1.0 config keys for `world` into `dir`: the same servers, identity and callback certificate. */
export async function writeGoConfig(
  dir: TempDir,
  world: World,
  options: { port: number; certFile: string; keyFile: string; severity: "info" | "debug" },
): Promise<string> {
  const toml = [
    "[teleport]",
    `auth_server = "${world.teleport.addr}"`,
    `client_key = "${dir.path}/auth.key"`,
    `client_crt = "${dir.path}/auth.crt"`,
    `root_cas = "${dir.path}/auth.cas"`,
    "",
    "[mattermost]",
    `url = "${world.mattermost.url}"`,
    `team = "${world.team.name}"`,
    `channel = "${world.channel.name}"`,
    `token = "${world.bot.token}"`,
    'secret = "benchmark-secret-0123456789abcdef"',
    "",
    "[http]",
    // It exits with a URL parse error unless public_addr carries a scheme (anchor README).
    `public_addr = "https://127.0.0.1:${options.port}"`,
    `listen_addr = "127.0.0.1:${options.port}"`,
    // Without these it writes a self-signed pair under /var/lib/teleport/plugins/mattermost/.
    `https_key_file = "${options.keyFile}"`,
    `https_cert_file = "${options.certFile}"`,
    "",
    "[log]",
    'output = "stderr"',
    `severity = "${options.severity}"`,
    "",
  ].join("\n");
  return dir.write(`go-${options.severity}.toml`, toml);
}

/** The Go plugin as a child process, its log lines parsed as they arrive. */
export class GoProcess {
  readonly lines: GoLogLine[] = [];
  readonly exited: Promise<number | null>;
  stderrText = "";
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();

  constructor(configPath: string) {
    this.child = spawn(GO_BINARY, ["start", "-c", configPath], { stdio: ["ignore", "ignore", "pipe"] });
    let buffered = "";
    this.child.stderr!.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      // Keep the tail only: at debug level it logs several lines per request.
      this.stderrText = (this.stderrText + text).slice(-20_000);
      buffered += text;
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const match = /^(\w+)\s+(.*?)(?:\s+\S+\.go:\d+)?$/.exec(line);
        if (match && this.lines.length < 1_000) this.lines.push({ level: match[1]!, msg: match[2]! });
        newline = buffered.indexOf("\n");
      }
      for (const wake of this.waiters) wake();
    });
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
    void this.exited.then(() => {
      for (const wake of this.waiters) wake();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves once every pattern matched a line (in any order); fails on exit or after `timeoutMs`. */
  waitForLogs(patterns: readonly RegExp[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (patterns.every((pattern) => this.lines.some((line) => pattern.test(line.msg)))) {
          done();
          resolve();
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`the Go plugin exited before it was ready\n${this.stderrText}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the Go plugin was not ready within ${timeoutMs} ms\n${this.stderrText}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM (its graceful shutdown), then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

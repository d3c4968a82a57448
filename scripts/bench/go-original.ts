/**
 * The original Go plugin (teleport-mattermost 0.1.0, ../shared/anchor/ next to the repository:
 * its README says how it was built and how it runs), run as its own process for side-by-side
 * figures. It logs text lines (logrus with trace's formatter: `LEVEL  message fields file:line`),
 * speaks the 4.2-era access-request methods, posts everything in one attachment, and keeps
 * `post_id`/`channel_id` in plugin data. It is never part of a release or of the tests.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { World } from "../../src/demo/world.js";
import { LoggedProcess } from "../../test/support/logged-process.js";
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
export class GoProcess extends LoggedProcess<GoLogLine> {
  constructor(configPath: string, env: NodeJS.ProcessEnv) {
    super(spawn(GO_BINARY, ["start", "-c", configPath], { stdio: ["ignore", "ignore", "pipe"], env }), {
      parse: (line) => {
        const match = /^(\w+)\s+(.*?)(?:\s+\S+\.go:\d+)?$/.exec(line);
        return match ? { level: match[1]!, msg: match[2]! } : undefined;
      },
      // At debug level it logs several lines per request: keep the start and the stderr tail.
      maxLines: 1_000,
      maxStderrChars: 20_000,
    });
  }

  /** Resolves once every pattern matched a line (in any order); fails on exit or after `timeoutMs`. */
  async waitForLogs(patterns: readonly RegExp[], timeoutMs: number): Promise<void> {
    await this.waitFor(
      () =>
        patterns.every((pattern) => this.lines.some((line) => pattern.test(line.msg))) ? true : undefined,
      {
        exited: "the Go plugin exited before it was ready",
        timeout: `the Go plugin was not ready within ${timeoutMs} ms`,
      },
      timeoutMs,
    );
  }
}

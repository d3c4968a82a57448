/**
 * The command line: `configure`, `start`, `check`, `version`, `demo`. Every failure ends as one clear
 * message on stderr and exit code 1; a clean shutdown exits 0.
 */
import { resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { configureText } from "../config/boilerplate.js";
import { DEFAULT_CONFIG_PATH, loadConfig } from "../config/load.js";
import { AppError } from "../errors.js";
import { routeGrpcLogs } from "../teleport/grpc-log.js";
import { VERSION } from "../version.js";
import { tokenExposureWarning } from "./config-permissions.js";
import { createLogger } from "./logger.js";
import { writePidFile } from "./pid-file.js";
import { runDaemon } from "./start.js";

/** ✓ passed, ✗ failed (with the fix), – not checked because an earlier check failed. */
const CHECK_MARKS = { ok: "✓", fail: "✗", skip: "–" } as const;

function versionLine(): string {
  return `teleport-mattermost v${VERSION} node ${process.version}`;
}

interface StartOptions {
  config: string;
  debug: boolean;
  insecureNoTls: boolean;
  pidFile?: string;
}

/** What the entry point knows about this run: how the bundle was compiled (cli/loader.ts). */
export interface RunInfo {
  codeCache?: string;
}

/** `start`: config, logger, then the daemon until it stops; resolves with the exit code. */
async function start(options: StartOptions, info: RunInfo): Promise<number> {
  const { config, warnings } = await loadConfig(options.config, { insecureNoTls: options.insecureNoTls });
  const output = config.log.output.kind === "file" ? config.log.output.path : config.log.output.kind;
  const severity = options.debug ? "debug" : config.log.severity;
  const { logger, reopen } = createLogger({ output, severity, format: config.log.format });
  routeGrpcLogs(logger);
  // The seed guide's first line (ORIGINAL-PLUGIN.md §1); operators grep for it as written.
  if (options.debug) logger.debug("DEBUG logging enabled");
  if (info.codeCache) logger.debug({ code_cache: info.codeCache }, "Code loaded");
  for (const warning of warnings) logger.warn(warning);
  const { tokenFile } = config.mattermost;
  const exposed = await (tokenFile === undefined
    ? tokenExposureWarning(config.configPath)
    : tokenExposureWarning(tokenFile, "token file"));
  if (exposed) logger.warn(exposed);
  try {
    const reload = async () => {
      const reloaded = await loadConfig(options.config, { insecureNoTls: options.insecureNoTls });
      for (const warning of reloaded.warnings) logger.warn(warning);
      return reloaded.config;
    };
    return await runDaemon(config, logger, reload, reopen);
  } catch (error) {
    const failure = AppError.from(error);
    logger.error({ code: failure.code }, `Terminating due to error: ${failure.describe()}`);
    throw failure;
  }
}

export async function main(argv: string[], info: RunInfo = {}): Promise<number> {
  let exitCode = 0;
  // Until `start` has its logger (and in `check` and `demo`), grpc-js prints nothing of its own.
  routeGrpcLogs(undefined);
  const program = new Command()
    .name("teleport-mattermost")
    .description("Approve or deny Teleport access requests from Mattermost")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .showHelpAfterError(false)
    // As the original plugin's `version` command (ORIGINAL-PLUGIN.md §1), also as a flag.
    .version(versionLine(), "-v, --version", "Print the version");

  program
    .command("configure")
    .description("Print a commented example configuration (TOML) to stdout")
    .action(() => {
      process.stdout.write(configureText());
    });

  program
    .command("version")
    .description("Print the version")
    .action(() => {
      process.stdout.write(`${versionLine()}\n`);
    });

  program
    .command("start")
    .description("Run the daemon")
    .option("-c, --config <path>", "configuration file", DEFAULT_CONFIG_PATH)
    .option("-d, --debug", "debug logging (overrides [log] severity)", false)
    .option("--insecure-no-tls", "serve the callback over plain HTTP (behind a TLS-terminating proxy)", false)
    .option("--pid-file <path>", "write the process id to this file (removed on exit)")
    .action(async (options: StartOptions) => {
      const removePidFile = options.pidFile ? writePidFile(resolve(options.pidFile)) : undefined;
      try {
        exitCode = await start(options, info);
      } finally {
        removePidFile?.();
      }
    });

  program
    .command("check")
    .description("Check every setting against the live Teleport and Mattermost servers, one line each")
    .option("-c, --config <path>", "configuration file", DEFAULT_CONFIG_PATH)
    .option(
      "--insecure-no-tls",
      "the callback server serves plain HTTP (as with start --insecure-no-tls)",
      false,
    )
    .action(async (options: { config: string; insecureNoTls: boolean }) => {
      const { runChecks } = await import("../check/checks.js");
      const passed = await runChecks(
        { configPath: options.config, insecureNoTls: options.insecureNoTls },
        // Once the reader is gone (`check | head -1`) the remaining lines have nowhere to go.
        (line) =>
          process.stdout.writable &&
          process.stdout.write(`${CHECK_MARKS[line.status]} ${line.subject}: ${line.text}\n`),
      );
      exitCode = passed ? 0 : 1;
    });

  program
    .command("demo")
    .description("Run the daemon against built-in Teleport and Mattermost stand-ins, with a page to click")
    .option("-p, --port <port>", "port of the demo page", "8080")
    .option("--host <address>", "address the demo page listens on (beyond this host it warns)", "127.0.0.1")
    .action(async (options: { port: string; host: string }) => {
      const { parsePort } = await import("../demo/listen.js");
      const port = parsePort(options.port);
      const { runDemo } = await import("../demo/run.js");
      exitCode = await runDemo({ port, host: options.host });
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return 1;
    }
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 1;
    }
    const failure = AppError.from(error);
    process.stderr.write(`ERROR: ${failure.describe()}\n`);
    return 1;
  }
}

/**
 * What an operator coming from the original plugin meets on the command line: its systemd unit's
 * `--pid-file`, `--version`/`-v`, `check` piped into `head`, a callback port already taken, and a
 * config file that leaves the token readable by everyone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CLI_PATH, DaemonProcess, runCli, writeDaemonConfig } from "../support/daemon-process.js";
import { suiteWorld } from "../support/stage.js";

/** Node's stack frames ("    at fn (/path/file.js:1:2)"), which must never reach an operator. */
const STACK_FRAME = /^\s+at .*[/(]/m;

test("--version and -v print what `version` prints", async () => {
  const expected = (await runCli(["version"])).stdout;
  for (const flag of ["--version", "-v"]) {
    const result = await runCli([flag]);
    assert.equal(result.code, 0, flag);
    assert.equal(result.stdout, expected, flag);
  }
});

test("the configure header says that `configure > file` leaves the token readable by everyone", async () => {
  const { stdout } = await runCli(["configure"]);
  const header = stdout.slice(0, stdout.indexOf("[teleport]"));
  assert.match(header, /`configure > FILE` creates FILE\n# readable by everyone/);
  assert.match(header, /chmod 600 FILE/);
});

describe("start and check as the original plugin's operators run them", () => {
  const setup = suiteWorld();

  test("start --pid-file writes the pid and removes the file on a clean exit", async (t) => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    const pidFile = join(setup.dir.path, "teleport-mattermost.pid");
    const daemon = new DaemonProcess(["start", "-c", configPath, `--pid-file=${pidFile}`]);
    t.after(() => daemon.stop());
    await daemon.waitForLog("Watcher connected");
    assert.equal(await readFile(pidFile, "utf8"), `${daemon.pid}\n`);
    assert.equal(await daemon.stop(), 0);
    await assert.rejects(readFile(pidFile), { code: "ENOENT" });
  });

  test("SIGTERM while the start waits for Teleport: a clean exit 0, logged, and the pid file removed", async (t) => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world, {
      replace: { addr: `addr = "127.0.0.1:${port}"` },
    });
    const pidFile = join(setup.dir.path, "waiting.pid");
    const daemon = new DaemonProcess(["start", "-c", configPath, `--pid-file=${pidFile}`]);
    t.after(() => daemon.stop());
    await daemon.waitForLog(/^Teleport auth server is not reachable yet/);
    assert.equal(await readFile(pidFile, "utf8"), `${daemon.pid}\n`);
    assert.equal(await daemon.stop(), 0);
    assert.ok(daemon.messages().includes("Shutting down"), daemon.messages().join("\n"));
    await assert.rejects(readFile(pidFile), { code: "ENOENT" });
  });

  test("SIGHUP while the start waits for a wrong addr: the fixed config is loaded and the daemon comes up", async (t) => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const wrong = await writeDaemonConfig(setup.dir, setup.world, {
      replace: { addr: `addr = "127.0.0.1:${port}"` },
    });
    const daemon = new DaemonProcess(["start", "-c", wrong.configPath]);
    t.after(() => daemon.stop());
    await daemon.waitForLog(/^Teleport auth server is not reachable yet/);
    // The operator fixes addr in the same file and runs `systemctl reload`.
    const fixed = await writeDaemonConfig(setup.dir, setup.world);
    assert.equal(fixed.configPath, wrong.configPath);
    daemon.kill("SIGHUP");
    await daemon.waitForLog("Watcher connected", 30_000);
    assert.ok(
      daemon
        .messages()
        .includes("SIGHUP during startup: reloading the configuration and the Teleport identity"),
    );
    assert.equal(await daemon.stop(), 0);
  });

  test("check | head -1 prints the first line and exits without a stack trace", async () => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        // The shell's stderr is check's: head takes only stdout.
        const shell = spawn(
          "sh",
          ["-c", `"${process.execPath}" "${CLI_PATH}" check -c "${configPath}" | head -1`],
          {
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let stdout = "";
        let stderr = "";
        shell.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        shell.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => shell.kill("SIGKILL"), 30_000);
        shell.on("error", reject);
        shell.on("exit", (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      },
    );
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^✓ config: .* loads\n$/);
    assert.equal(result.stderr, "");
  });

  test("a callback port already in use names [http] listen_addr and the fix, in one line", async (t) => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const port = (busy.address() as { port: number }).port;
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world, { listenPort: port });
    const result = await runCli(["start", "-c", configPath]);
    assert.equal(result.code, 1);
    const errorLine = result.stderr.split("\n").find((line) => line.startsWith("ERROR: "));
    assert.equal(
      errorLine,
      `ERROR: [http] listen_addr 127.0.0.1:${port}: cannot listen: port ${port} is already in use by another process. ` +
        `Stop that process (\`ss -ltnp 'sport = :${port}'\` shows it), or set [http] listen_addr to a free port`,
    );
    assert.doesNotMatch(result.stderr, STACK_FRAME);
  });

  test("start warns while the config file holding the token is readable by every user", async (t) => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    await chmod(configPath, 0o644);
    const daemon = new DaemonProcess(["start", "-c", configPath]);
    t.after(() => daemon.stop());
    const warning = await daemon.waitForLog(/holds the Mattermost bot token/);
    assert.equal(warning.level, "warn");
    assert.equal(
      warning.msg,
      `The config file ${configPath} holds the Mattermost bot token and is readable by every user (mode 0644). ` +
        `Run chmod 600 ${configPath} (or chmod 640 with the daemon's group), or set [mattermost] token to the path of a file only the daemon can read`,
    );
    await daemon.waitForLog("Watcher connected");
    assert.equal(await daemon.stop(), 0);

    await chmod(configPath, 0o600);
    const quiet = new DaemonProcess(["start", "-c", configPath]);
    t.after(() => quiet.stop());
    await quiet.waitForLog("Watcher connected");
    assert.ok(!quiet.messages().some((msg) => msg.includes("holds the Mattermost bot token")));
    assert.equal(await quiet.stop(), 0);
  });

  test("start warns while a token file is readable by every user", async (t) => {
    const tokenFile = await setup.dir.write("bot-token", `${setup.world.bot.token}\n`);
    await chmod(tokenFile, 0o644);
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world, {
      replace: { token: `token = "${tokenFile}"` },
    });
    await chmod(configPath, 0o600);
    const daemon = new DaemonProcess(["start", "-c", configPath]);
    t.after(() => daemon.stop());
    const warning = await daemon.waitForLog(/^The token file/);
    assert.equal(warning.level, "warn");
    assert.equal(
      warning.msg,
      `The token file ${tokenFile} ([mattermost] token) is readable by every user (mode 0644). ` +
        `Run chmod 600 ${tokenFile} (or chmod 640 with the daemon's group)`,
    );
    await daemon.waitForLog("Watcher connected");
    assert.ok(!daemon.messages().some((msg) => msg.includes("holds the Mattermost bot token")));
    assert.equal(await daemon.stop(), 0);
  });
});

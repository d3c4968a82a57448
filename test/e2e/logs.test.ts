/**
 * Logs as operators read them: readable text by default with the seed guide's lines as written
 * there, JSON on request, a log file reopened on SIGHUP after logrotate moved it, and a log file
 * that cannot be opened named by its key.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { VERSION } from "../../src/version.js";
import { DaemonProcess, runCli, writeDaemonConfig } from "../support/daemon-process.js";
import { suiteWorld } from "../support/stage.js";

/** Polls until `read()` returns something truthy, failing after `timeoutMs`. */
async function eventually<T>(
  what: string,
  read: () => T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function fileText(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

describe("log format and output", () => {
  const setup = suiteWorld();

  test("text is the default: one readable line per event, with the seed guide's words", async (t) => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world, { replace: { format: "" } });
    const daemon = new DaemonProcess(["start", "-d", "-c", configPath]);
    t.after(() => daemon.stop());
    await daemon.waitForLog(/ INFO: Watcher connected$/);
    const lines = daemon.stderrText.trimEnd().split("\n");
    const version = VERSION.replaceAll(".", "\\.");
    for (const wanted of [
      /^\S+ DEBUG: DEBUG logging enabled$/,
      new RegExp(`^\\S+ INFO: Starting Teleport Access Mattermost Bot ${version} \\{"version":"${version}",`),
      /^\S+ DEBUG: Starting a request watcher\.\.\.$/,
      /^\S+ DEBUG: Starting Mattermost API health check\.\.\. \{"url":/,
      /^\S+ INFO: Starting secure HTTPS server on 127\.0\.0\.1:\d+ \{"listen_addr":/,
    ]) {
      assert.ok(
        lines.some((line) => wanted.test(line)),
        `no line ${wanted} in:\n${daemon.stderrText}`,
      );
    }
    assert.ok(!lines.some((line) => line.startsWith("{")), "no JSON lines in text format");
    assert.equal(await daemon.stop(), 0);
  });

  test('format = "json" writes one JSON object per line with the level by name', async (t) => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    const daemon = new DaemonProcess(["start", "-c", configPath]);
    t.after(() => daemon.stop());
    const line = await daemon.waitForLog(/^Starting Teleport Access Mattermost Bot /);
    assert.equal(line.level, "info");
    assert.equal(line["version"], VERSION);
    await daemon.waitForLog("Watcher connected");
    assert.ok(
      daemon.lines.every((entry) => entry.level !== "raw"),
      daemon.stderrText,
    );
    assert.equal(await daemon.stop(), 0);
  });

  test("a log file moved away by logrotate is reopened on SIGHUP", async (t) => {
    const logPath = join(setup.dir.path, "daemon.log");
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world, {
      replace: { output: `output = "${logPath}"` },
    });
    const daemon = new DaemonProcess(["start", "-c", configPath]);
    t.after(() => daemon.stop());
    await eventually("Catch-up finished in the log file", () =>
      fileText(logPath).includes("Catch-up finished"),
    );
    const rotated = `${logPath}.1`;
    renameSync(logPath, rotated);
    const before = fileText(rotated);
    daemon.kill("SIGHUP");
    // The reload logs into the new file, and the restarted watcher connects again there.
    const fresh = await eventually("the reopened log file", () => {
      const text = fileText(logPath);
      return text.includes('"msg":"Reloaded"') && text.includes("Watcher connected") && text;
    });
    assert.match(fresh, /SIGHUP: reloading the configuration/);
    assert.equal(fileText(rotated), before, "nothing more is written to the moved file");
    assert.equal(await daemon.stop(), 0);
    assert.match(fileText(logPath), /Successfully shut down/);
  });

  test("a log file in a missing folder names [log] output and the fix, in one line", async () => {
    const missing = join(setup.dir.path, "no-such-folder");
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world, {
      replace: { output: `output = "${missing}/daemon.log"` },
    });
    const result = await runCli(["start", "-c", configPath]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `ERROR: [log] output: cannot open the log file ${missing}/daemon.log: its folder ${missing} does not exist. ` +
        `Create ${missing} (writable by the daemon's user), or set [log] output to another file, "stderr" or "stdout"\n`,
    );
  });
});

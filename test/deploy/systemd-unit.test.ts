/**
 * The shipped systemd unit works as shipped: systemd itself finds nothing to warn about, and the
 * command line it runs is one the CLI accepts (the original's unit passed an unknown --pid-file).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { chmod, copyFile, cp, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort } from "../../src/lib/free-port.js";
import { CLI_PATH, DaemonProcess, runCli } from "../support/daemon-process.js";
import { serviceEnvironment, UNIT_PATH, unitEnvironment, unitValues } from "../support/systemd-unit.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

const UNIT_NAME = "teleport-mattermost.service";
const SYSTEM_UNITS = "/usr/lib/systemd/system";

const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
const noAnalyze =
  analyze.error || analyze.status !== 0
    ? "systemd-analyze is not installed (scripts/install-test-deps.sh installs it when run as root)"
    : false;

describe("deploy/teleport-mattermost.service", () => {
  let unit: string;
  let root: TempDir;

  before(async () => {
    unit = await readFile(UNIT_PATH, "utf8");
    root = await makeTempDir("teleport-mattermost-unit-");
  });
  after(() => root?.remove());

  test("systemd-analyze verify accepts it without a single warning", { skip: noAnalyze }, async () => {
    // A root of our own, holding the unit, the binary it runs, /bin/kill and systemd's own units,
    // so verify checks our file without touching the machine's /etc or /usr/local.
    const path = (...parts: string[]) => join(root.path, ...parts);
    await mkdir(path("etc/systemd/system"), { recursive: true });
    await mkdir(path("usr/local/bin"), { recursive: true });
    await mkdir(path("usr/lib/systemd"), { recursive: true });
    await mkdir(path("bin"), { recursive: true });
    await copyFile(UNIT_PATH, path("etc/systemd/system", UNIT_NAME));
    await copyFile(CLI_PATH, path("usr/local/bin/teleport-mattermost"));
    await chmod(path("usr/local/bin/teleport-mattermost"), 0o755);
    await copyFile("/bin/kill", path("bin/kill"));
    await cp(SYSTEM_UNITS, path(SYSTEM_UNITS), { recursive: true });
    const result = spawnSync(
      "systemd-analyze",
      ["verify", `--root=${root.path}`, `/etc/systemd/system/${UNIT_NAME}`],
      { encoding: "utf8" },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr.trim(), "", "systemd-analyze printed warnings");
  });

  test("runs the installed binary with flags the CLI accepts, and reloads with SIGHUP", async () => {
    const [execStart] = unitValues(unit, "ExecStart");
    assert.equal(
      execStart,
      "/usr/local/bin/teleport-mattermost start --config=/etc/teleport-mattermost.toml",
    );
    assert.deepEqual(unitValues(unit, "ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    assert.deepEqual(unitValues(unit, "Restart"), ["on-failure"]);
    assert.deepEqual(unitValues(unit, "User"), ["teleport-mattermost"]);
    // Same arguments, a config path that does not exist: the CLI must complain about the file,
    // not about an option.
    const args = (execStart ?? "").split(" ").slice(1);
    args[1] = "--config=/nonexistent/teleport-mattermost.toml";
    const result = await runCli(args);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /config file \/nonexistent\/teleport-mattermost\.toml not found/);
    assert.doesNotMatch(result.stderr, /unknown option/);
  });

  test("its Environment= is one the CLI starts under, with the one V8 helper thread it asks for", async () => {
    // Node refuses to start on an option NODE_OPTIONS may not carry; one it ignored would leave
    // the thread count as it is without the unit's environment.
    const environment = unitEnvironment(unit);
    const threadsWhenReady = async (extra: Record<string, string>) => {
      const port = await freePort();
      const demo = new DaemonProcess(["demo", "--port", String(port)], {
        env: serviceEnvironment(extra),
      });
      try {
        await demo.waitForLog((line) => line.msg.includes("Catch-up finished"), 30_000);
        return readdirSync(`/proc/${demo.pid}/task`).length;
      } finally {
        assert.equal(await demo.stop(), 0, demo.stderrText.slice(-2000));
      }
    };
    const shipped = await threadsWhenReady(environment);
    const without = await threadsWhenReady({});
    assert.ok(shipped < without, `threads under the unit's environment ${shipped}, without it ${without}`);
  });

  test("its malloc setting takes: once scrypt has freed its 16 MB, 1 MB buffers still get mappings of their own", () => {
    // glibc raises its mmap threshold to the size of the largest mapped block freed (scrypt's
    // 16 MB at every start), so later blocks up to that size come from the heap, where freed
    // memory stays; MALLOC_MMAP_THRESHOLD_ pins it. Measured as the growth of the [heap] mapping.
    const probe = `
      const { readFileSync } = require("node:fs");
      const heapMb = () => {
        const line = readFileSync("/proc/self/maps", "utf8").split("\\n").find((l) => l.endsWith("[heap]"));
        const [start, end] = line.split(" ")[0].split("-").map((hex) => Number.parseInt(hex, 16));
        return (end - start) / 2 ** 20;
      };
      require("node:crypto").scrypt("secret", "salt", 4, () => {
        const before = heapMb();
        const kept = Array.from({ length: 20 }, () => Buffer.allocUnsafeSlow(2 ** 20));
        console.log(heapMb() - before, kept.length);
      });`;
    const heapGrowthMb = (extra: Record<string, string>) => {
      const result = spawnSync(process.execPath, ["-e", probe], {
        encoding: "utf8",
        env: serviceEnvironment(extra),
        timeout: 20_000,
      });
      assert.equal(result.status, 0, result.stderr);
      return Number.parseFloat(result.stdout);
    };
    const shipped = heapGrowthMb(unitEnvironment(unit));
    const without = heapGrowthMb({});
    assert.ok(
      without >= 15,
      `without the unit's environment the heap grew ${without} MB (glibc's dynamic threshold)`,
    );
    assert.ok(shipped < 5, `under the unit's environment the heap grew ${shipped} MB`);
  });

  test("is hardened and still reads the identity folder", () => {
    for (const [key, value] of [
      ["NoNewPrivileges", "yes"],
      ["ProtectSystem", "strict"],
      ["ProtectHome", "yes"],
      ["PrivateTmp", "yes"],
    ]) {
      assert.deepEqual(unitValues(unit, key as string), [value], key);
    }
    assert.match(unitValues(unit, "ReadOnlyPaths").join(" "), /\/var\/lib\/teleport\/plugins\/mattermost/);
    assert.deepEqual(unitValues(unit, "DynamicUser"), [], "a dedicated user, as the comment explains");
  });
});

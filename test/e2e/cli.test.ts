/**
 * The CLI as an operator meets it: `version`, `configure`, and `start` with a broken config or
 * identity — each case one clear message naming the key and the fix, exit code 1, nothing
 * started — and with the `configure` boilerplate edited to real values; and the entry point's
 * code cache, used when it fits the bundle and skipped when it does not.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import packageJson from "../../package.json" with { type: "json" };
import type { World } from "../../src/demo/world.js";
import { VERSION } from "../../src/version.js";
import { CLI_PATH, DaemonProcess, runCli, TEST_SECRET } from "../support/daemon-process.js";
import { openStage, type Stage, suiteStage } from "../support/stage.js";
import type { TempDir } from "../support/temp-dir.js";

test("version prints the package version", async () => {
  const result = await runCli(["version"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, new RegExp(`^teleport-mattermost v${VERSION.replaceAll(".", "\\.")} `));
  assert.equal(VERSION, packageJson.version);
});

test("an unknown command or flag exits 1", async () => {
  assert.equal((await runCli(["launch"])).code, 1);
  assert.equal((await runCli(["start", "--no-such-flag"])).code, 1);
});

describe("start with a broken setup", () => {
  let stage: Stage;
  let world: World;
  let dir: TempDir;
  suiteStage({}, async (opened) => {
    stage = opened;
    ({ world, dir } = stage);
  });

  async function startFails(configPath: string, ...patterns: RegExp[]): Promise<void> {
    const result = await runCli(["start", "-c", configPath]);
    assert.equal(result.code, 1, result.stderr);
    const text = result.stderr + result.stdout;
    for (const pattern of patterns) assert.match(text, pattern);
    assert.doesNotMatch(text, /Starting secure HTTPS server/);
  }

  test("missing config file", async () => {
    await startFails(
      `${dir.path}/nope.toml`,
      /config file .*nope\.toml not found/,
      /teleport-mattermost configure >/,
    );
  });

  test("invalid TOML names line and column", async () => {
    const path = await dir.write("bad.toml", '[teleport]\naddr = "x\n');
    await startFails(path, /line 2, column \d+: invalid TOML/);
  });

  test("unknown key names the key, its line and the closest known key", async () => {
    const { configPath } = await stage.writeConfig({ replace: { severity: 'severty = "info"' } });
    await startFails(configPath, /line \d+: unknown key log\.severty/, /Did you mean `log\.severity`/);
  });

  test("missing required value", async () => {
    const { configPath } = await stage.writeConfig({ replace: { token: "" } });
    await startFails(configPath, /missing required value mattermost\.token/);
  });

  test("a key file that does not match the certificate", async () => {
    const { configPath } = await stage.writeConfig();
    const other = await world.teleport.issueIdentity("someone-else", ["access"]);
    await dir.write("auth.key", other.key);
    await startFails(configPath, /teleport\.client_key: .* does not match the certificate/);
  });

  test("an expired client certificate says how to export a new one", async () => {
    const { configPath } = await stage.writeConfig();
    const expired = await world.teleport.issueIdentity("access-plugin-mattermost", ["access-plugin"], {
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    await dir.write("auth.crt", expired.crt);
    await dir.write("auth.key", expired.key);
    await startFails(configPath, /expired on/, /tctl auth sign --format=tls/);
  });

  test("a wrong bot token fails the Mattermost health check with the fix", async () => {
    const { configPath } = await stage.writeConfig({
      replace: { token: 'token = "not-the-token-0123456789abcdef"' },
    });
    await startFails(configPath, /Mattermost API health check failed/, /token/);
  });

  test("a bot that is not in the channel is told to be added", async () => {
    const { configPath } = await stage.writeConfig();
    world.mattermost.removeChannelMember(world.channel.id, world.bot.user.id);
    try {
      await startFails(configPath, /not a member of channel "access-requests"/, /Add @teleport/);
    } finally {
      world.mattermost.addChannelMember(world.channel.id, world.bot.user.id);
    }
  });

  test("a Teleport server older than 4.2.8 is refused", async () => {
    const { TeleportStandin } = await import("../../src/standins/teleport/index.js");
    const old = await TeleportStandin.start({
      version: "4.2.8",
      reportedVersion: "4.2.3",
      pki: world.teleport.pki,
    });
    try {
      const { configPath } = await stage.writeConfig({
        replace: { addr: `addr = "${old.addr}"` },
      });
      await startFails(configPath, /Teleport server version 4\.2\.3 is older than 4\.2\.8/, /Upgrade/);
    } finally {
      await old.stop();
    }
  });
});

test("the configure boilerplate, edited with real values, starts the daemon", async (t) => {
  const stage = await openStage(t);
  const { world, dir } = stage;
  const { port } = await stage.writeConfig();
  const boilerplate = (await runCli(["configure"])).stdout;
  const edited = boilerplate
    .replace(/^addr = .*$/m, `addr = "${world.teleport.addr}"`)
    .replace(/^client_key = .*$/m, 'client_key = "auth.key"')
    .replace(/^client_crt = .*$/m, 'client_crt = "auth.crt"')
    .replace(/^root_cas = .*$/m, 'root_cas = "auth.cas"')
    .replace(/^url = .*$/m, `url = "${world.mattermost.url}"`)
    .replace(/^team = .*$/m, `team = "${world.team.name}"`)
    .replace(/^channel = .*$/m, `channel = "${world.channel.name}"`)
    .replace(/^token = .*$/m, `token = "${world.bot.token}"`)
    .replace(/^secret = .*$/m, `secret = "${TEST_SECRET}"`)
    .replace(/^public_addr = .*$/m, `public_addr = "https://127.0.0.1:${port}"`)
    .replace(/^# listen_addr = .*$/m, `listen_addr = "127.0.0.1:${port}"`);
  const configPath = await dir.write("edited.toml", edited);
  const daemon = stage.spawn(["start", "-c", configPath]);
  // The boilerplate logs text (the default format), one readable line per event.
  await daemon.waitForLog(/ INFO: Watcher connected$/);
  assert.equal(await daemon.stop(), 0);
});

describe("the entry point compiles the bundle with the code cache the build made", () => {
  let stage: Stage;
  let configPath: string;
  suiteStage({}, async (opened) => {
    stage = opened;
    ({ configPath } = await stage.writeConfig());
  });

  /** Starts the entry point at `cli` with debug logs and stops it once it logged `until`. */
  async function startUntil(
    cli: string,
    nodeArgs: string[] = [],
    until = "Watcher connected",
  ): Promise<DaemonProcess> {
    const daemon = new DaemonProcess(["start", "-d", "-c", configPath], { cliPath: cli, nodeArgs });
    try {
      await daemon.waitForLog(until);
    } finally {
      await daemon.stop();
    }
    return daemon;
  }

  /** How the entry point at `cli` compiled the bundle, from its "Code loaded" line. */
  async function codeCacheOf(cli: string): Promise<unknown> {
    const daemon = await startUntil(cli);
    const line = daemon.lines.find((candidate) => candidate.msg === "Code loaded");
    assert.ok(line, daemon.stderrText);
    return line["code_cache"];
  }

  /** A copy of the built entry point, bundle and cache, the cache changed by `edit`. */
  async function copyOfDist(name: string, edit: (cache: Buffer) => Buffer | undefined): Promise<string> {
    const folder = join(stage.dir.path, name);
    await mkdir(folder);
    for (const file of ["teleport-mattermost.cjs", "teleport-mattermost-main.cjs"]) {
      await copyFile(join(dirname(CLI_PATH), file), join(folder, file));
    }
    const cache = edit(await readFile(join(dirname(CLI_PATH), "teleport-mattermost-main.cache")));
    if (cache) await writeFile(join(folder, "teleport-mattermost-main.cache"), cache);
    return join(folder, "teleport-mattermost.cjs");
  }

  test("as built: the cache is used", async () => {
    assert.equal(await codeCacheOf(CLI_PATH), "used");
  });

  test("Node's own modules a start loads are compiled with Node's code cache, not from source", async () => {
    // Node's internal count of its modules compiled with and without its built-in code cache,
    // written when the daemon exits. V8 refuses that cache once the daemon's heap flags are set, so
    // the modules must be loaded before.
    const usageFile = join(stage.dir.path, "builtin-cache-usage.json");
    const hook = await stage.dir.write(
      "builtin-cache-usage.cjs",
      `const { internalBinding } = require("internal/test/binding");
process.on("exit", () => {
  const usage = internalBinding("builtins").getCacheUsage();
  require("node:fs").writeFileSync(${JSON.stringify(usageFile)}, JSON.stringify({
    withCache: [...usage.compiledWithCache], withoutCache: [...usage.compiledWithoutCache] }));
});`,
    );
    await startUntil(CLI_PATH, ["--expose-internals", "--no-warnings", "--require", hook]);
    const usage = JSON.parse(await readFile(usageFile, "utf8")) as {
      withCache: string[];
      withoutCache: string[];
    };
    for (const module of [
      "http2",
      "internal/http2/core",
      "tls",
      "_tls_wrap",
      "net",
      "https",
      "zlib",
      "cluster",
    ]) {
      assert.ok(
        usage.withCache.includes(module),
        `${module} compiled without Node's cache: ${usage.withoutCache}`,
      );
    }
    // A start loads ~120 of Node's modules; one or two loaded deep inside Node may remain.
    assert.ok(usage.withoutCache.length <= 3, `compiled from source: ${usage.withoutCache.join(", ")}`);
  });

  test("V8 optimizes hot code sooner once the start caught up (on the V8 measured), and says nothing past the log", async () => {
    const daemon = await startUntil(CLI_PATH, [], "Catch-up finished");
    // A flag this V8 lacks is complained about on stderr, past the logger.
    assert.deepEqual(
      daemon.lines.filter((line) => line.level === "raw"),
      [],
      daemon.stderrText,
    );
    const messages = daemon.messages();
    const caughtUp = messages.indexOf("Catch-up finished");
    const tuned = messages.indexOf("Started and caught up: V8 optimizes hot code sooner from now on");
    if (process.versions.v8.startsWith("11."))
      assert.ok(caughtUp >= 0 && tuned > caughtUp, messages.join("\n"));
    else assert.equal(tuned, -1, messages.join("\n"));
  });

  test("the build made the cache after a warm-up start: it holds more than loading the bundle compiles", async () => {
    const built = await readFile(join(dirname(CLI_PATH), "teleport-mattermost-main.cache"));
    const loadOnly = join(stage.dir.path, "load-only.cache");
    // From a copy without the cache: compiled with it, every function in it would be in the new one.
    const copy = await copyOfDist("load-only", () => undefined);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [copy], {
        env: { ...process.env, TELEPORT_MATTERMOST_WRITE_CODE_CACHE: loadOnly },
        stdio: "ignore",
      });
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`exit code ${code}`))));
    });
    const afterLoading = await readFile(loadOnly);
    // Same bundle (the hash it starts with); the functions a start runs make the built one larger.
    assert.deepEqual(built.subarray(0, 32), afterLoading.subarray(0, 32));
    assert.ok(
      built.length > afterLoading.length * 1.2,
      `built cache ${built.length} bytes, after loading only ${afterLoading.length}`,
    );
  });

  test("without the cache file it starts all the same", async () => {
    assert.equal(await codeCacheOf(await copyOfDist("no-cache", () => undefined)), "absent");
  });

  test("a cache made from another bundle is not used", async () => {
    const other = await copyOfDist("other-bundle", (cache) => {
      const copy = Buffer.from(cache);
      copy[0] = (copy[0]! + 1) % 256; // the bundle's hash it starts with
      return copy;
    });
    assert.equal(await codeCacheOf(other), "absent");
  });

  test("a damaged cache is refused by V8 and the bundle compiled as usual", async () => {
    const damaged = await copyOfDist("damaged", (cache) => {
      const copy = Buffer.from(cache);
      // V8's part starts after the bundle's hash and the list of Node's modules (src/cli/loader.ts).
      const v8Start = 32 + 2 + copy.readUInt16BE(32);
      for (let i = v8Start; i < v8Start + 160; i++) copy[i] = 0xff - copy[i]!;
      return copy;
    });
    assert.equal(await codeCacheOf(damaged), "rejected");
  });
});

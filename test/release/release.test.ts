/**
 * `npm run release` from this checkout, then what an operator does with the tarball on a host
 * without Node: unpack, ./install, run the binary. PATH holds only the few tools the install
 * script uses, so neither it nor the binary can lean on a node installed here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmod, mkdir, readdir, readFile, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { configureText } from "../../src/config/boilerplate.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const NAME = "teleport-mattermost";
/** Everything deploy/install runs; nothing else is on PATH. */
const INSTALL_TOOLS = ["sh", "dirname", "cp", "chmod", "mv", "mkdir", "sed", "id"];
const NOBODY_UID = 65534;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe("the release tarball", () => {
  let tmp: TempDir;
  let tools: string;
  let folder: string;
  let version: string;

  /** Runs `command` with an environment of only `env` and the bare tools PATH. */
  function bare(command: string, args: string[], env: Record<string, string> = {}, uid?: number): Run {
    const result = spawnSync(command, args, {
      encoding: "utf8",
      env: { PATH: tools, ...env },
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  before(async () => {
    tmp = await makeTempDir("teleport-mattermost-release-");
    await chmod(tmp.path, 0o755); // the unprivileged install below must reach into it
    version = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string }).version;
    tools = join(tmp.path, "tools");
    await mkdir(tools);
    for (const tool of INSTALL_TOOLS) await symlink(join("/bin", tool), join(tools, tool));
    const release = spawnSync(process.execPath, ["scripts/release.mjs", "--out", join(tmp.path, "out")], {
      cwd: REPO,
      encoding: "utf8",
    });
    assert.equal(release.status, 0, release.stderr);
    const tarball = join(tmp.path, "out", `${NAME}-v${version}-linux-amd64-bin.tar.gz`);
    const unpacked = spawnSync("tar", ["-xzf", tarball, "-C", tmp.path], { encoding: "utf8" });
    assert.equal(unpacked.status, 0, unpacked.stderr);
    folder = join(tmp.path, NAME);
  });

  after(() => tmp?.remove());

  test("holds the binary, install, the unit, an example config, README, LICENSE and VERSION", async () => {
    assert.deepEqual((await readdir(folder)).sort(), [
      "LICENSE",
      "README.md",
      "VERSION",
      "install",
      NAME,
      `${NAME}.service`,
      `${NAME}.toml.example`,
    ]);
    assert.equal(await readFile(join(folder, `${NAME}.toml.example`), "utf8"), configureText());
    assert.equal(await readFile(join(folder, "VERSION"), "utf8"), `v${version}\n`);
    assert.equal(
      await readFile(join(folder, `${NAME}.service`), "utf8"),
      await readFile(join(REPO, "deploy", `${NAME}.service`), "utf8"),
    );
    assert.match(await readFile(join(folder, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
  });

  test("installs with nothing but POSIX tools on PATH, twice, and the binary runs without node", async () => {
    assert.notEqual(bare("sh", ["-c", "command -v node"]).status, 0, "node must not be reachable");
    const stage = join(tmp.path, "stage");
    for (const round of [1, 2]) {
      const install = bare("sh", [join(folder, "install")], { DESTDIR: stage });
      assert.equal(install.status, 0, `round ${round}: ${install.stderr}`);
      assert.match(install.stdout, new RegExp(`Installed ${stage}/usr/local/bin/${NAME}\\n`));
      assert.match(install.stdout, new RegExp(`Installed ${stage}/etc/systemd/system/${NAME}\\.service\\n`));
      assert.match(
        install.stdout,
        /Next steps:\n {2}1\. \/usr\/local\/bin\/teleport-mattermost configure > /,
      );
    }
    const installed = join(stage, "usr/local/bin", NAME);
    assert.equal((await stat(installed)).mode & 0o777, 0o755);
    assert.ok((await stat(join(stage, "var/lib/teleport/plugins/mattermost"))).isDirectory());
    assert.match(
      await readFile(join(stage, "etc/systemd/system", `${NAME}.service`), "utf8"),
      /^ExecStart=\/usr\/local\/bin\/teleport-mattermost start --config=\/etc\/teleport-mattermost\.toml$/m,
    );

    const said = bare(installed, ["version"]);
    assert.equal(said.status, 0, said.stderr);
    assert.match(said.stdout, new RegExp(`^${NAME} v${version.replace(/\./g, "\\.")} node v20\\.`));
    assert.equal(said.stderr, "", "no experimental-feature warning");
    const configure = bare(installed, ["configure"]);
    assert.equal(configure.status, 0, configure.stderr);
    assert.equal(configure.stdout, configureText());
  });

  test("PREFIX moves the binary and the unit follows it", async () => {
    const prefix = join(tmp.path, "opt");
    const stage = join(tmp.path, "stage-prefix");
    const install = bare("sh", [join(folder, "install")], { PREFIX: prefix, DESTDIR: stage });
    assert.equal(install.status, 0, install.stderr);
    assert.ok((await stat(join(stage, prefix, "bin", NAME))).isFile());
    assert.match(
      await readFile(join(stage, "etc/systemd/system", `${NAME}.service`), "utf8"),
      new RegExp(`^ExecStart=${prefix}/bin/${NAME} start `, "m"),
    );
  });

  const asAnotherUser = process.getuid?.() === 0 ? false : "runs install as another user, which needs root";
  test("without root: refuses /usr/local with the way out, installs into a folder of the user's", {
    skip: asAnotherUser,
  }, async () => {
    const denied = bare("sh", [join(folder, "install")], {}, NOBODY_UID);
    assert.equal(denied.status, 1);
    assert.match(
      denied.stderr,
      /^ERROR: cannot write to \/usr\/local\/bin: run it as root \(sudo \.\/install\) or choose another place \(PREFIX=\$HOME\/\.local \.\/install\)$/m,
    );

    const home = join(tmp.path, "home");
    await mkdir(home);
    await chmod(home, 0o777);
    const own = bare("sh", [join(folder, "install")], { PREFIX: join(home, ".local") }, NOBODY_UID);
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stdout, /Skipped the systemd unit and the service user \(they need root\)/);
    assert.match(
      own.stdout,
      /4\. .*\.local\/bin\/teleport-mattermost start -c \/etc\/teleport-mattermost\.toml/,
    );
    const said = bare(join(home, ".local/bin", NAME), ["version"], {}, NOBODY_UID);
    assert.equal(said.status, 0, said.stderr);
  });
});

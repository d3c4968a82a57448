/**
 * `npm run release` from this checkout, then what an operator does with the tarball on a host
 * without Node: unpack, ./install, run the binary. PATH holds only the few tools the install
 * script uses, so neither it nor the binary can lean on a node installed here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
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
const readelf = spawnSync("readelf", ["--version"], { encoding: "utf8" });
const noReadelf = readelf.error || readelf.status !== 0 ? "readelf (binutils) is not installed" : false;

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
        /Next steps:\n {2}1\. \(umask 027; \/usr\/local\/bin\/teleport-mattermost configure > \/etc\/teleport-mattermost\.toml\) && chgrp teleport-mattermost /,
      );
      // check runs as the service's user, who must be able to read what root can.
      assert.match(
        install.stdout,
        /3\. sudo -u teleport-mattermost \/usr\/local\/bin\/teleport-mattermost check -c /,
      );
      // A second install leaves the state folder (where tbot may write the identity) alone.
      assert.match(
        install.stdout,
        round === 1
          ? new RegExp(`Prepared ${stage}/var/lib/teleport/plugins/mattermost for the Teleport identity`)
          : new RegExp(`Left ${stage}/var/lib/teleport/plugins/mattermost as it was`),
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
    const own = bare(
      "sh",
      [join(folder, "install")],
      { PREFIX: join(home, ".local"), HOME: home },
      NOBODY_UID,
    );
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stdout, /Skipped the systemd unit and the service user \(they need root\)/);
    // Every path in the next steps is one this user can write: nothing in /etc or /var/lib.
    const steps = own.stdout.slice(own.stdout.indexOf("Next steps:"));
    const configDir = join(home, ".config", NAME);
    assert.match(steps, new RegExp(`1\\. mkdir -p ${configDir} && \\(umask 077; `));
    assert.ok(
      steps.includes(`4. ${join(home, ".local/bin", NAME)} start -c ${configDir}/${NAME}.toml`),
      steps,
    );
    assert.doesNotMatch(steps, /\/etc\/|\/var\/lib\//);
    // And following them works as that user.
    const followed = bare(
      "sh",
      [
        "-c",
        `mkdir -p ${configDir} && (umask 077; ${join(home, ".local/bin", NAME)} configure > ${configDir}/${NAME}.toml)`,
      ],
      {},
      NOBODY_UID,
    );
    assert.equal(followed.status, 0, followed.stderr);
    assert.equal((await stat(join(configDir, `${NAME}.toml`))).mode & 0o777, 0o600);
    const said = bare(join(home, ".local/bin", NAME), ["version"], {}, NOBODY_UID);
    assert.equal(said.status, 0, said.stderr);
  });

  test("refuses to write a unit that runs a binary inside a home folder (ProtectHome=yes)", async () => {
    const stage = join(tmp.path, "stage-home");
    const install = bare("sh", [join(folder, "install")], { PREFIX: "/home/alice/.local", DESTDIR: stage });
    assert.equal(install.status, 1);
    assert.equal(
      install.stderr,
      "ERROR: PREFIX=/home/alice/.local is inside a home folder, where the systemd unit (ProtectHome=yes, user teleport-mattermost) cannot run the binary: install it to a system folder (the default /usr/local, or PREFIX=/opt/teleport-mattermost), or run ./install without root to install only the binary\n",
    );
    await assert.rejects(stat(stage), { code: "ENOENT" }, "nothing was written");
  });

  test("writes a .sha256 beside the tarball that sha256sum -c accepts", async () => {
    const out = join(tmp.path, "out");
    const name = `${NAME}-v${version}-linux-amd64-bin.tar.gz`;
    const line = await readFile(join(out, `${name}.sha256`), "utf8");
    const digest = createHash("sha256")
      .update(await readFile(join(out, name)))
      .digest("hex");
    assert.equal(line, `${digest}  ${name}\n`);
    const checked = spawnSync("sha256sum", ["-c", `${name}.sha256`], { cwd: out, encoding: "utf8" });
    if (checked.error === undefined) {
      assert.equal(checked.status, 0, checked.stderr);
      assert.equal(checked.stdout, `${name}: OK\n`);
    }
  });

  test("the README states the glibc floor the binary needs", { skip: noReadelf }, async () => {
    const text = spawnSync("readelf", ["--version-info", "--wide", join(folder, NAME)], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    }).stdout;
    const versions = [...new Set(text.match(/GLIBC_\d+\.\d+/g) ?? [])].map((v) => v.slice(6));
    const newest = versions.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).at(-1);
    assert.ok(newest, "no GLIBC_ versions found");
    const readme = await readFile(join(REPO, "README.md"), "utf8");
    assert.ok(readme.includes(`glibc ${newest} or newer`), `README must say "glibc ${newest} or newer"`);
  });
});

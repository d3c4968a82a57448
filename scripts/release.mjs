// `npm run release`: the bundle as a single executable (Node SEA: this node binary with the
// entry point, the bundle and its code cache injected by postject) and a tarball an operator unpacks and installs:
//   release/teleport-mattermost-v<version>-linux-<arch>-bin.tar.gz
//     teleport-mattermost/ teleport-mattermost (binary), install, teleport-mattermost.service,
//                          teleport-mattermost.toml.example, README.md, LICENSE, VERSION
//   release/teleport-mattermost-v<version>-linux-<arch>-bin.tar.gz.sha256 (`sha256sum -c` reads it)
// `--out DIR` writes somewhere else (tests use a temporary folder).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, join, resolve } from "node:path";
import { BUNDLE_FILE, bundle, CODE_CACHE_FILE } from "./build.mjs";

const require = createRequire(import.meta.url);
const { inject } = require("postject");

const NAME = "teleport-mattermost";
/** The fuse Node looks for to know a SEA blob was injected (Node's SEA documentation). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const ARCHES = { x64: "amd64", arm64: "arm64" };

const outIndex = process.argv.indexOf("--out");
const out = resolve(outIndex > 0 ? process.argv[outIndex + 1] : "release");
if (process.platform !== "linux" || !ARCHES[process.arch]) {
  throw new Error(`releases are built on linux x64 or arm64, not ${process.platform} ${process.arch}`);
}
const { version } = JSON.parse(await readFile("package.json", "utf8"));
const work = join(out, "work");
const folder = join(work, NAME);
const binary = join(folder, NAME);
await rm(work, { recursive: true, force: true });
await mkdir(folder, { recursive: true });

const started = Date.now();
const bundled = join(work, `${NAME}.cjs`);
await bundle(bundled);
const seaConfig = join(work, "sea-config.json");
const blob = join(work, "sea-prep.blob");
// The entry point (src/cli/loader.ts) finds the bundle and its code cache among the assets.
await writeFile(
  seaConfig,
  JSON.stringify({
    main: bundled,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    assets: { [BUNDLE_FILE]: join(work, BUNDLE_FILE), [CODE_CACHE_FILE]: join(work, CODE_CACHE_FILE) },
  }),
);
execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], { stdio: "ignore" });
await copyFile(process.execPath, binary);
await chmod(binary, 0o755);
// postject (through LIEF) warns about ELF note sections it does not know; they are harmless.
const warn = console.warn;
console.warn = () => {};
try {
  await inject(binary, "NODE_SEA_BLOB", await readFile(blob), { sentinelFuse: SEA_FUSE });
} finally {
  console.warn = warn;
}

// The binary must run by itself: ask it for its version and its example config.
const said = execFileSync(binary, ["version"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } }).trim();
if (!said.startsWith(`${NAME} v${version} `)) throw new Error(`the binary says "${said}"`);
await writeFile(
  join(folder, `${NAME}.toml.example`),
  execFileSync(binary, ["configure"], { encoding: "utf8" }),
);

await copyFile("deploy/install", join(folder, "install"));
await chmod(join(folder, "install"), 0o755);
await copyFile(`deploy/${NAME}.service`, join(folder, `${NAME}.service`));
await copyFile("README.md", join(folder, "README.md"));
await copyFile("LICENSE", join(folder, "LICENSE"));
await writeFile(join(folder, "VERSION"), `v${version}\n`);

const tarball = join(out, `${NAME}-v${version}-linux-${ARCHES[process.arch]}-bin.tar.gz`);
execFileSync("tar", ["-czf", tarball, "--owner=0", "--group=0", "-C", work, NAME]);
// The line `sha256sum` writes, so that `sha256sum -c <tarball>.sha256` checks a download.
const digest = createHash("sha256")
  .update(await readFile(tarball))
  .digest("hex");
await writeFile(`${tarball}.sha256`, `${digest}  ${basename(tarball)}\n`);
const floor = glibcFloor(binary);
await rm(work, { recursive: true, force: true });
console.log(
  `${tarball} (${said}; ${floor ? `needs ${floor}; ` : ""}built in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
);

/**
 * The newest glibc symbol version the binary needs (the README states it), read with binutils'
 * readelf when this host has it. The binary is this `node`, so the floor is that of its build.
 */
function glibcFloor(file) {
  let text;
  try {
    text = execFileSync("readelf", ["--version-info", "--wide", file], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch {
    return undefined;
  }
  const versions = [...new Set(text.match(/GLIBC_\d+(\.\d+)+/g) ?? [])];
  const key = (v) => v.slice(6).split(".").map(Number);
  versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++)
      if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  });
  return versions.at(-1)?.replace("_", " ");
}

/**
 * The process entry point (dist/teleport-mattermost.cjs, and the single executable's main): it
 * compiles the bundle (teleport-mattermost-main.cjs: ASCII, already in its CommonJS wrapper,
 * read as Latin-1 so V8 gets it as an external string without a copy) with V8's code cache, made at build time
 * once every module the CLI loads had run, so a start neither parses 2 MB of JavaScript nor
 * compiles the functions module loading runs. The cache is used only when it was made from this
 * very bundle (its first bytes are the bundle's SHA-256, which the build writes into this file
 * too) and V8 finds it was made by the same V8 with the same flags; otherwise the bundle is
 * compiled as usual, only slower.
 *
 * The build writes the cache by running this file with TELEPORT_MATTERMOST_WRITE_CODE_CACHE set
 * to the output path: it then loads the bundle, writes the cache and exits without running a
 * command. With TELEPORT_MATTERMOST_CODE_CACHE_WARM_CONFIG set too (a config for stand-ins:
 * scripts/code-cache-site.ts), it first runs `start` with that config until catch-up finished,
 * its output dropped: V8 compiles a function only when it first runs, and the cache holds what was
 * compiled when it is made, so a cache made after a start spares each start compiling the
 * functions it runs (config checks, connecting, the first calls, catch-up): a quarter of it.
 *
 * Node's own modules (http2, tls, undici's zlib...) come with a code cache too, built into the
 * binary with V8's default flags, and V8 refuses a cache made with other flags: once v8-flags.ts
 * has set its flags, every module of Node's loaded afterwards is compiled from source (35–50 ms of
 * a start here). So the cache file also names the modules of Node's that the bundle required
 * during the warm-up, in that order, and the loader requires them first, then sets the flags,
 * then compiles the bundle (whose cache was made with those flags). The file's layout:
 * code-cache-file.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import { cacheContents, cacheFile } from "./code-cache-file.js";
import { applyHeapFlags } from "./v8-flags.js";

/** SHA-256 (hex) of the bundle this loader was built with; set by scripts/build.mjs. */
declare const BUNDLE_SHA256: string;

/** Names next to this file, and of the single executable's assets (scripts/release.mjs). */
const BUNDLE_FILE = "teleport-mattermost-main.cjs";
const CODE_CACHE_FILE = "teleport-mattermost-main.cache";
/** How the bundle was compiled: with the cache, without (V8 refused it), or there was none. */
type CodeCacheUse = "used" | "rejected" | "absent";

interface BundleFiles {
  path: string;
  source: string;
  cache: Buffer | undefined;
}

/** The bundle and its cache: files next to this one, or assets of the single executable. */
function bundleFiles(): BundleFiles {
  const sea = seaModule();
  if (sea?.isSea()) {
    let cache: Buffer | undefined;
    try {
      cache = Buffer.from(sea.getAsset(CODE_CACHE_FILE));
    } catch {}
    return {
      path: join(dirname(process.execPath), BUNDLE_FILE),
      source: Buffer.from(sea.getAsset(BUNDLE_FILE)).toString("latin1"),
      cache,
    };
  }
  // This file is bundled as CommonJS: __dirname is its folder.
  const path = join(__dirname, BUNDLE_FILE);
  let cache: Buffer | undefined;
  try {
    cache = readFileSync(join(__dirname, CODE_CACHE_FILE));
  } catch {}
  return { path, source: readFileSync(path, "latin1"), cache };
}

/** `require` that also adds each of Node's modules it loads to `required`, as `node:<name>`. */
function recordingRequire(require: NodeJS.Require, required: Set<string>): NodeJS.Require {
  return Object.assign((id: string): unknown => {
    if (isBuiltin(id)) required.add(id.startsWith("node:") ? id : `node:${id}`);
    return require(id);
  }, require);
}

/**
 * Node's public modules that Node itself loaded, not the bundle (`net` loads `cluster` on the first
 * listen, for one), from `process.moduleLoadList` (undocumented, in every Node since 0.x; without
 * it they are compiled from source as before). Modules named `_…` are parts of others (`_tls_wrap`
 * of `tls`): loaded before them, they could see half of them, so they are left to their owners.
 */
function loadedByNode(required: Set<string>): string[] {
  const prefix = "NativeModule ";
  const loaded = (process as { moduleLoadList?: readonly string[] }).moduleLoadList ?? [];
  return loaded
    .filter((entry) => entry.startsWith(prefix))
    .map((entry) => `node:${entry.slice(prefix.length)}`)
    .filter((id) => !id.startsWith("node:_") && !id.startsWith("node:internal/") && isBuiltin(id))
    .filter((id) => !required.has(id));
}

type SeaModule = { isSea(): boolean; getAsset(key: string, encoding?: string): ArrayBuffer & string };

function seaModule(): SeaModule | undefined {
  try {
    // node:sea exists from Node 20.12; older Nodes do not run single executables with assets.
    return require("node:sea") as SeaModule;
  } catch {
    return undefined;
  }
}

function load(): void {
  const files = bundleFiles();
  const bundleHash = Buffer.from(BUNDLE_SHA256, "hex");
  const cache = cacheContents(files.cache, bundleHash);
  // Before the flags: compiled with Node's own code cache (see the top of this file). A module
  // this Node lacks is skipped; the bundle only loads such a module where it may be missing.
  for (const name of cache?.builtins ?? []) if (isBuiltin(name)) require(name);
  applyHeapFlags(); // before compiling: V8 checks the flags a code cache was made with
  const script = new Script(files.source, {
    filename: files.path,
    ...(cache ? { cachedData: cache.data } : {}),
  });
  const use: CodeCacheUse = !cache ? "absent" : script.cachedDataRejected ? "rejected" : "used";
  const module = { exports: {} as { run?: (argv: string[], codeCache: CodeCacheUse) => void } };
  const out = process.env["TELEPORT_MATTERMOST_WRITE_CODE_CACHE"];
  const requireInBundle = createRequire(files.path);
  // Writing the cache: which of Node's modules the bundle requires, in the order it does (a
  // module of Node's required before the one that normally requires it may see half of it).
  const required = new Set<string>();
  const wrapped = script.runInThisContext() as (...args: unknown[]) => void;
  wrapped.call(
    module.exports,
    module.exports,
    out ? recordingRequire(requireInBundle, required) : requireInBundle,
    module,
    files.path,
    dirname(files.path),
  );
  if (out) {
    const writeCache = () =>
      writeFileSync(
        out,
        cacheFile(bundleHash, [...required, ...loadedByNode(required)], script.createCachedData()),
      );
    const warmConfig = process.env["TELEPORT_MATTERMOST_CODE_CACHE_WARM_CONFIG"];
    // Without a warm-up every module has run its top level: the cache holds all of that compiled.
    if (warmConfig) warmUp(module.exports.run!, warmConfig, writeCache);
    else writeCache();
    return;
  }
  module.exports.run!(process.argv.slice(2), use);
}

/** Longest the warm-up start may take before the build fails. */
const WARM_UP_TIMEOUT_MS = 60_000;
/** The daemon's line once started and caught up (scripts/bench/site.ts waits for it too). */
const READY_LOG = "Catch-up finished";

/**
 * Runs `start -c <config>` until the daemon logs READY_LOG (at any level), then calls `done` and
 * exits; exits 1 with the output so far when the daemon ends or takes too long.
 */
function warmUp(run: (argv: string[], codeCache: CodeCacheUse) => void, config: string, done: () => void) {
  const writeError = process.stderr.write.bind(process.stderr);
  let output = "";
  let finished = false;
  const capture = ((chunk: string | Uint8Array) => {
    output += String(chunk);
    if (!finished && output.includes(READY_LOG)) {
      finished = true;
      done();
      process.exit(0);
    }
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  process.once("exit", (code) => {
    if (!finished)
      writeError(
        `code cache warm-up: the daemon exited (${code}) before "${READY_LOG}"\n${output.slice(-4000)}\n`,
      );
  });
  setTimeout(() => {
    writeError(`code cache warm-up: no "${READY_LOG}" within ${WARM_UP_TIMEOUT_MS} ms\n`);
    process.exit(1);
  }, WARM_UP_TIMEOUT_MS).unref();
  run(["start", "-c", config], "absent");
}

load();

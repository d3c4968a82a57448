// Bundles the CLI into CommonJS files that run with plain `node` and no node_modules: the entry
// point dist/teleport-mattermost.cjs, the bundle it loads and V8's code cache for it. CommonJS
// because Node's single-executable support wants it.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const require = createRequire(import.meta.url);

/**
 * `@bufbuild/protobuf/wkt` re-exports every well-known type, and loading it decodes all their
 * descriptors (any, api, type, struct, the compiler plugin's…): a fifth of the daemon's start. Our
 * code uses Timestamp and Empty only, so the bundle gets just those.
 */
const wktSubset = {
  name: "wkt-subset",
  setup(pluginBuild) {
    const wkt = join(dirname(require.resolve("@bufbuild/protobuf/wkt")), "..", "..", "esm", "wkt");
    pluginBuild.onResolve({ filter: /^@bufbuild\/protobuf\/wkt$/ }, () => ({
      path: "wkt",
      namespace: "wkt-subset",
    }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "wkt-subset" }, () => ({
      resolveDir: wkt,
      contents: [
        'export * from "./timestamp.js";',
        'export * from "./gen/google/protobuf/timestamp_pb.js";',
        'export * from "./gen/google/protobuf/empty_pb.js";',
      ].join("\n"),
    }));
  },
};

/**
 * Modules our dependencies require but never use the way the daemon runs them, replaced by a
 * stub so they cost neither bundle text nor memory and start-up (each Node built-in loaded adds
 * 0.5–2 MB of RSS): grpc-js loads @grpc/proto-loader (and protobufjs, 250 KB) only to serve
 * channelz/ORCA, which we never register; prom-client reads @opentelemetry/api only for
 * exemplars, which we never enable; pino loads thread-stream (and worker_threads) for transports,
 * which we never use (cli/logger.ts); commander loads child_process for executable subcommands,
 * which we have none of. `importer` limits a stub to what one package requires.
 */
const STUBS = [
  {
    module: "@grpc/proto-loader",
    contents:
      'exports.loadSync = () => { throw new Error("@grpc/proto-loader is not bundled: channelz and ORCA are not served"); };',
  },
  { module: "@opentelemetry/api", contents: "module.exports = {};" },
  {
    module: "thread-stream",
    contents:
      'module.exports = function ThreadStream() { throw new Error("pino transports are not bundled"); };',
  },
  {
    module: "node:child_process",
    importer: /node_modules\/commander\//,
    contents: 'exports.spawn = () => { throw new Error("executable subcommands are not bundled"); };',
  },
];
const unusedModules = {
  name: "unused-modules",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, (args) => {
      const index = STUBS.findIndex(
        (stub) => stub.module === args.path && (!stub.importer || stub.importer.test(args.importer)),
      );
      return index < 0 ? undefined : { path: String(index), namespace: "unused" };
    });
    pluginBuild.onLoad({ filter: /.*/, namespace: "unused" }, (args) => ({
      contents: STUBS[Number(args.path)].contents,
      loader: "js",
    }));
  },
};

/**
 * undici's index loads all it offers (fetch, WebSocket, EventSource, caches, mocks: 1 MB of the
 * bundle and node:assert, worker_threads and more at start); the Mattermost client uses its
 * Agent and ProxyAgent and their `request`, which the index adds to every dispatcher.
 */
const undiciSubset = {
  name: "undici-subset",
  setup(pluginBuild) {
    const root = dirname(require.resolve("undici"));
    pluginBuild.onResolve({ filter: /^undici$/ }, () => ({ path: "undici", namespace: "undici-subset" }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "undici-subset" }, () => ({
      resolveDir: root,
      loader: "js",
      contents: [
        'Object.assign(require("./lib/dispatcher/dispatcher").prototype, require("./lib/api"));',
        'exports.Agent = require("./lib/dispatcher/agent");',
        'exports.ProxyAgent = require("./lib/dispatcher/proxy-agent");',
      ].join("\n"),
    }));
  },
};

/**
 * prom-client's index loads everything it offers: the cluster aggregator (node:cluster, which
 * loads child_process and more), the push gateway (zlib, http clients), summaries (tdigest).
 * The daemon uses a registry, counters, gauges, histograms and the default metrics: only those.
 */
const promClientSubset = {
  name: "prom-client-subset",
  setup(pluginBuild) {
    const lib = join(dirname(require.resolve("prom-client")), "lib");
    pluginBuild.onResolve({ filter: /^prom-client$/ }, () => ({
      path: "prom-client",
      namespace: "prom-client-subset",
    }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "prom-client-subset" }, () => ({
      resolveDir: lib,
      loader: "js",
      contents: [
        'exports.Registry = require("./registry");',
        'exports.Counter = require("./counter");',
        'exports.Gauge = require("./gauge");',
        'exports.Histogram = require("./histogram");',
        'exports.collectDefaultMetrics = require("./defaultMetrics");',
      ].join("\n"),
    }));
  },
};

export const DEFAULT_OUTFILE = "dist/teleport-mattermost.cjs";
/** Next to the entry point: the bundle and V8's code cache for it (src/cli/loader.ts). */
export const BUNDLE_FILE = "teleport-mattermost-main.cjs";
export const CODE_CACHE_FILE = "teleport-mattermost-main.cache";
/** What Node wraps a CommonJS module in; the loader calls the function it evaluates to. */
const WRAPPER_HEAD = "(function (exports, require, module, __filename, __dirname) {";
const WRAPPER_TAIL = "\n})";

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
};

/**
 * Writes the entry point `outfile` (src/cli/loader.ts), the bundle of the CLI next to it
 * (src/cli/bin.ts and all it imports, no node_modules needed), and the code cache for that
 * bundle, made by this Node (any other Node compiles the bundle as usual).
 */
export async function bundle(outfile = DEFAULT_OUTFILE) {
  const bundleFile = join(dirname(outfile), BUNDLE_FILE);
  const cacheFile = join(dirname(outfile), CODE_CACHE_FILE);
  await build({
    ...common,
    entryPoints: ["src/cli/bin.ts"],
    outfile: bundleFile,
    // Whitespace and syntax only: V8 keeps the source in memory (2.4 → 1.6 MB); names stay, so
    // stack traces still say which function failed.
    minifyWhitespace: true,
    minifySyntax: true,
    plugins: [wktSubset, promClientSubset, undiciSubset, unusedModules],
    // ws tries require("bufferutil") and require("utf-8-validate"), optional native add-ons we do
    // not ship; in the single executable that require() of a non-builtin prints a warning. These
    // are ws's documented switches to skip the attempt.
    define: {
      "process.env.WS_NO_BUFFER_UTIL": '"1"',
      "process.env.WS_NO_UTF_8_VALIDATE": '"1"',
    },
  });
  // V8 keeps a script's source as a string for the process's lifetime. Every character beyond
  // ASCII is written as \uXXXX (esbuild escapes them in strings but not in the comments it keeps
  // or in regular expressions; \uXXXX means the same character in all three places), so the file
  // reads as Latin-1 byte for byte: Node then hands V8 an external one-byte string, neither
  // decoded from UTF-8 nor copied into the heap (src/cli/loader.ts). The CommonJS wrapper is
  // written around it here, so the loader compiles the file's text exactly as read.
  const source =
    WRAPPER_HEAD +
    (await readFile(bundleFile, "utf8")).replace(
      /[\u0080-\uffff]/g,
      (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ) +
    WRAPPER_TAIL;
  await writeFile(bundleFile, source);
  await build({
    ...common,
    entryPoints: ["src/cli/loader.ts"],
    outfile,
    banner: { js: "#!/usr/bin/env node" },
    define: { BUNDLE_SHA256: JSON.stringify(createHash("sha256").update(source).digest("hex")) },
  });
  await chmod(outfile, 0o755);
  await rm(cacheFile, { force: true });
  await writeCodeCache(outfile, cacheFile);
}

/**
 * V8's code cache for the bundle, made after a warm-up start against stand-ins (src/cli/loader.ts
 * says why), or, when that cannot run (no dev dependencies, no loopback), after loading only.
 */
async function writeCodeCache(outfile, cacheFile) {
  const write = (env = {}) =>
    execFileSync(process.execPath, [outfile], {
      env: { ...process.env, ...env, TELEPORT_MATTERMOST_WRITE_CODE_CACHE: cacheFile },
      stdio: ["ignore", "ignore", "inherit"],
    });
  let site;
  try {
    site = await startWarmUpSite();
    write({ TELEPORT_MATTERMOST_CODE_CACHE_WARM_CONFIG: site.config });
  } catch (error) {
    console.warn(`code cache made without a warm-up start (${error.message.split("\n")[0]})`);
    write();
  } finally {
    site?.stop();
  }
}

/** scripts/code-cache-site.ts in a child process: resolves once its config is written. */
function startWarmUpSite() {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("code-cache-site.ts", import.meta.url))],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const stop = () => child.stdin.end();
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const line = output.split("\n").find((text) => text.startsWith("{"));
      if (line) resolve({ config: JSON.parse(line).config, stop });
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the warm-up site exited with code ${code}`)));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await bundle();

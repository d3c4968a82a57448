// Bundles the CLI into one CommonJS file (dist/teleport-mattermost.cjs) that runs with plain
// `node` and no node_modules. CommonJS because Node's single-executable support wants it.
import { chmod } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

export const DEFAULT_OUTFILE = "dist/teleport-mattermost.cjs";

export async function bundle(outfile = DEFAULT_OUTFILE) {
  await build({
    entryPoints: ["src/cli/bin.ts"],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    outfile,
    banner: { js: "#!/usr/bin/env node" },
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
  });
  await chmod(outfile, 0o755);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await bundle();

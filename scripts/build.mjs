// Bundles the CLI into one CommonJS file (dist/teleport-mattermost.cjs) that runs with plain
// `node` and no node_modules. CommonJS because Node's single-executable support wants it.
import { chmod, readFile, writeFile } from "node:fs/promises";
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
  // V8 keeps a script's source as a string for the process's lifetime, two bytes per character
  // as soon as one character is beyond Latin-1. esbuild escapes such characters in strings but
  // not in the comments it keeps or in regular expressions, so a few "…" and "μ" doubled the
  // 3 MB bundle in memory. \uXXXX means the same character in all three places.
  const source = await readFile(outfile, "utf8");
  await writeFile(
    outfile,
    source.replace(/[\u0100-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`),
  );
  await chmod(outfile, 0o755);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await bundle();

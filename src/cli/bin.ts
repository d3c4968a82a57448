/**
 * The bundle's entry (teleport-mattermost-main.cjs): cli/loader.ts compiles it and calls `run`,
 * which runs the CLI and exits with its code.
 */
import { main } from "./main.js";

export function run(argv: string[], codeCache: string): void {
  // A reader that went away (`check | head -1`) is not an error of ours: the rest of the output
  // is dropped (main checks `writable`) instead of ending in a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
    });
  }

  main(argv, { codeCache }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`ERROR: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

/** Process entry point: runs the CLI and exits with its code. */
import "./heap.js"; // first: it sets how the garbage collector sizes the heap
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`ERROR: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

/**
 * `start --pid-file PATH`, which the original plugin's systemd unit passes. Our unit does not need
 * it (systemd tracks the process of a Type=simple service), but an upgrade that keeps the old
 * unit must start, so the file is written and removed again on exit.
 */
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { AppError } from "../errors.js";

/** Writes this process's pid to `path`; the returned function removes it if it is still ours. */
export function writePidFile(path: string, pid = process.pid): () => void {
  try {
    writeFileSync(path, `${pid}\n`, { mode: 0o644 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AppError("CONFIG", `--pid-file ${path}: cannot write it (${code})`, {
      cause: error,
      fix: "Point --pid-file at a folder the daemon's user may write (e.g. RuntimeDirectory= in the unit), or remove it: systemd tracks the process without it",
    });
  }
  return () => {
    try {
      if (readFileSync(path, "utf8").trim() === String(pid)) unlinkSync(path);
    } catch {
      // Already gone, or replaced by another process's: nothing of ours to remove.
    }
  };
}

/**
 * Turns a failed file read into words an operator can act on. Node reports the reason as an
 * errno code; the loaders of config, token and certificate files all need the same three
 * distinctions: the file is not there, it is there but not ours to read, or something else.
 */
export type FileProblem = "missing" | "denied" | "directory" | "other";

export function fileProblem(error: unknown): FileProblem {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return "missing";
  if (code === "EACCES" || code === "EPERM") return "denied";
  if (code === "EISDIR") return "directory";
  return "other";
}

/** A short reason for the `other` case: the errno code, or the error's message. */
export function fileErrorText(error: unknown): string {
  const errno = error as NodeJS.ErrnoException | undefined;
  if (errno?.code) return errno.code;
  return error instanceof Error ? error.message : String(error);
}

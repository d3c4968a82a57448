/**
 * The one problem a config check found, before it is dressed as an AppError: which key (so the
 * loader can find its line), what is wrong, and what to do. Checks throw it; load.ts turns it
 * into `AppError("CONFIG")` with the file name and line number in front.
 */
export type KeyPath = readonly (string | number)[];

export class ConfigIssue extends Error {
  override readonly name = "ConfigIssue";

  constructor(
    /** Path of the key in the file, current spelling (`["mattermost", "token"]`). */
    readonly path: KeyPath,
    message: string,
    /** What the operator should do, said as an instruction. */
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `["http", "basic_auth", "user"]` → `http.basic_auth.user`; indices print as `[2]`. */
export function dottedKey(path: KeyPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? segment : `.${segment}`;
  }
  return text;
}

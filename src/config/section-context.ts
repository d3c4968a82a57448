/**
 * What a section check needs besides its table: where the file is (to resolve relative paths),
 * how to read files and tell the time (injected, so tests need no disk or clock), how to name
 * and find keys, and where to put warnings.
 */
import { resolve } from "node:path";
import type { KeyPath } from "./config-issue.js";
import type { KeyLocator } from "./key-locator.js";

export interface ConfigDeps {
  readFile(path: string): Promise<Buffer | string>;
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface SectionContext extends KeyLocator, ConfigDeps {
  /** Absolute path of the config file. */
  configPath: string;
  /** The callback server runs plain HTTP (start --insecure-no-tls). */
  insecureNoTls: boolean;
  /** Records a warning about the key at `path`; the loader adds file and line. */
  warn(path: KeyPath, text: string): void;
}

/** A file named in the config: absolute, relative paths taken from the config file's folder. */
export function configFilePath(ctx: SectionContext, value: string): string {
  return resolve(ctx.configPath, "..", value.trim());
}

/** A string setting counts as given when it has more than whitespace; "" means "not set", as in Go. */
export function given(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== "";
}

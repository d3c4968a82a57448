/**
 * What the config loader tests share: a minimal valid file (BASE, as the seed guide's example),
 * loading it from memory or from a temp folder, and asserting that an error names the file, the
 * key's line, what is wrong and the fix.
 */
import assert from "node:assert/strict";
import type { LoadedConfig } from "../../src/config/config.js";
import { type ConfigDeps, type LoadConfigOptions, loadConfig } from "../../src/config/load.js";
import { AppError } from "../../src/errors.js";
import type { TempDir } from "./temp-dir.js";

export const CONFIG_PATH = "/etc/teleport-mattermost/config.toml";

export const BASE = `[teleport]
addr = "teleport.example.com:3025"
client_key = "/var/lib/tm/auth.key"
client_crt = "/var/lib/tm/auth.crt"
root_cas = "/var/lib/tm/auth.cas"

[mattermost]
url = "https://mattermost.example.com/"
team = "eng"
channel = "access"
token = "tok-123"
secret = "0123456789abcdef0123456789abcdef"

[http]
public_addr = "callback.example.com:8081"
`;

export function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

/** Files in memory; anything else is ENOENT. A string value that is an errno code fails with it. */
export function memoryDeps(files: Record<string, string | NodeJS.ErrnoException>): ConfigDeps {
  return {
    readFile: async (path) => {
      const content = files[path];
      if (content === undefined) throw errnoError("ENOENT");
      if (content instanceof Error) throw content;
      return content;
    },
    now: () => Date.parse("2026-11-25T12:00:00Z"),
  };
}

export function load(text: string, options: LoadConfigOptions = {}, files: Record<string, string> = {}) {
  return loadConfig(CONFIG_PATH, options, memoryDeps({ [CONFIG_PATH]: text, ...files }));
}

export async function loadError(
  text: string,
  options: LoadConfigOptions = {},
  files: Record<string, string> = {},
): Promise<AppError> {
  try {
    await load(text, options, files);
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${error}`);
    assert.equal(error.code, "CONFIG");
    return error;
  }
  assert.fail("expected loadConfig to fail");
}

/** 1-based line of the first line of `text` containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const index = text.split("\n").findIndex((line) => line.includes(needle));
  assert.ok(index >= 0, `${needle} not in text`);
  return index + 1;
}

/** Asserts the error names the file, the key's line, the message part and the fix part. */
export function assertError(
  error: AppError,
  expected: { line?: number; message: string | RegExp; fix: string | RegExp },
) {
  const where =
    expected.line === undefined ? `config ${CONFIG_PATH}: ` : `config ${CONFIG_PATH} line ${expected.line}: `;
  assert.ok(error.message.startsWith(where), `"${error.message}" should start with "${where}"`);
  if (typeof expected.message === "string")
    assert.ok(error.message.includes(expected.message), error.message);
  else assert.match(error.message, expected.message);
  assert.ok(error.fix, "fix is missing");
  if (typeof expected.fix === "string") assert.ok(error.fix.includes(expected.fix), error.fix);
  else assert.match(error.fix, expected.fix);
}

/** Writes `text` as config.toml into `dir` and loads it from the real file system. */
export async function loadFromDisk(
  dir: TempDir,
  text: string,
  options: LoadConfigOptions = {},
): Promise<LoadedConfig> {
  const path = await dir.write("config.toml", text);
  return loadConfig(path, options);
}

export async function diskError(dir: TempDir, text: string): Promise<AppError> {
  const error = await loadFromDisk(dir, text).catch((e: unknown) => e);
  assert.ok(error instanceof AppError, String(error));
  return error;
}

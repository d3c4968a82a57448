/**
 * Loads the TOML config file into a checked, defaulted Config. The steps, each with its own
 * kind of error: read the file; parse TOML (syntax errors carry line and column); rename old
 * spellings of keys (with warnings); check the shape (unknown keys, wrong types) and refuse
 * placeholders left from `configure`; check and
 * default each section's values, reading the files they name. Every failure becomes one
 * `AppError("CONFIG")` whose message starts with the file and the line of the key, and whose
 * `fix` tells what to do.
 */
import { readFile as nodeReadFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { AppError } from "../errors.js";
import { clip, MAX_LOG_STRING_CHARS } from "../lib/bounded.js";
import { fileErrorText, fileProblem } from "../lib/file-error.js";
import type { ConfigWarning, LoadedConfig } from "./config.js";
import { ConfigIssue, dottedKey, type KeyPath } from "./config-issue.js";
import { indexKeyLines } from "./key-lines.js";
import { type KeyLocator, keyLocator } from "./key-locator.js";
import { renameLegacyKeys } from "./legacy-keys.js";
import { rejectPlaceholders } from "./placeholder.js";
import { rawConfigSchema } from "./schema.js";
import { firstSchemaIssue } from "./schema-issues.js";
import type { ConfigDeps, SectionContext } from "./section-context.js";
import { resolveHealth } from "./sections/health.js";
import { resolveHttp } from "./sections/http.js";
import { resolveLog } from "./sections/log.js";
import { resolveMattermost } from "./sections/mattermost.js";
import { resolveReminders } from "./sections/reminders.js";
import { resolveReview } from "./sections/review.js";
import { resolveRoleToRecipients } from "./sections/role-to-recipients.js";
import { resolveTeleport } from "./sections/teleport.js";

export type { ConfigDeps } from "./section-context.js";

export interface LoadConfigOptions {
  /** `start --insecure-no-tls`: the callback server speaks plain HTTP; public_addr defaults to http://. */
  insecureNoTls?: boolean;
}

export const nodeConfigDeps: ConfigDeps = {
  readFile: (path) => nodeReadFile(path),
  now: () => Date.now(),
};

export const DEFAULT_CONFIG_PATH = "/etc/teleport-mattermost.toml";

export async function loadConfig(
  path: string,
  options: LoadConfigOptions = {},
  deps: ConfigDeps = nodeConfigDeps,
): Promise<LoadedConfig> {
  // `-c ""` or `--config=` would otherwise resolve to the working folder ("is a directory").
  if (path.trim() === "") {
    throw new AppError("CONFIG", "no config file given: -c/--config is empty", {
      fix: "Pass the path of the TOML file, e.g. -c /etc/teleport-mattermost.toml",
    });
  }
  const configPath = resolve(path);
  const source = await readConfigSource(configPath, deps);
  const document = parseToml(configPath, source);
  const lines = indexKeyLines(source);
  const warnings: ConfigWarning[] = [];
  // Until the legacy renames are known, keys are located as written.
  let locator: KeyLocator = keyLocator(lines, (keyPath) => keyPath);

  try {
    const legacy = renameLegacyKeys(document, lines.lineOf);
    locator = keyLocator(lines, legacy.spelledPath);
    const byLine = (line: number | undefined) => line ?? Number.POSITIVE_INFINITY;
    const renamed = legacy.renamed
      .map((rename) => ({ ...rename, line: locator.lineOf(rename.to) }))
      .sort((a, b) => byLine(a.line) - byLine(b.line));
    for (const { from, to, line } of renamed) {
      const [old, current] = isTableAt(legacy.document, to)
        ? [`[${dottedKey(from)}]`, `[${dottedKey(to)}]`]
        : [dottedKey(from), dottedKey(to)];
      warnings.push(located(configPath, line, `${old} is deprecated; rename it to ${current}`));
    }

    const checked = rawConfigSchema.safeParse(legacy.document);
    if (!checked.success) throw firstSchemaIssue(checked.error, legacy.document, locator);
    const raw = checked.data;
    rejectPlaceholders(raw, locator);

    const ctx: SectionContext = {
      ...locator,
      ...deps,
      configPath,
      insecureNoTls: options.insecureNoTls ?? false,
      warn: (keyPath, text) => warnings.push(located(configPath, locator.lineOf(keyPath), text)),
    };
    const roleToRecipients = resolveRoleToRecipients(raw.role_to_recipients ?? {}, ctx);
    const teleport = await resolveTeleport(raw.teleport ?? {}, ctx);
    const mattermost = await resolveMattermost(
      raw.mattermost ?? {},
      ctx,
      Object.keys(roleToRecipients).length > 0,
    );
    const http = await resolveHttp(raw.http ?? {}, ctx);
    const config = {
      configPath,
      teleport,
      mattermost,
      http,
      health: resolveHealth(raw.health ?? {}, ctx, http.listen),
      log: resolveLog(raw.log ?? {}, ctx),
      review: resolveReview(raw.review ?? {}, ctx),
      roleToRecipients,
      reminders: resolveReminders(raw.reminders ?? {}, ctx),
    };
    return { config, warnings };
  } catch (error) {
    if (error instanceof ConfigIssue) throw configError(configPath, error, locator);
    throw error;
  }
}

function isTableAt(document: Record<string, unknown>, path: readonly string[]): boolean {
  let current: unknown = document;
  for (const segment of path) current = (current as Record<string, unknown> | undefined)?.[segment];
  return (
    typeof current === "object" && current !== null && !Array.isArray(current) && !(current instanceof Date)
  );
}

async function readConfigSource(configPath: string, deps: ConfigDeps): Promise<string> {
  let content: Buffer | string;
  try {
    content = await deps.readFile(configPath);
  } catch (error) {
    const details = { file: configPath };
    switch (fileProblem(error)) {
      case "missing":
        throw new AppError("CONFIG", `config file ${configPath} not found`, {
          fix: `Create it with \`teleport-mattermost configure > ${configPath}\` and edit it, or pass another file with -c`,
          cause: error,
          details,
        });
      case "denied":
        throw new AppError("CONFIG", `cannot read config file ${configPath}: permission denied`, {
          fix: `Let the user that runs teleport-mattermost read it (e.g. \`chgrp <its group> ${configPath} && chmod 640 ${configPath}\`)`,
          cause: error,
          details,
        });
      case "directory":
        throw new AppError("CONFIG", `config file ${configPath} is a directory`, {
          fix: "Pass the path of the TOML file itself with -c",
          cause: error,
          details,
        });
      default:
        throw new AppError("CONFIG", `cannot read config file ${configPath}: ${fileErrorText(error)}`, {
          fix: "Check the file and its permissions",
          cause: error,
          details,
        });
    }
  }
  // A byte-order mark from Windows editors is not TOML; drop it rather than fail on line 1.
  return content.toString().replace(/^\uFEFF/, "");
}

function parseToml(configPath: string, source: string): Record<string, unknown> {
  try {
    // "throw" refuses keys like __proto__ instead of letting them reach plain objects.
    return parse(source, { unsafeKeyBehaviour: "throw" }) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = (error.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    throw new AppError(
      "CONFIG",
      `config ${configPath} line ${error.line}, column ${error.column}: invalid TOML: ${reason}`,
      {
        fix:
          "Correct the syntax there (text values go in double quotes, tables are written [name]); " +
          "`teleport-mattermost configure` prints a valid example",
        cause: error,
        details: { file: configPath, line: error.line, column: error.column, excerpt: error.codeblock },
      },
    );
  }
}

/** "config /etc/x.toml line 7: <text>", or without the line when the key is not in the file. */
function located(configPath: string, line: number | undefined, text: string): string {
  return line === undefined ? `config ${configPath}: ${text}` : `config ${configPath} line ${line}: ${text}`;
}

function configError(configPath: string, issue: ConfigIssue, locator: KeyLocator): AppError {
  const line = locator.lineOf(issue.path);
  let message = located(configPath, line, issue.message);
  if (line === undefined) {
    // A missing key has no line; point at the table it belongs in, when the file has one.
    const table = nearestWrittenTable(issue.path, locator);
    if (table) message += ` ([${locator.keyName(table.path)}] is at line ${table.line})`;
  }
  // Checks quote values cut short already; this bounds whatever else a message carries.
  return new AppError("CONFIG", clip(message, MAX_LOG_STRING_CHARS), {
    fix: issue.fix,
    cause: issue.cause,
    details: { file: configPath, key: locator.keyName(issue.path), line },
  });
}

function nearestWrittenTable(
  path: KeyPath,
  locator: KeyLocator,
): { path: KeyPath; line: number } | undefined {
  for (let length = path.length - 1; length > 0; length--) {
    const prefix = path.slice(0, length);
    const line = locator.lineOf(prefix);
    if (line !== undefined) return { path: prefix, line };
  }
  return undefined;
}

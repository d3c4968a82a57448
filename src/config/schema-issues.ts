/**
 * Turns zod's findings about the file's shape (unknown keys, wrong TOML types) into one
 * ConfigIssue an operator can act on: the first problem in file order, named as written, with a
 * suggestion for typos and an example of the right type.
 */
import type { core } from "zod/mini";
import { quoted } from "../lib/bounded.js";
import { closestKey } from "./closest-key.js";
import { ConfigIssue, dottedKey, type KeyPath } from "./config-issue.js";
import type { KeyLocator } from "./key-locator.js";
import { knownKeys, knownTables } from "./schema.js";

interface Finding {
  path: KeyPath;
  line: number | undefined;
  issue: () => ConfigIssue;
}

function valueAt(document: unknown, path: KeyPath): unknown {
  let current = document;
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** How a TOML value looks, for "must be a string, not an integer". */
export function describeTomlValue(value: unknown): string {
  if (typeof value === "string") return "a string";
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a float";
  if (typeof value === "bigint") return "an integer";
  if (value instanceof Date) return "a date";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object" && value !== null) return "a table";
  return "missing";
}

function tableLabel(path: KeyPath): string {
  return path.length === 0 ? "the top level" : `[${dottedKey(path)}]`;
}

function unknownKeyIssue(
  tablePath: KeyPath,
  key: string,
  document: unknown,
  locator: KeyLocator,
): ConfigIssue {
  const path = [...tablePath, key];
  const isTable = describeTomlValue(valueAt(document, path)) === "a table";
  const what = isTable ? `unknown table [${locator.keyName(path)}]` : `unknown key ${locator.keyName(path)}`;
  const stringPath = tablePath.filter((segment): segment is string => typeof segment === "string");
  const known = knownKeys(stringPath) ?? [];
  const suggestion = closestKey(key, known);
  if (suggestion !== undefined) {
    return new ConfigIssue(
      path,
      what,
      `Did you mean \`${dottedKey([...tablePath, suggestion])}\`? Rename it, or remove it`,
    );
  }
  const home = knownTables().find(
    (table) => (knownKeys(table) ?? []).includes(key) && table.join() !== stringPath.join(),
  );
  if (home !== undefined) {
    return new ConfigIssue(path, what, `\`${key}\` belongs in ${tableLabel(home)}: move it there`);
  }
  const list = tablePath.length === 0 ? known.map((name) => `[${name}]`) : known;
  return new ConfigIssue(path, what, `Remove it; ${tableLabel(tablePath)} accepts ${list.join(", ")}`);
}

function wrongTypeIssue(
  path: KeyPath,
  expected: string,
  document: unknown,
  locator: KeyLocator,
): ConfigIssue {
  const found = describeTomlValue(valueAt(document, path));
  const name = locator.keyName(path);
  const inList = typeof path.at(-1) === "number";
  const key = locator.spelledPath(inList ? path.slice(0, -1) : path).at(-1);
  switch (expected) {
    case "string":
      return new ConfigIssue(
        path,
        `${name} must be a string, not ${found}`,
        inList ? "Write every element in double quotes" : `Write it in double quotes: ${key} = "…"`,
      );
    case "boolean":
      return new ConfigIssue(
        path,
        `${name} must be true or false, not ${found}`,
        `Write ${key} = true or ${key} = false, without quotes`,
      );
    case "array":
      return new ConfigIssue(
        path,
        `${name} must be a list of strings, not ${found}`,
        `Write it as a list: ${key} = ["…", "…"]`,
      );
    case "object":
    case "record":
      return new ConfigIssue(
        path,
        `${name} must be a table, not ${found}`,
        `Write it as a table: a line [${name}] with its keys below it`,
      );
    case "string-or-list":
      return new ConfigIssue(
        path,
        `${name} must be a string or a list of strings, not ${found}`,
        `Write ${quoted(String(key))} = "…" or ${quoted(String(key))} = ["…", "…"]`,
      );
    default:
      return new ConfigIssue(
        path,
        `${name} has the wrong type (${found})`,
        `Give ${key} a ${expected} value`,
      );
  }
}

/** The first (in file order) of the problems zod found, as a ConfigIssue. */
export function firstSchemaIssue(error: core.$ZodError, document: unknown, locator: KeyLocator): ConfigIssue {
  const findings: Finding[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter(
      (segment): segment is string | number => typeof segment === "string" || typeof segment === "number",
    );
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        findings.push({
          path: keyPath,
          line: locator.lineOf(keyPath),
          issue: () => unknownKeyIssue(path, key, document, locator),
        });
      }
    } else {
      const expected =
        issue.code === "invalid_type"
          ? issue.expected
          : issue.code === "invalid_union"
            ? "string-or-list"
            : "";
      findings.push({
        path,
        line: locator.lineOf(path),
        issue: () =>
          expected
            ? wrongTypeIssue(path, expected, document, locator)
            : new ConfigIssue(path, `${locator.keyName(path)}: ${issue.message}`, "Correct the value"),
      });
    }
  }
  findings.sort((a, b) => (a.line ?? Number.POSITIVE_INFINITY) - (b.line ?? Number.POSITIVE_INFINITY));
  const first = findings[0];
  if (!first)
    return new ConfigIssue([], "the file does not have the expected shape", "Compare it with `configure`");
  return first.issue();
}

/**
 * Refuses the `REPLACE-WITH-…` values of the `configure` boilerplate. A forgotten token fails
 * visibly anyway, but a forgotten `secret` would sign buttons with a key anyone can read in
 * our source, so every placeholder is an error until it is replaced.
 */
import { quoted } from "../lib/bounded.js";
import { ConfigIssue, type KeyPath } from "./config-issue.js";
import type { KeyLocator } from "./key-locator.js";

export const PLACEHOLDER_PREFIX = "REPLACE-WITH-";

function findPlaceholder(value: unknown, path: KeyPath): { path: KeyPath; value: string } | undefined {
  if (typeof value === "string") return value.startsWith(PLACEHOLDER_PREFIX) ? { path, value } : undefined;
  if (typeof value !== "object" || value === null || value instanceof Date) return undefined;
  const entries = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value);
  for (const [key, inner] of entries) {
    const found = findPlaceholder(inner, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/** Throws a ConfigIssue for the first value that is still a boilerplate placeholder. */
export function rejectPlaceholders(document: unknown, locator: KeyLocator): void {
  const found = findPlaceholder(document, []);
  if (!found) return;
  throw new ConfigIssue(
    found.path,
    `${locator.keyName(found.path)} still holds the placeholder ${quoted(found.value)} from \`configure\``,
    found.path.at(-1) === "secret"
      ? "Generate a secret with `openssl rand -hex 32` and put it there"
      : "Replace it with the real value",
  );
}

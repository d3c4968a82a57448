/**
 * Small pieces of Mattermost's `model` package the stand-in reproduces: `model.NewId` and
 * `model.IsValidId` (MATTERMOST-API.md §1), rune counting for the §6 limits, Go's `json.Marshal`
 * escaping (the props limit counts its output), `ParseSlackLinksToMarkdown` and `ParseHashtags`
 * (`server/public/model/utils.go`, `server/public/model/post.go`), and version parsing.
 */
import { randomBytes } from "node:crypto";
import { ID_ALPHABET, MATTERMOST_ID_LENGTH } from "./limits.js";

/** `model.NewId()`: 16 random bytes in Mattermost's base32 alphabet, 26 characters. */
export function newMattermostId(): string {
  let out = "";
  let value = 0;
  let bits = 0;
  for (const byte of randomBytes(16)) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ID_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ID_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** `model.IsValidId`: 26 letters or digits. */
export function isValidId(value: string): boolean {
  return value.length === MATTERMOST_ID_LENGTH && /^[A-Za-z0-9]+$/.test(value);
}

export function runeCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Go's `json.Marshal` escapes <, >, & and U+2028/2029; byte-compatible output matters for the props limit. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function parseVersion(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.split(".").map((part) => Number.parseInt(part, 10) || 0);
  return [major, minor, patch];
}

/** Go's `ParseSlackLinksToMarkdown`: `<url|text>` → `[text](url)`. */
export function parseSlackLinks(text: string): string {
  return text.replace(/<([^\n<|>]+)\|([^\n>]+)>/g, "[$2]($1)");
}

/** A close cousin of `model.ParseHashtags`. */
export function parseHashtags(message: string): string {
  const tags: string[] = [];
  for (const word of message.split(/[\s,]+/)) {
    const tag = word.replace(/^#{2,}/, "#").replace(/[^\p{L}\d]+$/u, "");
    if (/^#\p{L}[\p{L}\d\-_.]*[\p{L}\d]$/u.test(tag) && !tags.includes(tag)) tags.push(tag);
  }
  return tags.join(" ");
}

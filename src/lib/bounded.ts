/**
 * Text from outside (a config value, a server's error body, a request field) is cut before it
 * reaches a message or a log line: one bad value must not turn every retry into megabytes of log.
 */

/** Longest value quoted in a config error message. */
export const MAX_QUOTED_CHARS = 80;
/** Longest string field in a log line, and longest message. */
export const MAX_LOG_STRING_CHARS = 2_000;

/** `text` itself, or its first `max` characters and a marker saying how many were left out. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** A value quoted for a message, cut to MAX_QUOTED_CHARS. */
export function quoted(value: string, max: number = MAX_QUOTED_CHARS): string {
  return JSON.stringify(clip(value, max));
}

/** What replaces the value of a field clipFields is told to hide. */
export const REDACTED = "[redacted]";

/**
 * A copy of a log record's fields with every string cut to `max` characters, nested objects
 * and arrays included (to a small depth; deeper values are replaced by a marker), and the
 * value of every field named in `hidden`, at any depth, replaced by REDACTED.
 */
export function clipFields(
  value: unknown,
  max: number = MAX_LOG_STRING_CHARS,
  hidden?: ReadonlySet<string>,
  depth = 0,
): unknown {
  if (typeof value === "string") return clip(value, max);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= 4) return "[nested too deep]";
  if (Array.isArray(value)) {
    const items = value.slice(0, 50).map((item) => clipFields(item, max, hidden, depth + 1));
    return value.length > 50 ? [...items, `… (${value.length - 50} more items)`] : items;
  }
  if (value instanceof Error) return clip(String(value.message), max);
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const field = (value as Record<string, unknown>)[key];
    out[key] = hidden?.has(key) ? REDACTED : clipFields(field, max, hidden, depth + 1);
  }
  return out;
}

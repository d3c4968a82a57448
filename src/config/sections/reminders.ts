/**
 * [reminders]: a reply in the thread of a request still pending after `after`, and again every
 * `every`. Off unless `after` is set.
 */
import { quoted } from "../../lib/bounded.js";
import type { RemindersConfig } from "../config.js";
import { ConfigIssue } from "../config-issue.js";
import { parseDurationMs } from "../duration.js";
import type { RawConfig } from "../schema.js";
import { given, type SectionContext } from "../section-context.js";

type RemindersTable = NonNullable<RawConfig["reminders"]>;

/** Reminders closer together than this would only be noise. */
export const MIN_REMINDER_INTERVAL_MS = 60_000;

export function resolveReminders(table: RemindersTable, ctx: SectionContext): RemindersConfig | undefined {
  const afterMs = duration(table.after, "after", ctx);
  const everyMs = duration(table.every, "every", ctx);
  if (afterMs === undefined) {
    if (everyMs !== undefined)
      ctx.warn(["reminders", "every"], "reminders.every has no effect without reminders.after");
    return undefined;
  }
  return { afterMs, everyMs: everyMs ?? afterMs };
}

function duration(
  value: string | undefined,
  key: "after" | "every",
  ctx: SectionContext,
): number | undefined {
  if (!given(value)) return undefined;
  const path = ["reminders", key];
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(value)} is not a duration`,
      'Write it like "30m" or "2h"',
    );
  }
  if (ms < MIN_REMINDER_INTERVAL_MS && !(key === "every" && ms === 0)) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(value)} is shorter than 1m`,
      key === "every" ? 'Use at least "1m", or "0" for a single reminder' : 'Use at least "1m"',
    );
  }
  return ms;
}

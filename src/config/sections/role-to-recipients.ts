/**
 * [role_to_recipients]: requested role → who to notify, one recipient or a list; `*` is the
 * fallback for roles without an entry. Normalised to lists of trimmed, non-empty strings.
 */
import { quoted } from "../../lib/bounded.js";
import { checkRecipient, teleportNameProblem } from "../bounds.js";
import { ConfigIssue } from "../config-issue.js";
import type { RawConfig } from "../schema.js";
import { given, type SectionContext } from "../section-context.js";

type RoleToRecipientsTable = NonNullable<RawConfig["role_to_recipients"]>;

export function resolveRoleToRecipients(
  table: RoleToRecipientsTable,
  ctx: SectionContext,
): Record<string, string[]> {
  const resolved: Record<string, string[]> = {};
  for (const [role, value] of Object.entries(table)) {
    const list = typeof value === "string" ? [value] : value;
    const roleProblem = teleportNameProblem(role);
    if (roleProblem) {
      throw new ConfigIssue(
        ["role_to_recipients", role],
        `[role_to_recipients] key ${quoted(role)} is not a role name: ${roleProblem}`,
        'Write one line per role: "role" = "team/channel"',
      );
    }
    resolved[role] = list.map((recipient, index) => {
      const path =
        typeof value === "string" ? ["role_to_recipients", role] : ["role_to_recipients", role, index];
      if (!given(recipient)) {
        throw new ConfigIssue(
          path,
          `${ctx.keyName(path)} is empty`,
          'Remove it, or write a user (name or email) or a channel as "team/channel"',
        );
      }
      const checked = checkRecipient(recipient);
      if (!checked.ok) {
        throw new ConfigIssue(
          path,
          `${ctx.keyName(path)} ${quoted(recipient)} is not a recipient: ${checked.problem}`,
          'Write a user (username or email) or a channel as "team/channel", with the names from its address',
        );
      }
      return checked.value;
    });
  }
  return resolved;
}

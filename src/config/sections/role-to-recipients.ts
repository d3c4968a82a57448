/**
 * [role_to_recipients]: requested role → who to notify, one recipient or a list; `*` is the
 * fallback for roles without an entry. Normalised to lists of trimmed, non-empty strings.
 */
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
    resolved[role] = list.map((recipient, index) => {
      if (!given(recipient)) {
        const path =
          typeof value === "string" ? ["role_to_recipients", role] : ["role_to_recipients", role, index];
        throw new ConfigIssue(
          path,
          `${ctx.keyName(path)} is empty`,
          'Remove it, or write a user (name or email) or a channel as "team/channel"',
        );
      }
      return recipient.trim();
    });
  }
  return resolved;
}

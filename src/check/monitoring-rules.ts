/**
 * The access monitoring rules line of `check` (Teleport 16+): whether the plugin may read them,
 * which ones route its requests, and which ones it skips because it cannot evaluate their
 * condition. Rules are optional (the config routes what no rule matches), so a role that may
 * not read them is said, not failed; a rule written for this plugin that it cannot use is a ✗,
 * since requests meant for its recipients would go elsewhere.
 */
import { MonitoringRuleSet } from "../core/monitoring-rules.js";
import { PLUGIN_NAME } from "../core/plugin-data.js";
import { AppError } from "../errors.js";
import type { TeleportClient } from "../teleport/client.js";
import { isPermissionDenied } from "../teleport/errors.js";
import { listMonitoringRules } from "../teleport/monitoring-rules.js";
import { isAtLeast } from "../teleport/version.js";
import type { Emit } from "./checks.js";

/** The first Teleport with access monitoring rules (api/proto accessmonitoringrules/v1, 16.0). */
export const MONITORING_RULES_SINCE = "16.0.0";
const SUBJECT = "Teleport access monitoring rules";
/** Rule names listed in the line; more are counted. */
const NAMES_SHOWN = 10;

export async function checkMonitoringRules(
  teleport: TeleportClient,
  serverVersion: string,
  user: string,
  emit: Emit,
): Promise<void> {
  // Before 16 there is nothing to say: the config is the only routing there is.
  if (!isAtLeast(serverVersion, MONITORING_RULES_SINCE)) return;
  let listed: Awaited<ReturnType<typeof listMonitoringRules>>;
  try {
    listed = await listMonitoringRules(teleport);
  } catch (error) {
    const failure = AppError.from(error, "TELEPORT");
    if (failure.code === "TELEPORT_VERSION") return;
    if (isPermissionDenied(failure)) {
      emit(
        "skip",
        SUBJECT,
        `user ${user} may not read them, so posts are routed by the config only. To route by rules, give its role the rule \`access_monitoring_rule: [list, read]\``,
      );
      return;
    }
    emit("fail", SUBJECT, `cannot list them: ${failure.describe()}`);
    return;
  }
  const rules = new MonitoringRuleSet(PLUGIN_NAME);
  const updates = rules.replaceAll(listed);
  const unusable = updates.flatMap((update) =>
    update.kind === "unusable" ? [`"${update.rule.name}" (${update.error.message})`] : [],
  );
  const active = updates.filter((update) => update.kind === "active").map((update) => update.rule.name);
  if (unusable.length > 0) {
    emit(
      "fail",
      SUBJECT,
      `skipped, their condition cannot be evaluated: ${unusable.join("; ")}. ` +
        "Rewrite the condition with the operators the README lists (Access monitoring rules)",
    );
    return;
  }
  const shown = active.slice(0, NAMES_SHOWN).map((name) => `"${name}"`);
  if (active.length > NAMES_SHOWN) shown.push(`and ${active.length - NAMES_SHOWN} more`);
  emit(
    "ok",
    SUBJECT,
    active.length === 0
      ? `none for "${PLUGIN_NAME}" (${listed.length} in all): posts are routed by the config`
      : `${active.length} for "${PLUGIN_NAME}" (${shown.join(", ")}); requests no rule matches are routed by the config`,
  );
}

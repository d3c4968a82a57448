/**
 * Access monitoring rules (Teleport 16+) from the auth server: listing them from
 * `teleport.accessmonitoringrules.v1.AccessMonitoringRulesService` a page at a time, watching the
 * `access_monitoring_rule` kind, and the rule as routing reads it (core/monitoring-rules). Runs
 * on the TeleportClient's connection. A server without the service answers TELEPORT_VERSION; a
 * role without `list`/`read` on `access_monitoring_rule` a denial (teleport/errors.ts).
 */
import { create } from "@bufbuild/protobuf";
import type { MonitoringRule } from "../core/monitoring-rules.js";
import type { TeleportClient } from "./client.js";
import { watchEventOf } from "./convert.js";
import {
  type AccessMonitoringRule,
  ListAccessMonitoringRulesRequestSchema,
} from "./gen/teleport/accessmonitoringrules/v1/access_monitoring_rules_pb.js";
import { AccessMonitoringRulesService } from "./gen/teleport/accessmonitoringrules/v1/access_monitoring_rules_service_pb.js";
import type { Event } from "./gen/teleport/authservice_pb.js";
import { grpcDefinition } from "./grpc-service.js";

/** Kind of the rules watched (api/types KindAccessMonitoringRule). */
export const ACCESS_MONITORING_RULE_KIND = "access_monitoring_rule";
/** Rules asked for per page (the plugins' defaultAccessMonitoringRulePageSize). */
export const MONITORING_RULE_PAGE_SIZE = 1000n;

const methods = grpcDefinition(AccessMonitoringRulesService);

export type RuleWatchEvent =
  | { type: "init" }
  | { type: "put"; rule: MonitoringRule }
  | { type: "delete"; name: string };

/** Every rule, a page at a time. Needs `list` and `read` on `access_monitoring_rule`. */
export async function listMonitoringRules(teleport: TeleportClient): Promise<MonitoringRule[]> {
  const rules: MonitoringRule[] = [];
  let pageToken = "";
  do {
    const page = await teleport.call(
      methods.listAccessMonitoringRules,
      create(ListAccessMonitoringRulesRequestSchema, { pageSize: MONITORING_RULE_PAGE_SIZE, pageToken }),
    );
    rules.push(...page.rules.map(monitoringRuleFromProto));
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return rules;
}

/** Watches the rules like TeleportClient.watchRequests watches requests; needs `read` on them. */
export function watchMonitoringRules(
  teleport: TeleportClient,
  signal: AbortSignal,
): AsyncGenerator<RuleWatchEvent> {
  return teleport.watch(ACCESS_MONITORING_RULE_KIND, ruleWatchEventFromProto, signal);
}

/**
 * An access monitoring rule as routing reads it. Spec fields newer than our proto subset (such
 * as `schedules`) arrive as unknown fields; their numbers are kept so the app can say so.
 */
export function monitoringRuleFromProto(rule: AccessMonitoringRule): MonitoringRule {
  const spec = rule.spec;
  return {
    name: rule.metadata?.name ?? "",
    subjects: [...(spec?.subjects ?? [])],
    condition: spec?.condition ?? "",
    notificationName: spec?.notification?.name ?? "",
    recipients: [...(spec?.notification?.recipients ?? [])],
    unknownFields: [...new Set((spec?.$unknown ?? []).map((field) => field.no))],
  };
}

/** A watch event on access monitoring rules (Teleport 16+), or undefined for another kind. */
export function ruleWatchEventFromProto(event: Event): RuleWatchEvent | undefined {
  return watchEventOf<RuleWatchEvent>(
    event,
    (resource) =>
      resource.case === "accessMonitoringRule"
        ? { type: "put", rule: monitoringRuleFromProto(resource.value) }
        : undefined,
    (name) => ({ type: "delete", name }),
  );
}

/**
 * Routing by access monitoring rules (Teleport 16+), the way Teleport's own plugins do it
 * (integrations/access/accessmonitoring RuleHandler, accessrequest/app.go): a rule counts for this
 * plugin when its `notification.name` is the plugin's name and its subjects include
 * `access_request`; a request goes to the recipients of every such rule whose condition matches.
 * A rule whose condition cannot be used is skipped. Pure: the app keeps the set up to date from
 * Teleport and reports what `put` returns.
 */
import type { AccessRequest } from "./access-request.js";
import { type CompiledCondition, type ConditionEnv, compileCondition } from "./condition.js";

/** The subject notification rules name (api/types KindAccessRequest). */
export const ACCESS_REQUEST_SUBJECT = "access_request";

/** An access monitoring rule as far as routing reads it. */
export interface MonitoringRule {
  name: string;
  subjects: string[];
  condition: string;
  /** `notification.name`: the plugin the rule is for. */
  notificationName: string;
  recipients: string[];
  /** Newer spec fields this plugin does not know (such as `schedules`), by field number. */
  unknownFields: number[];
}

/** What storing a rule meant: it counts, it is not for this plugin, or it cannot be used. */
export type RuleUpdate =
  | { kind: "active"; rule: MonitoringRule }
  | { kind: "ignored"; rule: MonitoringRule }
  | { kind: "unusable"; rule: MonitoringRule; error: Error };

/** The env a condition sees: the request, and the requester's traits when they were read. */
export function conditionEnv(request: AccessRequest, traits: Record<string, string[]>): ConditionEnv {
  return {
    roles: request.roles,
    suggestedReviewers: request.suggestedReviewers,
    user: request.user,
    requestReason: request.requestReason,
    systemAnnotations: request.systemAnnotations,
    requestedResources: request.resources.length,
    traits,
  };
}

export class MonitoringRuleSet {
  private readonly active = new Map<string, { rule: MonitoringRule; condition: CompiledCondition }>();

  constructor(private readonly pluginName: string) {}

  get size(): number {
    return this.active.size;
  }

  /** Adds or replaces a rule (a PUT, or one of a listing). */
  put(rule: MonitoringRule): RuleUpdate {
    this.active.delete(rule.name);
    if (rule.notificationName !== this.pluginName || !rule.subjects.includes(ACCESS_REQUEST_SUBJECT)) {
      return { kind: "ignored", rule };
    }
    try {
      this.active.set(rule.name, { rule, condition: compileCondition(rule.condition) });
      return { kind: "active", rule };
    } catch (error) {
      return { kind: "unusable", rule, error: error as Error };
    }
  }

  delete(name: string): boolean {
    return this.active.delete(name);
  }

  /** Replaces every rule with a fresh listing; returns what each meant. */
  replaceAll(rules: readonly MonitoringRule[]): RuleUpdate[] {
    this.active.clear();
    return rules.map((rule) => this.put(rule));
  }

  clear(): void {
    this.active.clear();
  }

  /** True when some rule's condition reads `user.traits` (the requester must be looked up). */
  needsTraits(): boolean {
    return [...this.active.values()].some(({ condition }) => condition.usesTraits);
  }

  /**
   * The recipients of every rule whose condition matches, each once, rules in name order; and
   * the names of those rules. No match means: route by the config.
   */
  match(env: ConditionEnv): { recipients: string[]; rules: string[] } {
    const recipients = new Set<string>();
    const rules: string[] = [];
    const byName = [...this.active.values()].sort((a, b) => a.rule.name.localeCompare(b.rule.name));
    for (const { rule, condition } of byName) {
      if (!condition.evaluate(env)) continue;
      rules.push(rule.name);
      for (const recipient of rule.recipients) recipients.add(recipient);
    }
    return { recipients: [...recipients], rules };
  }
}

/**
 * Access monitoring rules (Teleport 16+; the stand-in's 18.0.0 profile): the store, its watch
 * events and `teleport.accessmonitoringrules.v1.AccessMonitoringRulesService`, as
 * lib/auth/accessmonitoringrules/accessmonitoringrulesv1/service.go serves it: every call needs
 * its verbs on `access_monitoring_rule` (List: read + list), rules are checked as
 * lib/services ValidateAccessMonitoringRule does, each write gets a new revision and a PUT event
 * with the whole rule, a delete a DELETE event with a ResourceHeader (lib/services/local/events.go
 * AccessMonitoringRuleParser). Listing is by name, a page at a time, the token being the next name.
 */
import { clone, create, type MessageInitShape } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import {
  type AccessMonitoringRule,
  AccessMonitoringRuleSchema,
} from "../../teleport/gen/teleport/accessmonitoringrules/v1/access_monitoring_rules_pb.js";
import { AccessMonitoringRulesService } from "../../teleport/gen/teleport/accessmonitoringrules/v1/access_monitoring_rules_service_pb.js";
import { alreadyExists, badParameter, notFound, notImplemented } from "./errors.js";
import type { CallerIdentity, Permissions } from "./permissions.js";
import type { ServiceBinding, ServiceHandlers } from "./rpc.js";
import type { TeleportVersion, VersionProfile } from "./versions.js";
import { DEFAULT_NAMESPACE, KIND_ACCESS_MONITORING_RULE, type ResourceCounter } from "./wire.js";

export const V1 = "v1";
/** Page size when a List asks for none, and the most one page holds (backend defaults). */
export const DEFAULT_RULE_PAGE_SIZE = 1000;

export type MonitoringRuleMethods =
  typeof AccessMonitoringRulesService extends GenService<infer M> ? M : never;
export type MonitoringRuleInput = MessageInitShape<typeof AccessMonitoringRuleSchema>;

/** Told of every stored change (the watch fan-out). */
export interface RuleListener {
  put(rule: AccessMonitoringRule): void;
  delete(name: string): void;
}

/** lib/services ValidateAccessMonitoringRule, with its messages. */
function validate(rule: AccessMonitoringRule): void {
  if (rule.kind !== KIND_ACCESS_MONITORING_RULE) {
    throw badParameter(`invalid kind for access monitoring rule: ${JSON.stringify(rule.kind)}`);
  }
  if (!rule.metadata) throw badParameter("accessMonitoringRule metadata is missing");
  if (rule.version !== V1) {
    throw badParameter(`accessMonitoringRule version ${JSON.stringify(rule.version)} is not supported`);
  }
  if (!rule.spec) throw badParameter("accessMonitoringRule spec is missing");
  if (rule.spec.subjects.length === 0) throw badParameter("accessMonitoringRule subject is missing");
  if (rule.spec.condition === "") throw badParameter("accessMonitoringRule condition is missing");
  if (rule.spec.notification && rule.spec.notification.name === "") {
    throw badParameter("accessMonitoringRule notification plugin name is missing");
  }
  if (rule.metadata.name === "") throw badParameter("missing resource name");
}

export class MonitoringRuleStore {
  private readonly rules = new Map<string, AccessMonitoringRule>();

  constructor(
    private readonly revisions: ResourceCounter,
    private readonly listener: RuleListener,
  ) {}

  get(name: string): AccessMonitoringRule {
    const rule = this.rules.get(name);
    if (!rule) throw notFound(`access_monitoring_rule "${name}" doesn't exist`);
    return clone(AccessMonitoringRuleSchema, rule);
  }

  create(input: AccessMonitoringRule): AccessMonitoringRule {
    validate(input);
    const name = input.metadata?.name ?? "";
    if (this.rules.has(name)) throw alreadyExists(`access_monitoring_rule "${name}" already exists`);
    return this.store(input);
  }

  update(input: AccessMonitoringRule): AccessMonitoringRule {
    validate(input);
    const name = input.metadata?.name ?? "";
    if (!this.rules.has(name)) throw notFound(`access_monitoring_rule "${name}" doesn't exist`);
    return this.store(input);
  }

  delete(name: string): void {
    if (!this.rules.delete(name)) throw notFound(`access_monitoring_rule "${name}" doesn't exist`);
    this.listener.delete(name);
  }

  /** One page, by name, from `pageToken` (a name) on; the token of the next page or "". */
  list(pageSize: number, pageToken: string): { rules: AccessMonitoringRule[]; nextPageToken: string } {
    const size = pageSize <= 0 ? DEFAULT_RULE_PAGE_SIZE : Math.min(pageSize, DEFAULT_RULE_PAGE_SIZE);
    const names = [...this.rules.keys()].filter((name) => name >= pageToken).sort();
    return {
      rules: names.slice(0, size).map((name) => this.get(name)),
      nextPageToken: names[size] ?? "",
    };
  }

  private store(input: AccessMonitoringRule): AccessMonitoringRule {
    const rule = clone(AccessMonitoringRuleSchema, input);
    const metadata = rule.metadata as NonNullable<AccessMonitoringRule["metadata"]>;
    metadata.namespace ||= DEFAULT_NAMESPACE;
    metadata.revision = String(this.revisions.next());
    this.rules.set(metadata.name, rule);
    this.listener.put(clone(AccessMonitoringRuleSchema, rule));
    return clone(AccessMonitoringRuleSchema, rule);
  }
}

/** A rule as `tctl create` reads it from YAML: kind and version filled in. */
export function monitoringRule(input: MonitoringRuleInput): AccessMonitoringRule {
  return create(AccessMonitoringRuleSchema, { kind: KIND_ACCESS_MONITORING_RULE, version: V1, ...input });
}

/** The tctl-like helpers refuse versions without the resource, as `tctl` would. */
export function requireMonitoringRules(profile: VersionProfile, version: TeleportVersion): void {
  if (!profile.accessMonitoringRules) {
    throw notImplemented(`access monitoring rules do not exist in Teleport ${version}`);
  }
}

interface ServiceContext {
  profile: VersionProfile;
  permissions: Permissions;
  monitoringRules: MonitoringRuleStore;
}

export function monitoringRuleBinding(context: ServiceContext): ServiceBinding<MonitoringRuleMethods> {
  const { permissions, monitoringRules: store } = context;
  const need = (caller: CallerIdentity | undefined, ...verbs: string[]) =>
    permissions.requireVerbs(caller, KIND_ACCESS_MONITORING_RULE, ...verbs);
  const handlers: ServiceHandlers<MonitoringRuleMethods> = {
    createAccessMonitoringRule: {
      unary: (request, caller) => {
        need(caller, "create");
        return store.create(request.rule ?? monitoringRule({}));
      },
    },
    updateAccessMonitoringRule: {
      unary: (request, caller) => {
        need(caller, "update");
        return store.update(request.rule ?? monitoringRule({}));
      },
    },
    getAccessMonitoringRule: {
      unary: (request, caller) => {
        need(caller, "read");
        return store.get(request.name);
      },
    },
    deleteAccessMonitoringRule: {
      unary: (request, caller) => {
        need(caller, "delete");
        store.delete(request.name);
        return create(EmptySchema);
      },
    },
    listAccessMonitoringRules: {
      unary: (request, caller) => {
        need(caller, "read", "list");
        const page = store.list(Number(request.pageSize), request.pageToken);
        return create(AccessMonitoringRulesService.method.listAccessMonitoringRules.output, page);
      },
    },
  };
  return {
    service: AccessMonitoringRulesService,
    handlers,
    // The service does not exist before 16: grpc-go answers "unknown service" (rpc.ts).
    has: () => context.profile.accessMonitoringRules,
  };
}

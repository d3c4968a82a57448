/**
 * The parts one stand-in is made of and how they are wired: the request store tells the watch
 * streams and the stand-in's `change` event of every write, plugin data writes become
 * `pluginData` events, finished calls `call` events. `TeleportStandin` (standin.ts) builds one
 * context; each handler group and tctl-like helper is handed only the parts it uses.
 */
import { randomUUID } from "node:crypto";
import type { EventEmitter } from "node:events";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import type { AuthService } from "../../teleport/gen/teleport/authservice_pb.js";
import type { StandinEvents } from "./events.js";
import { MonitoringRuleStore, V1 } from "./monitoring-rules.js";
import { DEFAULT_ROLES, Permissions, type RolePermissions } from "./permissions.js";
import { PluginDataStore } from "./plugin-data.js";
import {
  ACCESS_TTL_MS,
  type CreationOptions,
  PENDING_TTL_MS,
  RequestShape,
  type Thresholds,
} from "./request-shape.js";
import { type AuditRecord, RequestStore } from "./requests.js";
import { CallLog, type ServiceHandlers } from "./rpc.js";
import { UserDirectory } from "./users.js";
import { type TeleportVersion, VERSION_PROFILES, type VersionProfile } from "./versions.js";
import { WatchHub } from "./watch.js";
import { KIND_ACCESS_MONITORING_RULE, KIND_ACCESS_REQUEST, ResourceCounter, V3 } from "./wire.js";

export type AuthMethods = typeof AuthService extends GenService<infer M> ? M : never;

/** Handlers for some of `proto.AuthService`'s methods; auth-service.ts puts the groups together. */
export type AuthHandlers<K extends keyof AuthMethods> = Pick<ServiceHandlers<AuthMethods>, K>;

export interface StandinContext {
  version: TeleportVersion;
  profile: VersionProfile;
  now: () => Date;
  newId: () => string;
  /** TTLs and thresholds of requests created over gRPC. */
  creation: CreationOptions;
  permissions: Permissions;
  users: UserDirectory;
  shape: RequestShape;
  requests: RequestStore;
  pluginData: PluginDataStore;
  /** Access monitoring rules (kept on every version; only 16+ serves and watches them). */
  monitoringRules: MonitoringRuleStore;
  watches: WatchHub;
  calls: CallLog;
  audit: AuditRecord[];
}

export interface ContextOptions {
  version: TeleportVersion;
  /** Role table, merged over DEFAULT_ROLES. */
  roles?: Record<string, RolePermissions>;
  users?: Record<string, string[]>;
  defaultThresholds?: Thresholds;
  now?: () => Date;
  newId?: () => string;
}

export function createContext(options: ContextOptions, events: EventEmitter<StandinEvents>): StandinContext {
  const profile = VERSION_PROFILES[options.version];
  const now = options.now ?? (() => new Date());
  const resourceIds = new ResourceCounter();
  const shape = new RequestShape(profile, now, resourceIds);
  const calls = new CallLog(now, (record) => events.emit("call", record));
  const watches = new WatchHub(calls);
  const audit: AuditRecord[] = [];
  const requests = new RequestStore(shape, now, audit, {
    put: (request) => {
      const id = request.metadata?.name ?? "";
      watches.put(KIND_ACCESS_REQUEST, id, { case: "accessRequest", value: shape.project(request) });
      events.emit("change", { type: "put", id, request: shape.project(request) });
    },
    delete: (id, reason) => {
      watches.delete(KIND_ACCESS_REQUEST, V3, id);
      events.emit("change", { type: "delete", id, reason });
    },
  });
  return {
    version: options.version,
    profile,
    now,
    newId: options.newId ?? (() => randomUUID()),
    creation: {
      pendingTtlMs: PENDING_TTL_MS,
      accessTtlMs: ACCESS_TTL_MS,
      thresholds: options.defaultThresholds ?? { approve: 1, deny: 1 },
    },
    permissions: new Permissions({ ...DEFAULT_ROLES, ...options.roles }),
    users: new UserDirectory(options.users ?? {}),
    shape,
    requests,
    monitoringRules: new MonitoringRuleStore(resourceIds, {
      put: (rule) =>
        watches.put(KIND_ACCESS_MONITORING_RULE, rule.metadata?.name ?? "", {
          case: "accessMonitoringRule",
          value: rule,
        }),
      delete: (name) => watches.delete(KIND_ACCESS_MONITORING_RULE, V1, name),
    }),
    pluginData: new PluginDataStore(profile.modern, now, resourceIds, requests, (id, plugin, data) =>
      events.emit("pluginData", { id, plugin, data }),
    ),
    watches,
    calls,
    audit,
  };
}

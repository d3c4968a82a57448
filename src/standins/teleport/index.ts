/**
 * The Teleport auth server stand-in: one import for tests, scripts and the demo. What each file
 * of this folder reproduces is said in its header; docs/architecture.md has the list.
 */
export type { CreateRequestInput, ReviewInput } from "./admin.js";
export { TeleportStandinError } from "./errors.js";
export type { StandinEvents } from "./events.js";
export type { MonitoringRuleInput } from "./monitoring-rules.js";
export {
  type AccessRequestVerb,
  BUILTIN_ADMIN_ROLE,
  type CallerIdentity,
  DEFAULT_ROLES,
  type MonitoringRuleVerb,
  type PluginDataVerb,
  type RolePermissions,
  type UserVerb,
} from "./permissions.js";
export type { Thresholds } from "./request-shape.js";
export type { AuditRecord, ResolveInput, StoreChange } from "./requests.js";
export type { CallRecord } from "./rpc.js";
export { type RestartOptions, TeleportStandin, type TeleportStandinOptions } from "./standin.js";
export {
  type AuthMethod,
  type MonitoringRuleMethod,
  type RpcMethod,
  type TeleportVersion,
  VERSION_PROFILES,
} from "./versions.js";

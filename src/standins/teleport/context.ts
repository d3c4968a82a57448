/**
 * The parts one stand-in is made of, as the gRPC handlers and the tctl-like helpers see them;
 * `TeleportStandin` (standin.ts) builds one and hands each piece only the parts it uses.
 */
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import type { AuthService } from "../../teleport/gen/teleport/authservice_pb.js";
import type { Permissions } from "./permissions.js";
import type { PluginDataStore } from "./plugin-data.js";
import type { CreationOptions, RequestShape } from "./request-shape.js";
import type { AuditRecord, RequestStore } from "./requests.js";
import type { CallLog, ServiceHandlers } from "./rpc.js";
import type { UserDirectory } from "./users.js";
import type { TeleportVersion, VersionProfile } from "./versions.js";
import type { WatchHub } from "./watch.js";

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
  watches: WatchHub;
  calls: CallLog;
  audit: AuditRecord[];
}

/**
 * Version profiles: which `proto.AuthService` methods and message fields a Teleport auth server
 * of each supported release has. The method table is TELEPORT-WIRE.md §1 (cited as "WIRE §n"
 * throughout this folder), the field columns are WIRE §2–3, the SNI rule WIRE §7, reviews on
 * behalf of a user WIRE §9. Everything version-dependent in the stand-in asks a profile.
 */
import { TELEPORT_PING_MIN_TIME_MS } from "./ping-policy.js";

export type TeleportVersion = "4.2.8" | "6.2.1" | "18.0.0";

/** Go method names of `proto.AuthService` this stand-in serves (WIRE §1). */
export type AuthMethod =
  | "Ping"
  | "WatchEvents"
  | "GetAccessRequests"
  | "GetAccessRequestsV2"
  | "ListAccessRequests"
  | "CreateAccessRequest"
  | "CreateAccessRequestV2"
  | "DeleteAccessRequest"
  | "SetAccessRequestState"
  | "SubmitAccessReview"
  | "GetPluginData"
  | "UpdatePluginData"
  | "GetUser";

/** Methods of `teleport.accessmonitoringrules.v1.AccessMonitoringRulesService` (16+). */
export type MonitoringRuleMethod =
  | "CreateAccessMonitoringRule"
  | "UpdateAccessMonitoringRule"
  | "GetAccessMonitoringRule"
  | "DeleteAccessMonitoringRule"
  | "ListAccessMonitoringRules";

/** A method of any service the stand-in serves. */
export type RpcMethod = AuthMethod | MonitoringRuleMethod;

export interface VersionProfile {
  /** Methods the server has; the others answer UNIMPLEMENTED (WIRE §1). */
  methods: ReadonlySet<AuthMethod>;
  /** PingResponse ServerFeatures (3) and ProxyPublicAddr (4) exist (WIRE §2, 6.2.1+). */
  pingFeatures: boolean;
  /** RequestStateSetter Delegator (3) exists (WIRE §2, 4.3.0+). */
  delegator: boolean;
  /** RequestReason/ResolveReason/annotations and setter Reason/Annotations/Roles exist (WIRE §2–3, 4.4.4+). */
  reasons: boolean;
  /** Thresholds, reviews, suggested reviewers exist (WIRE §3, 6.2.1+). */
  reviews: boolean;
  /**
   * `AccessReview.submitted_on_behalf_of_author` (12) is honoured for callers whose role has
   * `review_requests.submit_for_users` (WIRE §9). Teleport ships it from a 2026 release
   * (tentatively 18.11.0); the "18.0.0" profile stands for that newest server line.
   */
  reviewsOnBehalf: boolean;
  /**
   * Access monitoring rules (16+): the resource, its service and its watch kind
   * (api/proto/teleport/accessmonitoringrules/v1).
   */
  accessMonitoringRules: boolean;
  /** 18.0 resource fields: Metadata.Revision instead of Metadata.ID, MaxDuration, SessionTTL … (WIRE §3). */
  modern: boolean;
  /** `<non-hex>.teleport.cluster.local` SNI aborts the handshake (WIRE §7, 4.3–6.2; assumed for 4.2.8). */
  strictSni: boolean;
  /** Client keepalive pings are held to this minimum interval (ping-policy.ts, 4.4+); none before. */
  pingMinTimeMs: number | undefined;
}

const COMMON_METHODS: AuthMethod[] = [
  "Ping",
  "WatchEvents",
  "DeleteAccessRequest",
  "SetAccessRequestState",
  "GetPluginData",
  "UpdatePluginData",
  "GetUser",
];

/** WIRE §1 method table, one column per supported profile. */
export const VERSION_PROFILES: Record<TeleportVersion, VersionProfile> = {
  "4.2.8": {
    methods: new Set([...COMMON_METHODS, "GetAccessRequests", "CreateAccessRequest"]),
    pingFeatures: false,
    delegator: false,
    reasons: false,
    reviews: false,
    reviewsOnBehalf: false,
    accessMonitoringRules: false,
    modern: false,
    strictSni: true,
    pingMinTimeMs: undefined,
  },
  "6.2.1": {
    methods: new Set([...COMMON_METHODS, "GetAccessRequests", "CreateAccessRequest", "SubmitAccessReview"]),
    pingFeatures: true,
    delegator: true,
    reasons: true,
    reviews: true,
    reviewsOnBehalf: false,
    accessMonitoringRules: false,
    modern: false,
    strictSni: true,
    pingMinTimeMs: TELEPORT_PING_MIN_TIME_MS,
  },
  "18.0.0": {
    methods: new Set([
      ...COMMON_METHODS,
      "GetAccessRequestsV2",
      "ListAccessRequests",
      "CreateAccessRequestV2",
      "SubmitAccessReview",
    ]),
    pingFeatures: true,
    delegator: true,
    reasons: true,
    reviews: true,
    reviewsOnBehalf: true,
    accessMonitoringRules: true,
    modern: true,
    strictSni: false,
    pingMinTimeMs: TELEPORT_PING_MIN_TIME_MS,
  },
};

/**
 * A Teleport auth server stand-in for tests and the demo: a real @grpc/grpc-js server on
 * loopback behind real mutual TLS, speaking `proto.AuthService` with the semantics recorded in
 * ../../../shared/design/TELEPORT-WIRE.md (cited below as "WIRE §n") for one version profile
 * (4.2.8, 6.2.1 or 18.0.0). Behaviour that WIRE.md does not record is modelled on Teleport's
 * own Go sources (auth_with_roles.go, services/local/dynamic_access.go, types/access_request.go,
 * services/plugin_data.go) and says so where it is used.
 *
 * Transport: Teleport asks for a client certificate but accepts connections without one
 * (Go's VerifyClientCertIfGiven, WIRE §7). Node's TLS server has no such mode (grpc-js's
 * `createSsl(…, false)` does not even ask for a certificate, `true` refuses callers without
 * one), so TLS is terminated here with `tls.Server` (requestCert, verification done by us) and
 * each authenticated socket is handed to grpc-js through a connection injector. That also gives
 * us the listening socket for the fault hooks (refuse, restart on the same port).
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { clone, create, toBinary } from "@bufbuild/protobuf";
import {
  EmptySchema,
  type Timestamp,
  TimestampSchema,
  timestampDate,
  timestampFromDate,
} from "@bufbuild/protobuf/wkt";
import {
  type ConnectionInjector,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import {
  AccessRequestSort,
  type AccessReviewSubmission,
  AuthService,
  type Event,
  EventSchema,
  FeaturesSchema,
  type GetUserRequest,
  type ListAccessRequestsRequest,
  type ListAccessRequestsResponse,
  ListAccessRequestsResponseSchema,
  Operation,
  type PingResponse,
  PingResponseSchema,
  type RequestID,
  type RequestStateSetter,
  type Watch,
} from "../teleport/gen/teleport/authservice_pb.js";
import {
  type AccessRequestFilter,
  AccessRequestFilterSchema,
  type AccessRequestV3,
  AccessRequestV3Schema,
  type AccessReview,
  AccessReviewSchema,
  type AccessReviewThreshold,
  AccessReviewThresholdSchema,
  type LabelValues,
  LabelValuesSchema,
  MetadataSchema,
  type PluginDataFilter,
  type PluginDataUpdateParams,
  PluginDataV3Schema,
  RequestState,
  ResourceHeaderSchema,
  StringValuesSchema,
  type ThresholdIndexSets,
  ThresholdIndexSetsSchema,
  type UserV2,
  UserV2Schema,
} from "../teleport/gen/teleport/types_pb.js";
import { grpcDefinition } from "../teleport/grpc-service.js";
import {
  type CertAndKey,
  type ClusterPki,
  createClusterPki,
  type IdentityFilePaths,
  type IdentityFiles,
  identityFiles,
  issueServerCert,
  TELEPORT_SERVER_NAME,
  type UserCertOptions,
  writeIdentityFiles,
} from "./pki.js";

// ---------------------------------------------------------------------------------------------
// Versions

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

interface VersionProfile {
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
  /** 18.0 resource fields: Metadata.Revision instead of Metadata.ID, MaxDuration, SessionTTL … (WIRE §3). */
  modern: boolean;
  /** `<non-hex>.teleport.cluster.local` SNI aborts the handshake (WIRE §7, 4.3–6.2; assumed for 4.2.8). */
  strictSni: boolean;
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
    modern: false,
    strictSni: true,
  },
  "6.2.1": {
    methods: new Set([...COMMON_METHODS, "GetAccessRequests", "CreateAccessRequest", "SubmitAccessReview"]),
    pingFeatures: true,
    delegator: true,
    reasons: true,
    reviews: true,
    reviewsOnBehalf: false,
    modern: false,
    strictSni: true,
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
    modern: true,
    strictSni: false,
  },
};

// ---------------------------------------------------------------------------------------------
// Permissions

export type AccessRequestVerb = "list" | "read" | "update" | "create" | "delete";
export type PluginDataVerb = "list" | "read" | "update";
export type UserVerb = "list" | "read";

/** What one role allows; a stand-in for Teleport role `rules` and `review_requests`. */
export interface RolePermissions {
  /** Verbs on resource `access_request`. */
  accessRequest: AccessRequestVerb[];
  /** Verbs on resource `access_plugin_data` (an alternative to the same verbs on `access_request`). */
  pluginData?: PluginDataVerb[];
  /** `allow.review_requests` is non-empty: the role may submit reviews (for any request but its own). */
  review?: boolean;
  /** Verbs on resource `user` (GetUser of another user needs `read`; one's own user needs none). */
  user?: UserVerb[];
  /** `allow.review_requests.submit_for_users`: users the role may submit reviews for; `*` = anyone (WIRE §9). */
  submitForUsers?: string[];
}

/** Builtin role whose holders may submit reviews for others (WIRE §9 "older servers"). */
export const BUILTIN_ADMIN_ROLE = "Admin";

const ALL_ACCESS_REQUEST_VERBS: AccessRequestVerb[] = ["list", "read", "update", "create", "delete"];
const PLUGIN_ROLE: RolePermissions = {
  accessRequest: ["list", "read", "update"],
  pluginData: ["update"],
  user: ["read"],
};

/**
 * Default roles: the plugin roles Teleport's docs tell operators to create (list/read/update on
 * access_request, update on plugin data), a reviewer, a requester with no rules (users may always
 * create and see their own pending requests) and the builtin Admin with everything.
 */
export const DEFAULT_ROLES: Record<string, RolePermissions> = {
  "access-plugin": PLUGIN_ROLE,
  "access-plugin-mattermost": PLUGIN_ROLE,
  /** Preset role of plugins that submit reviews for users (WIRE §9 "preset role"). */
  "access-plugin-with-review": { ...PLUGIN_ROLE, submitForUsers: ["*"] },
  reviewer: { accessRequest: ["list", "read"], review: true },
  requester: { accessRequest: [] },
  [BUILTIN_ADMIN_ROLE]: {
    accessRequest: ALL_ACCESS_REQUEST_VERBS,
    pluginData: ["list", "read", "update"],
    review: true,
    user: ["list", "read"],
  },
};

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * A failure with the gRPC status Teleport's `trail.ToGRPC` would send (WIRE §6). The tctl-like
 * API throws these too, so tests can assert the same codes either way.
 */
export class TeleportStandinError extends Error {
  override readonly name = "TeleportStandinError";
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
  }
}

const notFound = (details: string) => new TeleportStandinError(status.NOT_FOUND, details);
const alreadyExists = (details: string) => new TeleportStandinError(status.ALREADY_EXISTS, details);
const accessDenied = (details: string) => new TeleportStandinError(status.PERMISSION_DENIED, details);
const compareFailed = (details: string) => new TeleportStandinError(status.FAILED_PRECONDITION, details);
const badParameter = (details: string) => new TeleportStandinError(status.INVALID_ARGUMENT, details);
const notImplemented = (details: string) => new TeleportStandinError(status.UNIMPLEMENTED, details);

// ---------------------------------------------------------------------------------------------
// Public types

/** The authenticated caller, from the verified client certificate (WIRE §7 "client cert subject"). */
export interface CallerIdentity {
  user: string;
  roles: string[];
}

export interface CallRecord {
  /** Go method name, e.g. `GetAccessRequests`. */
  method: AuthMethod;
  /** Teleport user of the client certificate; undefined for a caller without one (Nop identity). */
  caller: string | undefined;
  at: Date;
  /** gRPC status the call ended with; undefined while it runs (a watch stream, a delayed call). */
  code?: status;
  details?: string;
}

export type StoreChange =
  | { type: "put"; id: string; request: AccessRequestV3 }
  | { type: "delete"; id: string; reason: "deleted" | "expired" };

export interface AuditRecord {
  event:
    | "access_request.create"
    | "access_request.update"
    | "access_request.review"
    | "access_request.delete";
  id: string;
  /** Who made the call (undefined for the tctl-like API, which acts as the local admin). */
  by: string | undefined;
  state?: keyof typeof RequestState;
  /** `RequestStateSetter.Delegator`: Teleport keeps it in the audit log only, not on the request. */
  delegator?: string;
  reason?: string;
  at: Date;
}

export interface StandinEvents {
  call: [CallRecord];
  change: [StoreChange];
  pluginData: [{ id: string; plugin: string; data: Record<string, string> | undefined }];
  /** A TLS handshake was refused (certificate from an unknown CA, bad SNI …). */
  tlsRejected: [{ reason: string }];
}

export interface Thresholds {
  approve: number;
  deny: number;
}

export interface TeleportStandinOptions {
  version?: TeleportVersion;
  clusterName?: string;
  /** Port on 127.0.0.1 (default 0 = any free port). */
  port?: number;
  /** Reuse a PKI (e.g. across stand-in instances); default a fresh one for `clusterName`. */
  pki?: ClusterPki;
  /** PingResponse.ServerFeatures.AdvancedAccessWorkflows (6.2+; default false, as in OSS). */
  advancedAccessWorkflows?: boolean;
  /** PingResponse.ProxyPublicAddr (6.2+; default `<cluster>:3080`). */
  proxyPublicAddr?: string;
  /** Role table, merged over DEFAULT_ROLES. */
  roles?: Record<string, RolePermissions>;
  /** Known users and their roles (review authors are checked against it); issued identities are added. */
  users?: Record<string, string[]>;
  /** Thresholds given to requests created over gRPC (default 1 approval / 1 denial). */
  defaultThresholds?: Thresholds;
  /** Delay before every unary call is answered. */
  delayMs?: number;
  /** Version string Ping reports instead of `version`'s (e.g. "4.2.3", to test the minimum check). */
  reportedVersion?: string;
  /** How often the expiry sweep runs (default 1000 ms; 0 = only when `expireDue()` is called). */
  expiryIntervalMs?: number;
  now?: () => Date;
  newId?: () => string;
}

export interface CreateRequestInput {
  user: string;
  roles: string[];
  /** Request ID (default from the id generator). */
  id?: string;
  reason?: string;
  suggestedReviewers?: string[];
  /** How long the request stays pending before it expires (Metadata.Expires; default 1 h). */
  ttlMs?: number;
  /** How long granted access would last (Spec.Expires; default 30 h). */
  accessTtlMs?: number;
  thresholds?: Thresholds;
  state?: "PENDING" | "APPROVED" | "DENIED";
}

export interface ResolveInput {
  reason?: string;
  delegator?: string;
  /** Approve only these roles (a subset of the requested ones). */
  roles?: string[];
}

export interface ReviewInput {
  author: string;
  state: "APPROVED" | "DENIED";
  reason?: string;
  /** Default: now. Pass `null` to leave it unset (sent as 0001-01-01 on ≤6.2, WIRE §4). */
  created?: Date | null;
}

export interface RestartOptions {
  /** Time the port stays closed between stop and start. */
  downtimeMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Constants and small helpers

/**
 * A list answer (AccessRequests, PluginDataSeq: one repeated message field, number 1) whose
 * bytes the stand-in put together from per-item encodings it keeps while an item is unchanged:
 * exactly what toBinary writes, without encoding thousands of unchanged items on every listing
 * (protobuf-es took ~40 ms per 1,000 requests, far more than an auth server).
 */
class EncodedList {
  readonly bytes: Buffer;

  constructor(items: readonly Uint8Array[]) {
    const parts: Uint8Array[] = [];
    for (const item of items) parts.push(Uint8Array.of(0x0a), varint(item.length), item);
    this.bytes = Buffer.concat(parts);
  }
}

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}

const KIND_ACCESS_REQUEST = "access_request";
const KIND_PLUGIN_DATA = "plugin_data";
const KIND_ACCESS_PLUGIN_DATA = "access_plugin_data";
const KIND_USER = "user";
const V3 = "v3";
const DEFAULT_NAMESPACE = "default";
const HOUR_MS = 3_600_000;
/** Pending requests expire after an hour (WIRE §8: Metadata.Expires = created + 1 h). */
const PENDING_TTL_MS = HOUR_MS;
/** Granted access lasts 30 h by default (WIRE §8: Spec.Expires = created + 30 h). */
const ACCESS_TTL_MS = 30 * HOUR_MS;
/** Plugin data outlives the request's access expiry by an hour (WIRE §3 "Expect semantics"). */
const PLUGIN_DATA_GRACE_MS = HOUR_MS;
/** Go's zero time.Time on the wire, for nullable=false timestamps left unset (WIRE §4). */
const GO_ZERO_TIME_SECONDS = -62135596800n;
const DEFAULT_PAGE_SIZE = 1000;
const TELEPORT_SNI_SUFFIX = `.${TELEPORT_SERVER_NAME}`;

function goZeroTime(): Timestamp {
  return create(TimestampSchema, { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 });
}

function isGoZeroTime(timestamp: Timestamp | undefined): boolean {
  return timestamp === undefined || timestamp.seconds === GO_ZERO_TIME_SECONDS;
}

function toDate(timestamp: Timestamp | undefined): Date | undefined {
  return isGoZeroTime(timestamp) ? undefined : timestampDate(timestamp as Timestamp);
}

function stateName(state: RequestState): keyof typeof RequestState {
  return (RequestState[state] ?? String(state)) as keyof typeof RequestState;
}

function emptyLabelValues(): LabelValues {
  return create(LabelValuesSchema);
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** Reads CN and O from a Node peer certificate subject, where repeated attributes become arrays. */
function identityFromSubject(subject: unknown): CallerIdentity | undefined {
  if (typeof subject !== "object" || subject === null) return undefined;
  const fields = subject as Record<string, string | string[] | undefined>;
  const values = (key: string) => {
    const value = fields[key];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  const user = values("CN")[0];
  return user ? { user, roles: values("O") } : undefined;
}

interface ParsedRequestFilter {
  id: string;
  user: string;
  state: RequestState;
}

function matchesFilter(request: AccessRequestV3, filter: ParsedRequestFilter): boolean {
  if (filter.id !== "" && request.metadata?.name !== filter.id) return false;
  if (filter.user !== "" && request.spec?.user !== filter.user) return false;
  if (filter.state !== RequestState.NONE && request.spec?.state !== filter.state) return false;
  return true;
}

/**
 * WatchKind.Filter → AccessRequestFilter, as Teleport's `FromMap` does it (WIRE §5): keys `id`,
 * `user`, `state` (enum name); anything else is BadParameter `unknown filter key <k>`.
 */
function parseWatchFilter(filter: Record<string, string>, version: TeleportVersion): ParsedRequestFilter {
  const parsed: ParsedRequestFilter = { id: "", user: "", state: RequestState.NONE };
  for (const [key, value] of Object.entries(filter)) {
    switch (key) {
      case "id":
        parsed.id = value;
        break;
      case "user":
        parsed.user = value;
        break;
      case "state": {
        const states = [
          "NONE",
          "PENDING",
          "APPROVED",
          "DENIED",
          ...(version === "18.0.0" ? ["PROMOTED"] : []),
        ];
        if (!states.includes(value)) throw badParameter(`unknown request state: "${value}"`);
        parsed.state = RequestState[value as keyof typeof RequestState];
        break;
      }
      default:
        throw badParameter(`unknown filter key ${key}`);
    }
  }
  return parsed;
}

interface StoredPluginData {
  /** Plugin name → key → value. */
  entries: Map<string, Map<string, string>>;
  /** Fixed at the first write: access expiry + 1 h (WIRE §3). */
  expires: Date;
  resourceId: bigint;
}

interface ActiveWatch {
  call: ServerWritableStream<Watch, Event>;
  kinds: { name: string; filter: ParsedRequestFilter }[];
  record: CallRecord;
}

/** Ends a server stream with a status, the way grpc-js expects it (an `error` event on the call). */
function endStream(call: ServerWritableStream<unknown, unknown>, error: TeleportStandinError): void {
  call.emit("error", { code: error.code, details: error.details });
}

// ---------------------------------------------------------------------------------------------
// The stand-in

export class TeleportStandin extends EventEmitter<StandinEvents> {
  readonly version: TeleportVersion;
  readonly clusterName: string;
  readonly pki: ClusterPki;
  /** Every gRPC call received, in arrival order. */
  readonly calls: CallRecord[] = [];
  /** What Teleport's audit log would record for request changes (delegator, reason, actor). */
  readonly audit: AuditRecord[] = [];
  /** Unary answer delay, changeable at run time. */
  delayMs: number;

  private readonly profile: VersionProfile;
  private readonly roles: Record<string, RolePermissions>;
  private readonly users = new Map<string, string[]>();
  /** Traits per user (UserSpecV2.Traits), e.g. the Mattermost user id a plugin maps from. */
  private readonly traits = new Map<string, Record<string, string[]>>();
  private readonly requests = new Map<string, AccessRequestV3>();
  private readonly pluginDataStore = new Map<string, StoredPluginData>();
  /** Encoded projections of stored requests; stored requests are replaced, never changed. */
  private readonly encodedRequests = new WeakMap<AccessRequestV3, Uint8Array>();
  /** Encoded plugin data per request id, valid while its resource id is the one noted. */
  private readonly encodedPluginData = new Map<string, { resourceId: bigint; bytes: Uint8Array }>();
  private readonly watches = new Set<ActiveWatch>();
  private readonly sockets = new Set<Socket>();
  /** Running `sleep`s, so `stop()` can end them at once. */
  private readonly sleeps = new Map<NodeJS.Timeout, () => void>();
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly defaultThresholds: Thresholds;
  private readonly advancedAccessWorkflows: boolean;
  private readonly proxyPublicAddr: string;
  private readonly expiryIntervalMs: number;
  private readonly reportedVersion: string | undefined;
  private serverCert: CertAndKey | undefined;
  private listener: tls.Server | undefined;
  private grpcServer: Server | undefined;
  private injector: ConnectionInjector | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private boundPort = 0;
  private resourceCounter = 0n;
  private stopped = false;

  private constructor(options: TeleportStandinOptions, pki: ClusterPki) {
    super();
    this.version = options.version ?? "6.2.1";
    this.reportedVersion = options.reportedVersion;
    this.profile = VERSION_PROFILES[this.version];
    this.clusterName = pki.clusterName;
    this.pki = pki;
    this.roles = { ...DEFAULT_ROLES, ...options.roles };
    for (const [user, roles] of Object.entries(options.users ?? {})) this.users.set(user, roles);
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? (() => randomUUID());
    this.defaultThresholds = options.defaultThresholds ?? { approve: 1, deny: 1 };
    this.advancedAccessWorkflows = options.advancedAccessWorkflows ?? false;
    this.proxyPublicAddr = options.proxyPublicAddr ?? `${pki.clusterName}:3080`;
    this.delayMs = options.delayMs ?? 0;
    this.expiryIntervalMs = options.expiryIntervalMs ?? 1000;
  }

  /** Creates the PKI (unless given), issues the server certificate and starts listening. */
  static async start(options: TeleportStandinOptions = {}): Promise<TeleportStandin> {
    const pki = options.pki ?? (await createClusterPki(options.clusterName ?? "teleport.example.com"));
    const standin = new TeleportStandin(options, pki);
    standin.serverCert = await issueServerCert(pki);
    await standin.openTransport(options.port ?? 0);
    if (standin.expiryIntervalMs > 0) {
      standin.expiryTimer = setInterval(() => standin.expireDue(), standin.expiryIntervalMs);
      standin.expiryTimer.unref();
    }
    return standin;
  }

  /** `127.0.0.1:<port>`, what the daemon's `auth_server`/`addr` should hold. */
  get addr(): string {
    return `127.0.0.1:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Host CA certificate PEM: the contents of `auth.cas`. */
  get caPem(): string {
    return this.pki.hostCa.cert;
  }

  /** A `tctl auth sign --format=tls` identity for `user`; also registers the user with these roles. */
  async issueIdentity(
    user: string,
    roles: string[],
    options: Omit<UserCertOptions, "user" | "roles"> = {},
  ): Promise<IdentityFiles> {
    this.users.set(user, roles);
    return identityFiles(this.pki, user, roles, options);
  }

  /** Like `issueIdentity` but writes `auth.crt`, `auth.key`, `auth.cas` into `dir`. */
  async writeIdentity(
    dir: string,
    user: string,
    roles: string[],
    options: Omit<UserCertOptions, "user" | "roles"> = {},
  ): Promise<IdentityFilePaths> {
    this.users.set(user, roles);
    return writeIdentityFiles(dir, this.pki, user, roles, options);
  }

  /** Registers (or replaces) a Teleport user, e.g. a review author that has no identity. */
  addUser(user: string, roles: string[], traits: Record<string, string[]> = {}): void {
    this.users.set(user, roles);
    this.traits.set(user, traits);
  }

  // -------------------------------------------------------------------------------------------
  // tctl-like API: acts on the store directly, as the local admin, with Teleport's rules.

  /** Creates a request like `tctl request create`; returns it as this version would send it. */
  createRequest(input: CreateRequestInput): AccessRequestV3 {
    const state = RequestState[input.state ?? "PENDING"];
    const request = create(AccessRequestV3Schema, {
      kind: KIND_ACCESS_REQUEST,
      version: V3,
      metadata: { name: input.id ?? this.newId() },
      spec: {
        user: input.user,
        roles: input.roles,
        state,
        requestReason: input.reason ?? "",
        suggestedReviewers: input.suggestedReviewers ?? [],
      },
    });
    const stored = this.insertRequest(request, {
      pendingTtlMs: input.ttlMs ?? PENDING_TTL_MS,
      accessTtlMs: input.accessTtlMs ?? ACCESS_TTL_MS,
      thresholds: input.thresholds ?? this.defaultThresholds,
      by: undefined,
    });
    return this.project(stored);
  }

  /** `tctl request approve`: SetAccessRequestState(APPROVED). */
  approve(id: string, input: ResolveInput = {}): AccessRequestV3 {
    return this.project(this.setState(id, RequestState.APPROVED, input, undefined));
  }

  /** `tctl request deny`: SetAccessRequestState(DENIED). */
  deny(id: string, input: ResolveInput = {}): AccessRequestV3 {
    return this.project(this.setState(id, RequestState.DENIED, input, undefined));
  }

  /** `tctl request review`: a review by `author` (not permission-checked, unlike over gRPC). */
  review(id: string, input: ReviewInput): AccessRequestV3 {
    if (!this.profile.reviews) throw notImplemented(`reviews do not exist in Teleport ${this.version}`);
    const review = create(AccessReviewSchema, {
      author: input.author,
      proposedState: RequestState[input.state],
      reason: input.reason ?? "",
    });
    const created = input.created === undefined ? this.now() : input.created;
    if (created !== null) review.created = timestampFromDate(created);
    return this.project(this.applyReview(id, review, undefined));
  }

  /** `tctl request rm`. */
  deleteRequest(id: string): void {
    this.removeRequest(id, undefined);
  }

  getRequest(id: string): AccessRequestV3 | undefined {
    const request = this.requests.get(id);
    return request && this.project(request);
  }

  listRequests(): AccessRequestV3[] {
    return this.sortedRequests().map((request) => this.project(request));
  }

  /** A plugin's stored data for a request (still readable after the request is gone, WIRE §3). */
  pluginData(id: string, plugin: string): Record<string, string> | undefined {
    const entry = this.pluginDataStore.get(id)?.entries.get(plugin);
    return entry && Object.fromEntries(entry);
  }

  /** Deletes requests and plugin data whose expiry has passed; returns the expired request IDs. */
  expireDue(): string[] {
    const now = this.now().getTime();
    const expired: string[] = [];
    for (const [id, request] of this.requests) {
      const expires = toDate(request.metadata?.expires);
      if (expires && expires.getTime() <= now) {
        this.requests.delete(id);
        expired.push(id);
        // Backend TTL expiry surfaces as an ordinary delete event (WIRE §5 "delete / expiry").
        this.broadcastDelete(id);
        this.emitChange({ type: "delete", id, reason: "expired" });
      }
    }
    for (const [id, data] of this.pluginDataStore) {
      if (data.expires.getTime() <= now) this.pluginDataStore.delete(id);
    }
    return expired;
  }

  /**
   * Resolves with the first truthy value `probe` returns, re-checked after every call and store
   * change; rejects after `timeoutMs`.
   */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 5000, what = "condition"): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        let value: T | undefined | null | false;
        try {
          value = probe();
        } catch (error) {
          finish();
          reject(error);
          return;
        }
        if (value !== undefined && value !== null && value !== false) {
          finish();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.off("call", check);
        this.off("change", check);
        this.off("pluginData", check);
      };
      this.on("call", check);
      this.on("change", check);
      this.on("pluginData", check);
      check();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Fault injection

  /** Number of open WatchEvents streams. */
  get activeWatchCount(): number {
    return this.watches.size;
  }

  /** Ends every open watch stream with UNAVAILABLE, as when the auth server's watcher closes. */
  dropWatchStreams(details = "watcher closed"): number {
    const count = this.watches.size;
    for (const watch of [...this.watches]) {
      this.finishCall(watch.record, status.UNAVAILABLE, details);
      this.watches.delete(watch);
      endStream(watch.call, new TeleportStandinError(status.UNAVAILABLE, details));
    }
    return count;
  }

  /**
   * Stops accepting connections (clients get ECONNREFUSED) or accepts again on the same port.
   * Open connections are kept unless `dropExisting`.
   */
  async refuseConnections(on: boolean, options: { dropExisting?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    if (on) {
      this.closeListener();
      if (options.dropExisting) this.destroySockets();
    } else if (!this.listener) {
      await this.openListener(this.boundPort);
    }
  }

  /** Stops the gRPC server (all connections and streams die) and starts it on the same port, store kept. */
  async restart(options: RestartOptions = {}): Promise<void> {
    this.closeTransport();
    if (options.downtimeMs) await this.sleep(options.downtimeMs);
    if (!this.stopped) await this.openTransport(this.boundPort);
  }

  /** Force-stops everything: listener, connections, streams, timers. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    for (const [timer, wake] of this.sleeps) {
      clearTimeout(timer);
      wake();
    }
    this.sleeps.clear();
    this.closeTransport();
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  private async openTransport(port: number): Promise<void> {
    const server = new Server();
    const definition = grpcDefinition(AuthService);
    for (const method of [definition.getAccessRequests, definition.getPluginData]) {
      const serialize = method.responseSerialize as (message: unknown) => Buffer;
      (method as { responseSerialize: (message: unknown) => Buffer }).responseSerialize = (message) =>
        message instanceof EncodedList ? message.bytes : serialize(message);
    }
    server.addService(definition as unknown as ServiceDefinition, this.serviceImplementation());
    this.grpcServer = server;
    this.injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    await this.openListener(port);
  }

  private closeTransport(): void {
    this.closeListener();
    for (const watch of this.watches) this.finishCall(watch.record, status.UNAVAILABLE, "connection closed");
    this.watches.clear();
    this.destroySockets();
    this.injector?.destroy();
    this.injector = undefined;
    this.grpcServer?.forceShutdown();
    this.grpcServer = undefined;
  }

  private openListener(port: number): Promise<void> {
    const cert = this.serverCert;
    if (!cert) throw new Error("server certificate not issued");
    const listener = tls.createServer({
      cert: cert.cert,
      key: cert.key,
      // Client certificates are checked against the User CA only (WIRE §7 "client certificate").
      ca: this.pki.userCa.cert,
      requestCert: true,
      rejectUnauthorized: false, // verified below: a certificate is optional but must be valid
      ALPNProtocols: ["h2"], // WIRE §7 "server ALPN"
      SNICallback: (serverName, done) => done(this.checkServerName(serverName), undefined),
      // Go sets TCP_NODELAY on every connection; without it Nagle holds back small answers
      // while an earlier one is unacknowledged, up to the peer's delayed-ACK timeout (40 ms).
      noDelay: true,
    });
    listener.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      socket.on("error", () => {}); // resets are normal here; the close handler does the bookkeeping
    });
    listener.on("secureConnection", (socket: tls.TLSSocket) => this.acceptSecureConnection(socket));
    listener.on("tlsClientError", (error: Error) => this.emit("tlsRejected", { reason: error.message }));
    return new Promise((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(port, "127.0.0.1", () => {
        listener.off("error", reject);
        const address = listener.address();
        this.boundPort = typeof address === "object" && address ? address.port : port;
        this.listener = listener;
        resolve();
      });
    });
  }

  private closeListener(): void {
    this.listener?.close();
    this.listener = undefined;
  }

  private destroySockets(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /**
   * Teleport's SNI rule (WIRE §7 "server SNI handling"): `<hex(cluster)>.teleport.cluster.local`
   * selects the cluster; any other `<x>.teleport.cluster.local` aborts the handshake on 4.3–6.2.
   */
  private checkServerName(serverName: string): Error | null {
    if (!this.profile.strictSni || !serverName.endsWith(TELEPORT_SNI_SUFFIX)) return null;
    const prefix = serverName.slice(0, -TELEPORT_SNI_SUFFIX.length);
    if (prefix === Buffer.from(this.clusterName).toString("hex")) return null;
    return new Error(`unsupported server name ${serverName}`);
  }

  /** VerifyClientCertIfGiven (WIRE §7): no certificate = Nop identity; an unverifiable one is refused. */
  private acceptSecureConnection(socket: tls.TLSSocket): void {
    const presented = Object.keys(socket.getPeerCertificate()).length > 0;
    if (presented && !socket.authorized) {
      this.emit("tlsRejected", { reason: String(socket.authorizationError) });
      socket.destroy();
      return;
    }
    if (!this.injector) {
      socket.destroy();
      return;
    }
    this.injector.injectConnection(socket);
  }

  /** A timer `stop()` cuts short, so nothing outlives the stand-in. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeps.delete(timer);
        resolve();
      }, ms);
      this.sleeps.set(timer, resolve);
    });
  }

  // -------------------------------------------------------------------------------------------
  // gRPC plumbing

  private serviceImplementation(): UntypedServiceImplementation {
    return {
      ping: this.unary("Ping", () => this.ping()),
      watchEvents: this.serverStream("WatchEvents", (call, caller, record) =>
        this.watchEvents(call, caller, record),
      ),
      getAccessRequests: this.unary("GetAccessRequests", (filter: AccessRequestFilter, caller) =>
        this.getAccessRequests(filter, caller),
      ),
      getAccessRequestsV2: this.serverStream(
        "GetAccessRequestsV2",
        (call: ServerWritableStream<AccessRequestFilter, AccessRequestV3>, caller, record) => {
          for (const request of this.visibleRequests(call.request, caller)) call.write(this.project(request));
          this.finishCall(record, status.OK);
          call.end();
        },
      ),
      listAccessRequests: this.unary("ListAccessRequests", (req: ListAccessRequestsRequest, caller) =>
        this.listAccessRequests(req, caller),
      ),
      createAccessRequest: this.unary("CreateAccessRequest", (req: AccessRequestV3, caller) => {
        this.createFromClient(req, caller, false);
        return create(EmptySchema);
      }),
      createAccessRequestV2: this.unary("CreateAccessRequestV2", (req: AccessRequestV3, caller) =>
        this.createFromClient(req, caller, true),
      ),
      deleteAccessRequest: this.unary("DeleteAccessRequest", (req: RequestID, caller) => {
        this.requireVerbs(caller, KIND_ACCESS_REQUEST, "delete");
        this.removeRequest(req.id, caller?.user);
        return create(EmptySchema);
      }),
      setAccessRequestState: this.unary("SetAccessRequestState", (req: RequestStateSetter, caller) => {
        this.setAccessRequestState(req, caller);
        return create(EmptySchema);
      }),
      submitAccessReview: this.unary("SubmitAccessReview", (req: AccessReviewSubmission, caller) =>
        this.submitAccessReview(req, caller),
      ),
      getPluginData: this.unary("GetPluginData", (filter: PluginDataFilter, caller) =>
        this.getPluginData(filter, caller),
      ),
      updatePluginData: this.unary("UpdatePluginData", (params: PluginDataUpdateParams, caller) => {
        this.updatePluginData(params, caller);
        return create(EmptySchema);
      }),
      getUser: this.unary("GetUser", (req: GetUserRequest, caller) => this.getUser(req, caller)),
    };
  }

  private identify(call: Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">) {
    return identityFromSubject(call.getAuthContext()?.sslPeerCertificate?.subject);
  }

  private startCall(method: AuthMethod, caller: CallerIdentity | undefined): CallRecord {
    const record: CallRecord = { method, caller: caller?.user, at: this.now() };
    this.calls.push(record);
    return record;
  }

  private finishCall(record: CallRecord, code: status, details?: string): void {
    if (record.code !== undefined) return;
    record.code = code;
    if (details !== undefined) record.details = details;
    this.emit("call", record);
  }

  /** WIRE §1: a method the version lacks answers UNIMPLEMENTED `unknown method <M> for service proto.AuthService`. */
  private checkImplemented(method: AuthMethod): void {
    if (!this.profile.methods.has(method)) {
      throw notImplemented(`unknown method ${method} for service proto.AuthService`);
    }
  }

  private unary<Req, Res>(
    method: AuthMethod,
    handle: (request: Req, caller: CallerIdentity | undefined) => Res,
  ) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const caller = this.identify(call);
      const record = this.startCall(method, caller);
      const answer = () => {
        try {
          this.checkImplemented(method);
          this.checkRolesExist(method, caller);
          const response = handle(call.request, caller);
          this.finishCall(record, status.OK);
          callback(null, response);
        } catch (error) {
          const failure = this.toStandinError(error);
          this.finishCall(record, failure.code, failure.details);
          callback({ code: failure.code, details: failure.details });
        }
      };
      if (this.delayMs > 0) void this.sleep(this.delayMs).then(() => (this.stopped ? undefined : answer()));
      else answer();
    };
  }

  private serverStream<Req, Res>(
    method: AuthMethod,
    handle: (
      call: ServerWritableStream<Req, Res>,
      caller: CallerIdentity | undefined,
      record: CallRecord,
    ) => void,
  ) {
    return (call: ServerWritableStream<Req, Res>) => {
      const caller = this.identify(call);
      const record = this.startCall(method, caller);
      try {
        this.checkImplemented(method);
        this.checkRolesExist(method, caller);
        handle(call, caller, record);
      } catch (error) {
        const failure = this.toStandinError(error);
        this.finishCall(record, failure.code, failure.details);
        endStream(call, failure);
      }
    };
  }

  /**
   * Teleport's authorizer loads the roles named in the client certificate for every call but
   * Ping; a role deleted since the certificate was issued fails the call with its NotFound.
   */
  private checkRolesExist(method: AuthMethod, caller: CallerIdentity | undefined): void {
    if (method === "Ping" || !caller) return;
    const unknown = caller.roles.find((role) => this.roles[role] === undefined);
    if (unknown !== undefined) throw notFound(`role ${unknown} is not found`);
  }

  private toStandinError(error: unknown): TeleportStandinError {
    if (error instanceof TeleportStandinError) return error;
    // Anything unexpected is trace's "anything else" → UNKNOWN (WIRE §6).
    return new TeleportStandinError(status.UNKNOWN, error instanceof Error ? error.message : String(error));
  }

  // -------------------------------------------------------------------------------------------
  // Permissions (the checks of Teleport's auth_with_roles.go; messages per WIRE §6)

  private roleGrants(caller: CallerIdentity | undefined, grant: (role: RolePermissions) => boolean): boolean {
    return (caller?.roles ?? []).some((role) => {
      const permissions = this.roles[role];
      return permissions !== undefined && grant(permissions);
    });
  }

  private hasVerb(caller: CallerIdentity | undefined, resource: string, verb: string): boolean {
    return this.roleGrants(caller, (role) =>
      resource === KIND_ACCESS_REQUEST
        ? (role.accessRequest as string[]).includes(verb)
        : resource === KIND_ACCESS_PLUGIN_DATA
          ? ((role.pluginData ?? []) as string[]).includes(verb)
          : resource === KIND_USER
            ? ((role.user ?? []) as string[]).includes(verb)
            : false,
    );
  }

  /** AccessDenied `access denied to perform action "<verb>" on "<resource>"` (WIRE §6). */
  private requireVerbs(caller: CallerIdentity | undefined, resource: string, ...verbs: string[]): void {
    for (const verb of verbs) {
      if (!this.hasVerb(caller, resource, verb)) {
        throw accessDenied(`access denied to perform action "${verb}" on "${resource}"`);
      }
    }
  }

  private isAdmin(caller: CallerIdentity | undefined): boolean {
    return caller?.roles.includes(BUILTIN_ADMIN_ROLE) ?? false;
  }

  private canReview(roles: string[]): boolean {
    return this.roleGrants({ user: "", roles }, (role) => role.review === true);
  }

  /**
   * Requests a caller may see: all with list+read; otherwise (auth_with_roles.go, not in WIRE.md)
   * their own, plus every other user's if they may review. Callers without a certificate get none.
   */
  private visibleRequests(
    filter: AccessRequestFilter,
    caller: CallerIdentity | undefined,
  ): AccessRequestV3[] {
    if (!caller) this.requireVerbs(caller, KIND_ACCESS_REQUEST, "list", "read");
    const parsed: ParsedRequestFilter = { id: filter.id, user: filter.user, state: filter.state };
    // An id names at most one request: look it up instead of sorting them all (a click's lookup).
    const byId = filter.id === "" ? undefined : this.requests.get(filter.id);
    const candidates = filter.id === "" ? this.sortedRequests() : byId ? [byId] : [];
    const all = candidates.filter((request) => matchesFilter(request, parsed));
    if (
      this.hasVerb(caller, KIND_ACCESS_REQUEST, "list") &&
      this.hasVerb(caller, KIND_ACCESS_REQUEST, "read")
    ) {
      return all;
    }
    const user = caller?.user;
    if (caller && this.canReview(caller.roles)) return all;
    return all.filter((request) => request.spec?.user === user);
  }

  // -------------------------------------------------------------------------------------------
  // Handlers

  /** WIRE §2 PingResponse; Ping needs no identity (WIRE §7 "server client-auth mode"). */
  private ping(): PingResponse {
    const response = create(PingResponseSchema, {
      clusterName: this.clusterName,
      serverVersion: this.reportedVersion ?? this.version,
    });
    if (this.profile.pingFeatures) {
      response.serverFeatures = create(FeaturesSchema, {
        kubernetes: true,
        app: true,
        db: true,
        oidc: false,
        saml: false,
        accessControls: false,
        advancedAccessWorkflows: this.advancedAccessWorkflows,
        cloud: false,
      });
      response.proxyPublicAddr = this.proxyPublicAddr;
    }
    return response;
  }

  /**
   * WIRE §5: validate kinds and filters (errors end the stream before INIT), send INIT, then
   * PUT/DELETE as the store changes. Filters apply to PUT only; DELETE is always delivered
   * (Teleport's WatchKind.Matches: "we don't have a good model for filtering non-put events").
   */
  private watchEvents(
    call: ServerWritableStream<Watch, Event>,
    caller: CallerIdentity | undefined,
    record: CallRecord,
  ): void {
    const kinds = call.request.kinds;
    if (kinds.length === 0) throw accessDenied("can't setup global watch");
    const parsedKinds: ActiveWatch["kinds"] = [];
    for (const kind of kinds) {
      if (kind.kind !== KIND_ACCESS_REQUEST) {
        // Roles here only grant on access_request, so a non-admin fails the read check like in
        // Teleport; for Admin the stand-in simply does not support other kinds.
        if (!this.isAdmin(caller)) this.requireVerbs(caller, kind.kind, "read");
        throw badParameter(`the Teleport stand-in does not support watching ${JSON.stringify(kind.kind)}`);
      }
      const filter = parseWatchFilter(kind.filter, this.version);
      // Watching only one's own requests needs no rule (auth_with_roles.go NewWatcher).
      if (filter.user === "" || filter.user !== caller?.user) {
        this.requireVerbs(caller, KIND_ACCESS_REQUEST, "read");
      }
      parsedKinds.push({ name: kind.name, filter });
    }
    const watch: ActiveWatch = { call, kinds: parsedKinds, record };
    this.watches.add(watch);
    const forget = () => {
      if (this.watches.delete(watch)) this.finishCall(record, status.CANCELLED);
    };
    call.on("cancelled", forget);
    call.on("close", forget);
    // 18.0 also attaches a WatchStatus (field 43) to INIT; our wire subset does not carry it.
    call.write(create(EventSchema, { type: Operation.INIT }));
  }

  private getAccessRequests(filter: AccessRequestFilter, caller: CallerIdentity | undefined): EncodedList {
    return new EncodedList(
      this.visibleRequests(filter, caller).map((request) => {
        let bytes = this.encodedRequests.get(request);
        if (!bytes) {
          bytes = toBinary(AccessRequestV3Schema, this.project(request));
          this.encodedRequests.set(request, bytes);
        }
        return bytes;
      }),
    );
  }

  /** 18.0 paging: sorted by the requested index, `NextKey` = opaque key of the next page's first item. */
  private listAccessRequests(
    req: ListAccessRequestsRequest,
    caller: CallerIdentity | undefined,
  ): ListAccessRequestsResponse {
    const visible = this.visibleRequests(req.filter ?? create(AccessRequestFilterSchema), caller);
    const sortKey = (request: AccessRequestV3): string => {
      const created = String(toDate(request.spec?.created)?.getTime() ?? 0).padStart(16, "0");
      const id = request.metadata?.name ?? "";
      switch (req.sort) {
        case AccessRequestSort.STATE:
          return `${String(request.spec?.state ?? 0).padStart(2, "0")}/${created}/${id}`;
        case AccessRequestSort.USER:
          return `${request.spec?.user ?? ""}/${created}/${id}`;
        default:
          return `${created}/${id}`;
      }
    };
    const keyed = visible.map((request) => ({ key: sortKey(request), request }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (req.descending) keyed.reverse();
    const startKey =
      req.startKey === "" ? undefined : Buffer.from(req.startKey, "base64url").toString("utf8");
    const from =
      startKey === undefined
        ? keyed
        : keyed.filter(({ key }) => (req.descending ? key <= startKey : key >= startKey));
    const limit = req.limit > 0 ? req.limit : DEFAULT_PAGE_SIZE;
    const page = from.slice(0, limit);
    const next = from[limit];
    return create(ListAccessRequestsResponseSchema, {
      accessRequests: page.map(({ request }) => this.project(request)),
      nextKey: next ? Buffer.from(next.key, "utf8").toString("base64url") : "",
    });
  }

  /**
   * CreateAccessRequest(V2). Users may create pending requests for themselves; anything else
   * needs `create` (auth_with_roles.go). V2 sets the ID server-side and returns the request;
   * a V2 dry run is answered without being stored.
   */
  private createFromClient(
    req: AccessRequestV3,
    caller: CallerIdentity | undefined,
    v2: boolean,
  ): AccessRequestV3 {
    const state = req.spec?.state ?? RequestState.NONE;
    const pending = state === RequestState.NONE || state === RequestState.PENDING;
    if (!this.hasVerb(caller, KIND_ACCESS_REQUEST, "create")) {
      if (!pending || caller === undefined || caller.user !== req.spec?.user) {
        this.requireVerbs(caller, KIND_ACCESS_REQUEST, "create");
      }
    }
    const incoming = clone(AccessRequestV3Schema, req);
    incoming.metadata ??= create(MetadataSchema);
    if (v2) incoming.metadata.name = this.newId();
    if (v2 && incoming.spec?.dryRun) {
      return this.project(this.buildRequest(incoming, this.creationDefaults(caller)));
    }
    return this.project(this.insertRequest(incoming, this.creationDefaults(caller)));
  }

  private creationDefaults(caller: CallerIdentity | undefined) {
    return {
      pendingTtlMs: PENDING_TTL_MS,
      accessTtlMs: ACCESS_TTL_MS,
      thresholds: this.defaultThresholds,
      by: caller?.user,
    };
  }

  private setAccessRequestState(req: RequestStateSetter, caller: CallerIdentity | undefined): void {
    this.requireVerbs(caller, KIND_ACCESS_REQUEST, "update");
    if (this.profile.modern) {
      if (req.state === RequestState.PROMOTED) {
        throw badParameter("state promoted can be only set when promoting to access list");
      }
      const target = this.requests.get(req.id);
      if (target && caller && target.spec?.user === caller.user) {
        throw accessDenied("directly updating the state of your own access requests is not permitted");
      }
    }
    // Fields the version does not know are skipped by its proto3 decoder (WIRE §2 version columns).
    this.setState(
      req.id,
      req.state,
      {
        ...(this.profile.delegator ? { delegator: req.delegator } : {}),
        ...(this.profile.reasons ? { reason: req.reason, roles: req.roles } : {}),
        ...(this.profile.reasons && req.annotations ? { annotations: req.annotations } : {}),
      },
      caller?.user,
    );
  }

  /**
   * SubmitAccessReview (6.2+): the author must be the caller unless the caller holds the builtin
   * Admin role (WIRE §9 "older servers"); the caller then needs review permissions.
   */
  private submitAccessReview(
    req: AccessReviewSubmission,
    caller: CallerIdentity | undefined,
  ): AccessRequestV3 {
    const review = clone(AccessReviewSchema, req.review ?? create(AccessReviewSchema));
    if (this.profile.modern && review.proposedState === RequestState.PROMOTED) {
      throw badParameter("state promoted can be only set when promoting to access list");
    }
    const callerName = caller?.user ?? "";
    if (review.author === "") review.author = callerName;
    // Older servers skip field 12 as unknown (WIRE §9 "older servers").
    const onBehalf = this.profile.reviewsOnBehalf && review.submittedOnBehalfOfAuthor;
    if (!this.isAdmin(caller)) {
      if (review.author !== callerName) {
        if (!onBehalf || !this.maySubmitFor(caller, review.author)) {
          throw accessDenied(`user "${callerName}" cannot submit reviews on behalf of "${review.author}"`);
        }
        // With submit_for_users the caller's own review_requests do not matter (WIRE §9).
        review.submittedBy = callerName;
      } else if (!caller || !this.canReview(caller.roles)) {
        throw accessDenied(`user "${callerName}" cannot submit reviews`);
      }
    }
    // The review is judged with the author's own permissions (services.NewReviewPermissionChecker).
    const authorRoles = review.author === callerName && caller ? caller.roles : this.users.get(review.author);
    if (authorRoles === undefined) throw notFound(`user "${review.author}" is not found`);
    if (!this.canReview(authorRoles)) throw accessDenied(`user "${review.author}" cannot submit reviews`);
    return this.project(this.applyReview(req.requestId, review, caller?.user));
  }

  /** `review_requests.submit_for_users` of any of the caller's roles matches `author` (WIRE §9). */
  private maySubmitFor(caller: CallerIdentity | undefined, author: string): boolean {
    return this.roleGrants(caller, (role) =>
      (role.submitForUsers ?? []).some((pattern) => pattern === "*" || pattern === author),
    );
  }

  /**
   * GetUser (all versions): a user may read themselves; anyone else needs `read` on `user`
   * (auth_with_roles.go). Unknown users are NotFound `user "<name>" is not found`.
   */
  private getUser(req: GetUserRequest, caller: CallerIdentity | undefined): UserV2 {
    if (req.name !== caller?.user) this.requireVerbs(caller, KIND_USER, "read");
    const roles = this.users.get(req.name);
    if (roles === undefined) throw notFound(`user "${req.name}" is not found`);
    const traits = this.traits.get(req.name) ?? {};
    return create(UserV2Schema, {
      kind: KIND_USER,
      version: "v2",
      metadata: { name: req.name, namespace: DEFAULT_NAMESPACE },
      spec: {
        roles: [...roles],
        traits: {
          values: Object.fromEntries(
            Object.entries(traits).map(([key, values]) => [key, create(StringValuesSchema, { values })]),
          ),
        },
      },
    });
  }

  private getPluginData(filter: PluginDataFilter, caller: CallerIdentity | undefined): EncodedList {
    if (filter.kind !== KIND_ACCESS_REQUEST) throw badParameter(`unsupported resource kind "${filter.kind}"`);
    // list/read on access_request also grant them on its plugin data (auth_with_roles.go).
    for (const verb of ["list", "read"]) {
      if (!this.hasVerb(caller, KIND_ACCESS_REQUEST, verb)) {
        this.requireVerbs(caller, KIND_ACCESS_PLUGIN_DATA, verb);
      }
    }
    const ids = filter.resource === "" ? [...this.pluginDataStore.keys()].sort() : [filter.resource];
    const pluginData: Uint8Array[] = [];
    for (const id of ids) {
      const data = this.pluginDataStore.get(id);
      if (!data) continue; // an unknown resource is an empty answer, not NOT_FOUND
      if (filter.plugin !== "" && !data.entries.has(filter.plugin)) continue;
      let encoded = this.encodedPluginData.get(id);
      if (encoded?.resourceId !== data.resourceId) {
        encoded = {
          resourceId: data.resourceId,
          bytes: toBinary(PluginDataV3Schema, this.pluginDataMessage(id, data)),
        };
        this.encodedPluginData.set(id, encoded);
      }
      pluginData.push(encoded.bytes);
    }
    return new EncodedList(pluginData);
  }

  private pluginDataMessage(id: string, data: StoredPluginData) {
    const entries: Record<string, { data: Record<string, string> }> = {};
    for (const [plugin, values] of data.entries) entries[plugin] = { data: Object.fromEntries(values) };
    return create(PluginDataV3Schema, {
      kind: KIND_PLUGIN_DATA,
      subKind: KIND_ACCESS_REQUEST,
      version: V3,
      metadata: {
        name: id,
        namespace: DEFAULT_NAMESPACE,
        expires: timestampFromDate(data.expires),
        ...(this.profile.modern ? { revision: String(data.resourceId) } : { id: data.resourceId }),
      },
      spec: { entries },
    });
  }

  /**
   * UpdatePluginData with Teleport's compare-and-swap (WIRE §3 "Expect semantics"): without an
   * entry every expected value must be ""; otherwise each Expect[k] must equal Data[k] ("" =
   * absent); a mismatch is CompareFailed `expectations not met for field "<k>"`. Set "" deletes a
   * key and an emptied entry is removed. The first write needs the request to exist and fixes the
   * data's expiry at the request's access expiry + 1 h; later writes do not look at the request.
   */
  private updatePluginData(params: PluginDataUpdateParams, caller: CallerIdentity | undefined): void {
    if (params.kind !== KIND_ACCESS_REQUEST) throw badParameter(`unsupported resource kind "${params.kind}"`);
    if (!this.hasVerb(caller, KIND_ACCESS_REQUEST, "update")) {
      this.requireVerbs(caller, KIND_ACCESS_PLUGIN_DATA, "update");
    }
    this.writePluginData(params.resource, params.plugin, params.set, params.expect);
  }

  private writePluginData(
    resource: string,
    plugin: string,
    set: Record<string, string>,
    expect: Record<string, string>,
  ): void {
    let data = this.pluginDataStore.get(resource);
    const creating = data === undefined;
    if (!data) {
      const request = this.requests.get(resource);
      if (!request) throw notFound(`access request "${resource}" not found`);
      const accessExpires = toDate(request.spec?.expires) ?? this.now();
      data = {
        entries: new Map(),
        expires: new Date(accessExpires.getTime() + PLUGIN_DATA_GRACE_MS),
        resourceId: 0n,
      };
    }
    const entry = data.entries.get(plugin);
    // Sorted so the field named in the error does not depend on map order.
    for (const key of Object.keys(expect).sort()) {
      const expected = expect[key] ?? "";
      const actual = entry?.get(key) ?? "";
      if (entry === undefined ? expected !== "" : actual !== expected) {
        throw compareFailed(`expectations not met for field "${key}"`);
      }
    }
    const updated = new Map(entry ?? []);
    for (const [key, value] of Object.entries(set)) {
      if (value === "") updated.delete(key);
      else updated.set(key, value);
    }
    if (updated.size === 0) data.entries.delete(plugin);
    else data.entries.set(plugin, updated);
    data.resourceId = this.nextResourceId();
    if (creating) this.pluginDataStore.set(resource, data);
    this.emit("pluginData", { id: resource, plugin, data: this.pluginData(resource, plugin) });
  }

  // -------------------------------------------------------------------------------------------
  // Store operations shared by gRPC handlers and the tctl-like API

  private nextResourceId(): bigint {
    this.resourceCounter += 1n;
    return this.resourceCounter;
  }

  private sortedRequests(): AccessRequestV3[] {
    return [...this.requests.values()].sort((a, b) => {
      const byCreated = (toDate(a.spec?.created)?.getTime() ?? 0) - (toDate(b.spec?.created)?.getTime() ?? 0);
      return byCreated !== 0 ? byCreated : (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
    });
  }

  /**
   * Fills in what Teleport's CreateAccessRequest sets (WIRE §8; auth.go): created = now, access
   * expiry = now + 30 h (or the earlier one asked for), resource expiry capped at now + 1 h while
   * pending, roles sorted and deduplicated, one default threshold mapped to every role (6.2+).
   */
  private buildRequest(
    incoming: AccessRequestV3,
    options: { pendingTtlMs: number; accessTtlMs: number; thresholds: Thresholds },
  ): AccessRequestV3 {
    const spec = incoming.spec;
    const id = incoming.metadata?.name ?? "";
    if (id === "") throw badParameter("access request id not set");
    if (!spec || spec.user === "") throw badParameter("access request user name not set");
    const roles = sortedUnique(spec.roles);
    if (roles.length === 0) throw badParameter("access request does not specify any roles");
    const now = this.now();
    const defaultAccessExpiry = new Date(now.getTime() + options.accessTtlMs);
    const askedAccessExpiry = toDate(spec.expires);
    const accessExpires =
      askedAccessExpiry && askedAccessExpiry > now && askedAccessExpiry < defaultAccessExpiry
        ? askedAccessExpiry
        : defaultAccessExpiry;
    const state = spec.state === RequestState.NONE ? RequestState.PENDING : spec.state;
    const pendingExpiry = new Date(now.getTime() + options.pendingTtlMs);
    const resourceExpires =
      state === RequestState.PENDING && pendingExpiry < accessExpires ? pendingExpiry : accessExpires;
    const request = create(AccessRequestV3Schema, {
      kind: KIND_ACCESS_REQUEST,
      version: V3,
      metadata: { name: id, namespace: DEFAULT_NAMESPACE, expires: timestampFromDate(resourceExpires) },
      spec: {
        user: spec.user,
        roles,
        state,
        created: timestampFromDate(now),
        expires: timestampFromDate(accessExpires),
        requestReason: spec.requestReason,
        suggestedReviewers: spec.suggestedReviewers,
        requestedResourceIds: spec.requestedResourceIds,
        loginHint: spec.loginHint,
        dryRun: spec.dryRun,
        thresholds: [
          create(AccessReviewThresholdSchema, {
            name: "default",
            approve: options.thresholds.approve,
            deny: options.thresholds.deny,
          }),
        ],
        roleThresholdMapping: Object.fromEntries(
          roles.map((role) => [role, create(ThresholdIndexSetsSchema, { sets: [{ indexes: [0] }] })]),
        ),
      },
    });
    if (this.profile.modern && request.spec) {
      // 18.0's nullable=false MaxDuration/SessionTTL: Teleport derives them from the access expiry.
      request.spec.maxDuration = timestampFromDate(accessExpires);
      request.spec.sessionTtl = timestampFromDate(accessExpires);
    }
    return this.stripUnknownFields(request);
  }

  private insertRequest(
    incoming: AccessRequestV3,
    options: { pendingTtlMs: number; accessTtlMs: number; thresholds: Thresholds; by: string | undefined },
  ): AccessRequestV3 {
    const request = this.buildRequest(incoming, options);
    const id = request.metadata?.name ?? "";
    if (this.requests.has(id)) throw alreadyExists(`access request "${id}" already exists`);
    this.stampRevision(request);
    this.requests.set(id, request);
    this.audit.push({
      event: "access_request.create",
      id,
      by: options.by,
      state: stateName(request.spec?.state ?? RequestState.NONE),
      at: this.now(),
    });
    this.broadcastPut(request);
    return request;
  }

  /**
   * SetAccessRequestState semantics (WIRE §2 RequestStateSetter; dynamic_access.go,
   * types/access_request.go): a DENIED request stays denied (BadParameter for any other state,
   * a repeated denial is a no-op write); an APPROVED one may still be denied. The reason becomes
   * ResolveReason, approving keeps the request until its access expiry; a PUT follows.
   */
  private setState(
    id: string,
    state: RequestState,
    input: ResolveInput & { annotations?: LabelValues },
    by: string | undefined,
  ): AccessRequestV3 {
    if (id === "") throw badParameter("missing request id");
    if (state === RequestState.NONE) throw badParameter("missing request state");
    const roleOverride = input.roles ?? [];
    if (roleOverride.length > 0 && state !== RequestState.APPROVED) {
      throw badParameter(`cannot override roles when setting state: ${stateName(state)}`);
    }
    const current = this.requests.get(id);
    if (!current?.spec) throw notFound(`cannot set state of access request "${id}" (not found)`);
    if (current.spec.state === RequestState.DENIED && state !== RequestState.DENIED) {
      throw badParameter(`cannot set request-state "${stateName(state)}" (already denied)`);
    }
    const request = clone(AccessRequestV3Schema, current);
    const spec = request.spec as NonNullable<AccessRequestV3["spec"]>;
    spec.state = state;
    spec.resolveReason = input.reason ?? "";
    spec.resolveAnnotations = input.annotations ?? emptyLabelValues();
    for (const role of roleOverride) {
      if (!spec.roles.includes(role)) {
        throw badParameter(
          `role "${role}" not in original request, overrides must be a subset of original role list`,
        );
      }
    }
    if (roleOverride.length > 0) spec.roles = sortedUnique(roleOverride);
    if (state === RequestState.APPROVED && request.metadata) request.metadata.expires = spec.expires;
    this.replaceRequest(this.stripUnknownFields(request));
    this.audit.push({
      event: "access_request.update",
      id,
      by,
      state: stateName(state),
      ...(input.delegator ? { delegator: input.delegator } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
      at: this.now(),
    });
    return request;
  }

  /**
   * Review application (types/access_request.go ApplyReview on 6.2, services ApplyAccessReview on
   * 18): proposal must be APPROVED/DENIED; one review per author; a requester cannot review their
   * own request; thresholds decide the state (default 1 approval / 1 denial). On 6.2 a review of
   * a resolved request is stored without effect and an unset Created stays unset; 18.0 refuses
   * resolved requests and stamps Created.
   */
  private applyReview(id: string, incoming: AccessReview, by: string | undefined): AccessRequestV3 {
    const current = this.requests.get(id);
    if (!current?.spec) throw notFound(`cannot apply review to access request "${id}" (not found)`);
    // A requester may not review their own request (services.ReviewPermissionChecker).
    if (incoming.author === current.spec.user) {
      throw accessDenied(`user "${incoming.author}" cannot review request "${id}"`);
    }
    const review = clone(AccessReviewSchema, incoming);
    if (review.proposedState !== RequestState.APPROVED && review.proposedState !== RequestState.DENIED) {
      throw badParameter(
        `invalid state proposal: ${stateName(review.proposedState)} (expected approval/denial)`,
      );
    }
    const request = clone(AccessRequestV3Schema, current);
    const spec = request.spec as NonNullable<AccessRequestV3["spec"]>;
    if (spec.thresholds.length === 0) {
      throw badParameter("request is uninitialized or does not support reviews");
    }
    if (spec.reviews.some((existing) => existing.author === review.author)) {
      throw accessDenied(`user "${review.author}" has already reviewed this request`);
    }
    review.roles = sortedUnique(review.roles);
    const mappedRoles = Object.keys(spec.roleThresholdMapping);
    if (review.roles.length !== 0 && review.roles.length !== mappedRoles.length) {
      throw notImplemented("reviews cannot perform role subselection");
    }
    for (const role of review.roles) {
      if (!mappedRoles.includes(role)) throw badParameter(`role "${role}" is not a member of this request`);
    }
    if (this.profile.modern) {
      if (isGoZeroTime(review.created)) review.created = timestampFromDate(this.now());
      if (spec.state !== RequestState.PENDING) {
        throw accessDenied(`the access request has been already ${stateName(spec.state).toLowerCase()}`);
      }
    }
    // Thresholds have no filters here, so every review counts toward all of them.
    review.thresholdIndexes = spec.thresholds.map((_, index) => index);
    spec.reviews.push(review);
    if (spec.state === RequestState.PENDING) {
      const resolution = resolveByThresholds(spec.thresholds, spec.roleThresholdMapping, spec.reviews);
      if (resolution !== undefined) {
        spec.state = resolution;
        spec.resolveReason = review.reason;
        spec.resolveAnnotations = review.annotations ?? emptyLabelValues();
        if (resolution === RequestState.APPROVED && request.metadata) request.metadata.expires = spec.expires;
      }
    }
    this.replaceRequest(this.stripUnknownFields(request));
    this.audit.push({
      event: "access_request.review",
      id,
      by,
      state: stateName(review.proposedState),
      ...(review.reason ? { reason: review.reason } : {}),
      at: this.now(),
    });
    return request;
  }

  private replaceRequest(request: AccessRequestV3): void {
    this.stampRevision(request);
    this.requests.set(request.metadata?.name ?? "", request);
    this.broadcastPut(request);
  }

  private removeRequest(id: string, by: string | undefined): void {
    if (!this.requests.delete(id)) throw notFound(`cannot delete access request "${id}" (not found)`);
    // Plugin data is left to expire on its own schedule (WIRE §3): plugins read it on DELETE.
    this.audit.push({ event: "access_request.delete", id, by, at: this.now() });
    this.broadcastDelete(id);
    this.emitChange({ type: "delete", id, reason: "deleted" });
  }

  private stampRevision(request: AccessRequestV3): void {
    const metadata = request.metadata;
    if (!metadata) return;
    const revision = this.nextResourceId();
    // Metadata.ID (≤6.2) became Metadata.Revision in 18.0 (WIRE §3 Metadata).
    if (this.profile.modern) metadata.revision = String(revision);
    else metadata.id = revision;
  }

  /** Drops what the version's proto does not have, so the store never holds it (WIRE §3 columns). */
  private stripUnknownFields(request: AccessRequestV3): AccessRequestV3 {
    const spec = request.spec;
    if (!spec) return request;
    if (!this.profile.reasons) {
      spec.requestReason = "";
      spec.resolveReason = "";
      spec.resolveAnnotations = undefined;
      spec.systemAnnotations = undefined;
    }
    if (!this.profile.reviews) {
      spec.thresholds = [];
      spec.roleThresholdMapping = {};
      spec.reviews = [];
      spec.suggestedReviewers = [];
    }
    if (!this.profile.modern) {
      spec.requestedResourceIds = [];
      spec.loginHint = "";
      spec.dryRun = false;
      spec.maxDuration = undefined;
      spec.sessionTtl = undefined;
      spec.assumeStartTime = undefined;
      spec.resourceExpiry = undefined;
      for (const review of spec.reviews) review.assumeStartTime = undefined;
    }
    // The 2026 fields (WIRE §9): only the newest profile knows the review ones.
    spec.requestKind = 0;
    if (!this.profile.reviewsOnBehalf) {
      for (const review of spec.reviews) {
        review.submittedBy = "";
        review.submittedOnBehalfOfAuthor = false;
      }
    }
    return request;
  }

  /**
   * The request as this version puts it on the wire: Go always emits nullable=false fields, so
   * LabelValues (4.4+) go out empty and unset review times as 0001-01-01 (WIRE §4).
   */
  private project(request: AccessRequestV3): AccessRequestV3 {
    const copy = clone(AccessRequestV3Schema, request);
    const spec = copy.spec;
    if (!spec) return copy;
    if (this.profile.reasons) {
      spec.resolveAnnotations ??= emptyLabelValues();
      spec.systemAnnotations ??= emptyLabelValues();
    }
    for (const review of spec.reviews) {
      if (review.created === undefined) review.created = goZeroTime();
      review.annotations ??= emptyLabelValues();
    }
    return copy;
  }

  // -------------------------------------------------------------------------------------------
  // Watch fan-out

  private broadcastPut(request: AccessRequestV3): void {
    const id = request.metadata?.name ?? "";
    const event = create(EventSchema, {
      type: Operation.PUT,
      resource: { case: "accessRequest", value: this.project(request) },
    });
    for (const watch of this.watches) {
      const wanted = watch.kinds.some(
        ({ name, filter }) => (name === "" || name === id) && matchesFilter(request, filter),
      );
      if (wanted) watch.call.write(event);
    }
    this.emitChange({ type: "put", id, request: this.project(request) });
  }

  /** DELETE carries only a ResourceHeader: kind `access_request`, version `v3`, Metadata.Name = ID (WIRE §5). */
  private broadcastDelete(id: string): void {
    const event = create(EventSchema, {
      type: Operation.DELETE,
      resource: {
        case: "resourceHeader",
        value: create(ResourceHeaderSchema, {
          kind: KIND_ACCESS_REQUEST,
          version: V3,
          metadata: { name: id, namespace: DEFAULT_NAMESPACE },
        }),
      },
    });
    for (const watch of this.watches) {
      if (watch.kinds.some(({ name }) => name === "" || name === id)) watch.call.write(event);
    }
  }

  private emitChange(change: StoreChange): void {
    this.emit("change", change);
  }
}

/**
 * Threshold arithmetic of Teleport's review logic: any threshold reaching its denial count
 * denies; the request is approved once every role has, in each of its threshold sets, a
 * threshold that reached its approval count. Undefined = still pending.
 */
function resolveByThresholds(
  thresholds: AccessReviewThreshold[],
  roleThresholdMapping: Record<string, ThresholdIndexSets>,
  reviews: AccessReview[],
): RequestState | undefined {
  const counts = thresholds.map(() => ({ approve: 0, deny: 0 }));
  for (const review of reviews) {
    for (const index of review.thresholdIndexes) {
      const count = counts[index];
      if (!count) continue;
      if (review.proposedState === RequestState.APPROVED) count.approve += 1;
      else if (review.proposedState === RequestState.DENIED) count.deny += 1;
    }
    if (
      thresholds.some(
        (threshold, index) => threshold.deny !== 0 && (counts[index]?.deny ?? 0) >= threshold.deny,
      )
    ) {
      return RequestState.DENIED;
    }
  }
  const roles = Object.values(roleThresholdMapping);
  const approved =
    roles.length > 0 &&
    roles.every((sets) =>
      sets.sets.every((set) =>
        set.indexes.some((index) => {
          const threshold = thresholds[index];
          return (
            threshold !== undefined &&
            threshold.approve !== 0 &&
            (counts[index]?.approve ?? 0) >= threshold.approve
          );
        }),
      ),
    );
  return approved ? RequestState.APPROVED : undefined;
}

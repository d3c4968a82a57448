/**
 * A Teleport auth server stand-in for tests and the demo: a real @grpc/grpc-js server on
 * loopback behind real mutual TLS, speaking `proto.AuthService` with the semantics recorded in
 * TELEPORT-WIRE.md (../shared/design/ beside the repository; cited as "WIRE §n" in this folder)
 * for one version profile (4.2.8, 6.2.1 or 18.0.0). Behaviour WIRE.md does not record is
 * modelled on Teleport's own Go sources, and the file that does it names them.
 *
 * This class is the facade: it builds the parts (context.ts) and keeps the public API — identity
 * issuing, the tctl-like helpers (admin.ts), observation (events.ts) and fault injection
 * (transport.ts, watch.ts). docs/architecture.md lists which file holds which behaviour.
 */
import { EventEmitter } from "node:events";
import type { AccessMonitoringRule } from "../../teleport/gen/teleport/accessmonitoringrules/v1/access_monitoring_rules_pb.js";
import type { AccessRequestV3 } from "../../teleport/gen/teleport/types_pb.js";
import { RequestState } from "../../teleport/gen/teleport/types_pb.js";
import {
  type CertAndKey,
  type ClusterPki,
  createClusterPki,
  type IdentityFilePaths,
  type IdentityFiles,
  identityFiles,
  issueServerCert,
  type UserCertOptions,
  writeIdentityFiles,
} from "../pki.js";
import {
  type CreateRequestInput,
  createRequest,
  expireDue,
  type ReviewInput,
  resolveRequest,
  reviewRequest,
} from "./admin.js";
import { authServiceBinding } from "./auth-service.js";
import { createContext, type StandinContext } from "./context.js";
import { type StandinEvents, waitFor } from "./events.js";
import {
  type MonitoringRuleInput,
  monitoringRule,
  monitoringRuleBinding,
  requireMonitoringRules,
} from "./monitoring-rules.js";
import type { RolePermissions } from "./permissions.js";
import type { PingPolicyCounters } from "./ping-policy.js";
import type { Thresholds } from "./request-shape.js";
import type { AuditRecord, ResolveInput } from "./requests.js";
import { addService, type CallRecord, type RpcHost } from "./rpc.js";
import { Timers } from "./timers.js";
import { type ClientWindows, Transport } from "./transport.js";
import type { TeleportVersion } from "./versions.js";

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
  /**
   * Minimum interval between client keepalive pings before GOAWAY "too_many_pings" (default the
   * version's: 60 s from 4.4, none before; 0 = none). Tests scale it down.
   */
  pingMinTimeMs?: number;
  /** How often the expiry sweep runs (default 1000 ms; 0 = only when `expireDue()` is called). */
  expiryIntervalMs?: number;
  now?: () => Date;
  newId?: () => string;
}

export interface RestartOptions {
  /** Time the port stays closed between stop and start. */
  downtimeMs?: number;
}

export class TeleportStandin extends EventEmitter<StandinEvents> {
  readonly version: TeleportVersion;
  readonly clusterName: string;
  readonly pki: ClusterPki;
  /** Every gRPC call received, in arrival order. */
  readonly calls: CallRecord[];
  /** What Teleport's audit log would record for request changes (delegator, reason, actor). */
  readonly audit: AuditRecord[];
  /** Keepalive pings received and connections closed for pinging too often (ping-policy.ts). */
  readonly pingPolicy: PingPolicyCounters = { pings: 0, goaways: 0 };
  /** The flow-control windows of each client connection, recorded at its first call. */
  readonly clientWindows: ClientWindows[] = [];
  /** Unary answer delay, changeable at run time. */
  delayMs: number;

  private readonly context: StandinContext;
  private readonly timers = new Timers();
  private readonly transport: Transport;
  private readonly expiryIntervalMs: number;
  private expiryTimer: NodeJS.Timeout | undefined;

  private constructor(options: TeleportStandinOptions, pki: ClusterPki, serverCert: CertAndKey) {
    super();
    this.version = options.version ?? "6.2.1";
    this.clusterName = pki.clusterName;
    this.pki = pki;
    this.delayMs = options.delayMs ?? 0;
    this.expiryIntervalMs = options.expiryIntervalMs ?? 1000;
    this.context = createContext({ ...options, version: this.version }, this);
    this.calls = this.context.calls.records;
    this.audit = this.context.audit;
    const { profile, permissions } = this.context;
    const authService = authServiceBinding(this.context, {
      clusterName: this.clusterName,
      serverVersion: options.reportedVersion ?? this.version,
      profile,
      advancedAccessWorkflows: options.advancedAccessWorkflows ?? false,
      proxyPublicAddr: options.proxyPublicAddr ?? `${pki.clusterName}:3080`,
    });
    const host: RpcHost = {
      calls: this.context.calls,
      timers: this.timers,
      delayMs: () => this.delayMs,
      authorize: permissions.checkRolesExist.bind(permissions),
    };
    this.transport = new Transport({
      pki,
      serverCert,
      strictSni: profile.strictSni,
      pingMinTimeMs: (options.pingMinTimeMs ?? profile.pingMinTimeMs) || undefined,
      pingCounters: this.pingPolicy,
      clientWindows: this.clientWindows,
      register: (server) => {
        addService(server, authService, host);
        addService(server, monitoringRuleBinding(this.context), host);
      },
      onTlsRejected: (reason) => this.emit("tlsRejected", { reason }),
    });
  }

  /** Creates the PKI (unless given), issues the server certificate and starts listening. */
  static async start(options: TeleportStandinOptions = {}): Promise<TeleportStandin> {
    const pki = options.pki ?? (await createClusterPki(options.clusterName ?? "teleport.example.com"));
    const standin = new TeleportStandin(options, pki, await issueServerCert(pki));
    await standin.transport.open(options.port ?? 0);
    if (standin.expiryIntervalMs > 0) {
      standin.expiryTimer = setInterval(() => standin.expireDue(), standin.expiryIntervalMs);
      standin.expiryTimer.unref();
    }
    return standin;
  }

  /** `127.0.0.1:<port>`, what the daemon's `auth_server`/`addr` should hold. */
  get addr(): string {
    return `127.0.0.1:${this.transport.port}`;
  }

  get port(): number {
    return this.transport.port;
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
    this.context.users.setRoles(user, roles);
    return identityFiles(this.pki, user, roles, options);
  }

  /** Like `issueIdentity` but writes `auth.crt`, `auth.key`, `auth.cas` into `dir`. */
  async writeIdentity(
    dir: string,
    user: string,
    roles: string[],
    options: Omit<UserCertOptions, "user" | "roles"> = {},
  ): Promise<IdentityFilePaths> {
    this.context.users.setRoles(user, roles);
    return writeIdentityFiles(dir, this.pki, user, roles, options);
  }

  /** Registers (or replaces) a Teleport user, e.g. a review author that has no identity. */
  addUser(user: string, roles: string[], traits: Record<string, string[]> = {}): void {
    this.context.users.setRoles(user, roles);
    this.context.users.setTraits(user, traits);
  }

  // -------------------------------------------------------------------------------------------
  // tctl-like API (admin.ts): acts on the store directly, as the local admin, with Teleport's rules.

  /** Creates a request like `tctl request create`; returns it as this version would send it. */
  createRequest(input: CreateRequestInput): AccessRequestV3 {
    const resources = input.resources?.map((resource) => ({ cluster: this.clusterName, ...resource }));
    return createRequest(this.context, { ...input, ...(resources ? { resources } : {}) });
  }

  /** `tctl request approve`: SetAccessRequestState(APPROVED). */
  approve(id: string, input: ResolveInput = {}): AccessRequestV3 {
    return resolveRequest(this.context, id, RequestState.APPROVED, input);
  }

  /** `tctl request deny`: SetAccessRequestState(DENIED). */
  deny(id: string, input: ResolveInput = {}): AccessRequestV3 {
    return resolveRequest(this.context, id, RequestState.DENIED, input);
  }

  /** `tctl request review`: a review by `author` (not permission-checked, unlike over gRPC). */
  review(id: string, input: ReviewInput): AccessRequestV3 {
    return reviewRequest(this.context, id, input);
  }

  /** `tctl request rm`. */
  deleteRequest(id: string): void {
    this.context.requests.remove(id, undefined);
  }

  getRequest(id: string): AccessRequestV3 | undefined {
    const request = this.context.requests.get(id);
    return request && this.context.shape.project(request);
  }

  listRequests(): AccessRequestV3[] {
    return this.context.requests.sorted().map((request) => this.context.shape.project(request));
  }

  /**
   * `tctl create` of an access_monitoring_rule (16+: the 18.0.0 profile); kind and version are
   * filled in, the rule is validated as Teleport does and a PUT reaches the watches.
   */
  createMonitoringRule(input: MonitoringRuleInput): AccessMonitoringRule {
    requireMonitoringRules(this.context.profile, this.version);
    return this.context.monitoringRules.create(monitoringRule(input));
  }

  /** `tctl create -f` over an existing rule. */
  updateMonitoringRule(input: MonitoringRuleInput): AccessMonitoringRule {
    requireMonitoringRules(this.context.profile, this.version);
    return this.context.monitoringRules.update(monitoringRule(input));
  }

  /** `tctl rm access_monitoring_rule/<name>`. */
  deleteMonitoringRule(name: string): void {
    requireMonitoringRules(this.context.profile, this.version);
    this.context.monitoringRules.delete(name);
  }

  /** A plugin's stored data for a request (still readable after the request is gone, WIRE §3). */
  pluginData(id: string, plugin: string): Record<string, string> | undefined {
    return this.context.pluginData.read(id, plugin);
  }

  /** Deletes requests and plugin data whose expiry has passed; returns the expired request IDs. */
  expireDue(): string[] {
    return expireDue(this.context);
  }

  /**
   * Resolves with the first truthy value `probe` returns, re-checked after every call and store
   * change; rejects after `timeoutMs`.
   */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 5000, what = "condition"): Promise<T> {
    return waitFor(this, probe, timeoutMs, what);
  }

  // -------------------------------------------------------------------------------------------
  // Fault injection

  /** Number of open WatchEvents streams. */
  get activeWatchCount(): number {
    return this.context.watches.count;
  }

  /** Ends every open watch stream with UNAVAILABLE, as when the auth server's watcher closes. */
  dropWatchStreams(details = "watcher closed"): number {
    return this.context.watches.drop(details);
  }

  /**
   * Stops accepting connections (clients get ECONNREFUSED) or accepts again on the same port.
   * Open connections are kept unless `dropExisting`.
   */
  async refuseConnections(on: boolean, options: { dropExisting?: boolean } = {}): Promise<void> {
    if (this.timers.stopped) return;
    await this.transport.refuse(on, options.dropExisting ?? false);
  }

  /** Stops the gRPC server (all connections and streams die) and starts it on the same port, store kept. */
  async restart(options: RestartOptions = {}): Promise<void> {
    this.closeTransport();
    if (options.downtimeMs) await this.timers.sleep(options.downtimeMs);
    if (!this.timers.stopped) await this.transport.open(this.transport.port);
  }

  /** Force-stops everything: listener, connections, streams, timers. Idempotent. */
  async stop(): Promise<void> {
    if (this.timers.stopped) return;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.timers.stopAll();
    this.closeTransport();
  }

  private closeTransport(): void {
    this.context.watches.forgetAll("connection closed");
    this.transport.close();
  }
}

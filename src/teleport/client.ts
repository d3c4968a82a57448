/**
 * The Teleport auth API client: gRPC over HTTP/2 with mutual TLS, using the identity exported
 * by `tctl auth sign --format=tls`, to an auth server or through a proxy (connection.ts finds
 * the route `addr` needs). Only the calls an access-request plugin needs, each mapped to plain
 * types and AppErrors. Method availability differs per server version (TELEPORT-WIRE.md §1);
 * where a call is missing, the client falls back to its successor.
 */
import { create, type MessageShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import type { AccessRequest, RequestState, TeleportUser } from "../core/access-request.js";
import { type AppError, isAppError } from "../errors.js";
import type { CallObserver } from "../lib/call-observer.js";
import { type ProxyChoice, proxyFor } from "../lib/proxy-env.js";
import { decodeAccessRequest, decodeAccessRequests, decodeWatchEvent } from "./access-request-wire.js";
import { Connection } from "./connection.js";
import { accessRequestFromProto, stateToProto, type WatchEvent } from "./convert.js";
import { teleportError, withConnectionFailure } from "./errors.js";
import { proxyOptions, proxyTarget, tunnelFailure } from "./forward-proxy.js";
import {
  AccessReviewSubmissionSchema,
  AuthService,
  type Event,
  GetUserRequestSchema,
  PingRequestSchema,
  RequestIDSchema,
  RequestStateSetterSchema,
  WatchSchema,
} from "./gen/teleport/authservice_pb.js";
import {
  AccessRequestFilterSchema,
  AccessReviewSchema,
  PluginDataFilterSchema,
  RequestState as ProtoRequestState,
  WatchKindSchema,
} from "./gen/teleport/types_pb.js";
import { OpenerCredentials } from "./grpc-connector.js";
import { grpcDefinition } from "./grpc-service.js";
import { decodePluginDataSeq, encodePluginDataUpdate } from "./plugin-data-wire.js";
import { TELEPORT_SERVER_NAME } from "./route.js";
import type { RouteReport } from "./route-detect.js";
import { PROBE_TIMEOUT_MS, type ProbeResult, StallCheck, type StallProbe } from "./stall-check.js";

export { TELEPORT_SERVER_NAME };
/** Kind of resource watched and of plugin data (TELEPORT-WIRE.md §3, §5). */
export const ACCESS_REQUEST_KIND = "access_request";
/** Largest answer accepted: a listing of ~300,000 requests. */
export const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;
/**
 * What Teleport may send before it waits for this client to ask for more (HTTP/2 flow control,
 * per call and per connection): a listing of ~24,000 requests. grpc-js keeps HTTP/2's 64 KB
 * unless told (Go's gRPC client, Teleport's and the original plugin's, grows its window up to
 * 16 MB as it measures the link): a catch-up of 1,000 requests (~170 KB of requests, ~160 KB of
 * records) then waited for a dozen extra round trips, 581 against 257 ms over a 20 ms link.
 */
export const LISTING_WINDOW_BYTES = 4 * 1024 * 1024;
/** Default deadline of one unary call. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
/**
 * Keepalive pings while a call (the watch) is open: they keep the connection through idle NATs and
 * notice a dead peer. Teleport 4.4+ closes a connection whose client pings more often than every
 * 60 s while it sends nothing (GOAWAY "too_many_pings" at the third early ping:
 * standins/teleport/ping-policy.ts); 30 s dropped a quiet watch about two minutes after every
 * start. grpc-js sends a ping only after the previous one's ACK, so 60 s (what Teleport's own
 * clients use) would hold; 90 s stays clear of the boundary at the cost of 30 s more to notice a
 * dead quiet watch (calls waiting on a dead connection are stall-check.ts's).
 */
export const KEEPALIVE_TIME_MS = 90_000;
/** How long a keepalive ping may go unanswered before the connection is given up. */
export const KEEPALIVE_TIMEOUT_MS = 10_000;

const methods = grpcDefinition(AuthService);
type Methods = typeof methods;
type MethodName = keyof Methods;

export interface TeleportIdentityPem {
  cert: string;
  key: string;
  cas: string;
}

export interface TeleportClientOptions {
  /** host:port of the auth server or of the proxy's HTTPS port. */
  addr: string;
  identity: TeleportIdentityPem;
  serverName?: string;
  /** PEM CAs trusted for a proxy's web certificate besides Node's public list (`proxy_ca_file`). */
  proxyCa?: string;
  /** Force the proxy connection upgrade on or off (`connection_upgrade`); default detect. */
  connectionUpgrade?: boolean;
  callTimeoutMs?: number;
  /** Keepalive ping interval and answer timeout (default KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS). */
  keepalive?: { timeMs: number; timeoutMs: number };
  /** Told when a connection that stopped answering is dropped (stall-check.ts), with how long calls waited. */
  onStall?: (waitedMs: number) => void;
  /** Told about every unary call and listing stream, for metrics. */
  observer?: CallObserver;
  /** Where the proxy variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Rewrites every failure before it is thrown, e.g. to say that the identity has expired. */
  explain?: (error: AppError) => AppError;
}

export interface PingResult {
  clusterName: string;
  serverVersion: string;
  proxyPublicAddr: string;
  advancedAccessWorkflows: boolean;
}

export type { WatchEvent };

export type PluginDataMap = Record<string, string>;

export class TeleportClient {
  readonly addr: string;
  /** The forward proxy the auth server is reached through, when the environment names one. */
  readonly proxy: ProxyChoice | undefined;
  private readonly client: grpc.Client;
  private readonly connection: Connection;
  private readonly callTimeoutMs: number;
  private readonly observer: CallObserver | undefined;
  private readonly explain: (error: AppError) => AppError;
  private readonly stallCheck: StallCheck;
  private readonly target: string;
  private readonly channelOptions: grpc.ChannelOptions;
  /** Set once the server answered UNIMPLEMENTED to GetAccessRequests (Teleport 18+). */
  private listViaV2 = false;

  constructor(options: TeleportClientOptions) {
    this.addr = options.addr;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.observer = options.observer;
    this.explain = options.explain ?? ((error) => error);
    const serverName = options.serverName ?? TELEPORT_SERVER_NAME;
    this.proxy = proxyFor(new URL(`https://${options.addr}`), options.env);
    this.connection = new Connection({
      addr: options.addr,
      identity: options.identity,
      serverName,
      ...(this.proxy ? { forwardProxy: this.proxy } : {}),
      ...(options.proxyCa ? { proxyCa: options.proxyCa } : {}),
      ...(options.connectionUpgrade === undefined ? {} : { upgrade: options.connectionUpgrade }),
    });
    this.stallCheck = new StallCheck({
      probe: () => this.probe(),
      dropped: (waitedMs) => options.onStall?.(waitedMs),
    });
    this.target = this.proxy ? proxyTarget(this.proxy) : options.addr;
    this.channelOptions = {
      ...proxyOptions(options.addr, this.proxy),
      "grpc.default_authority": serverName,
      "grpc.keepalive_time_ms": options.keepalive?.timeMs ?? KEEPALIVE_TIME_MS,
      "grpc.keepalive_timeout_ms": options.keepalive?.timeoutMs ?? KEEPALIVE_TIMEOUT_MS,
      "grpc.max_reconnect_backoff_ms": 5_000,
      // Listings grow with the cluster (~175 bytes per request, ~160 per plugin record): gRPC's
      // default 4 MB cap made catch-up fail for good beyond ~24,000 requests.
      "grpc.max_receive_message_length": MAX_RECEIVE_BYTES,
      "grpc-node.flow_control_window": LISTING_WINDOW_BYTES,
    };
    this.client = this.newChannel();
  }

  close(): void {
    this.stallCheck.close();
    this.client.close();
  }

  /** A channel of its own: new credentials are never equal to others, so it gets its own connection. */
  private newChannel(extra: grpc.ChannelOptions = {}): grpc.Client {
    const credentials = new OpenerCredentials((socket) => this.connection.open(socket));
    return new grpc.Client(this.target, credentials, { ...this.channelOptions, ...extra });
  }

  /**
   * Pings on the connection the calls wait on and, at the same time, on a new one (stall-check.ts).
   * Neither Ping is one of the calls StallCheck counts.
   */
  private async probe(): Promise<StallProbe> {
    const suspects = this.connection.openSockets();
    const fresh = this.newChannel({ "grpc.use_local_subchannel_pool": 1 });
    try {
      const [current, freshResult] = await Promise.all([
        probePing(this.client, (code) => code !== grpc.status.DEADLINE_EXCEEDED),
        // A new connection that cannot be made proves nothing about the old one.
        probePing(fresh, (code) => !PROBE_SILENCE.has(code)),
      ]);
      return { current, fresh: freshResult, dropSuspects: () => this.connection.drop(suspects) };
    } finally {
      fresh.close();
    }
  }

  /** How the client reaches the auth API, once a call got through. */
  get route(): RouteReport | undefined {
    return this.connection.route;
  }

  /** The cluster the identity belongs to (the one a proxy is asked to route to). */
  get clusterName(): string {
    return this.connection.clusterName;
  }

  /** A gRPC failure as an AppError, with the reason no connection could be made when known. */
  private failure(operation: string, error: unknown): AppError {
    const mapped = teleportError(operation, error, this.addr);
    const known =
      this.connection.lastFailure ?? (this.proxy ? tunnelFailure(mapped, this.addr, this.proxy) : undefined);
    return this.explain(withConnectionFailure(mapped, known, operation));
  }

  /**
   * One unary call; `serialize` and `deserialize` replace the generated codecs
   * (plugin-data-wire.ts, access-request-wire.ts).
   */
  private unary<
    M extends MethodName,
    R = Parameters<Methods[M]["requestSerialize"]>[0],
    D = ReturnType<Methods[M]["responseDeserialize"]>,
  >(
    name: M,
    request: R,
    timeoutMs = this.callTimeoutMs,
    serialize: (value: R) => Buffer = methods[name].requestSerialize as (value: R) => Buffer,
    deserialize: (bytes: Buffer) => D = methods[name].responseDeserialize as (bytes: Buffer) => D,
  ): Promise<D> {
    const method = methods[name] as unknown as grpc.MethodDefinition<R, D>;
    return this.call(method, request, timeoutMs, serialize, deserialize);
  }

  /** A unary call of any service's method on this connection (for this folder's other clients). */
  call<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    request: Req,
    timeoutMs = this.callTimeoutMs,
    serialize: (value: Req) => Buffer = method.requestSerialize,
    deserialize: (bytes: Buffer) => Res = method.responseDeserialize,
  ): Promise<Res> {
    const operation = method.originalName ?? method.path;
    const report = this.reporter(operation);
    return new Promise((resolve, reject) => {
      try {
        this.client.makeUnaryRequest(
          method.path,
          serialize,
          deserialize,
          request,
          new grpc.Metadata(),
          { deadline: Date.now() + timeoutMs },
          (error, response) => {
            report(error);
            if (error) reject(this.failure(operation, error));
            else resolve(response as Res);
          },
        );
      } catch (error) {
        // A closed channel refuses the call at once ("Channel has been shut down").
        report(error as grpc.ServiceError);
        reject(this.failure(operation, error));
      }
    });
  }

  /** Opens a server-streaming call of `name`, its messages read by `deserialize`; the caller reads, ends or cancels it. */
  private serverStream<M extends "watchEvents" | "getAccessRequestsV2", D>(
    name: M,
    request: Parameters<Methods[M]["requestSerialize"]>[0],
    deserialize: (bytes: Buffer) => D,
    options: grpc.CallOptions = {},
  ): grpc.ClientReadableStream<D> {
    const method = methods[name];
    return this.client.makeServerStreamRequest(
      method.path,
      method.requestSerialize as (value: unknown) => Buffer,
      deserialize,
      request,
      new grpc.Metadata(),
      options,
    );
  }

  /**
   * Starts timing a call; the returned function reports, once, how it ended (`ok` or the gRPC
   * status name). Once, because a failing stream may also emit its end.
   */
  private reporter(operation: string): (error: grpc.ServiceError | null) => void {
    const started = performance.now();
    let reported = false;
    this.stallCheck.callStarted();
    return (error) => {
      if (reported) return;
      reported = true;
      this.stallCheck.callEnded(error?.code !== grpc.status.DEADLINE_EXCEEDED);
      this.observer?.call({
        operation,
        seconds: (performance.now() - started) / 1000,
        outcome: error ? (grpc.status[error.code] ?? "UNKNOWN") : "ok",
      });
    };
  }

  async ping(timeoutMs?: number): Promise<PingResult> {
    const response = await this.unary("ping", create(PingRequestSchema), timeoutMs);
    return {
      clusterName: response.clusterName,
      serverVersion: response.serverVersion,
      proxyPublicAddr: response.proxyPublicAddr,
      advancedAccessWorkflows: response.serverFeatures?.advancedAccessWorkflows ?? false,
    };
  }

  /**
   * Watches every access request (unfiltered, so decisions made elsewhere are seen:
   * TELEPORT-WIRE.md §5). The iterator ends when the stream ends; it throws an AppError when the
   * stream fails. Aborting the signal cancels the stream.
   */
  watchRequests(signal: AbortSignal): AsyncGenerator<WatchEvent> {
    return this.watchDecoded(ACCESS_REQUEST_KIND, decodeWatchEvent, signal);
  }

  /**
   * A server-streaming watch on one kind of resource, each event converted (undefined = skip).
   * For this folder's clients of other resources (monitoring-rules.ts).
   */
  watch<T>(kind: string, convert: (event: Event) => T | undefined, signal: AbortSignal): AsyncGenerator<T> {
    const decode = methods.watchEvents.responseDeserialize as (bytes: Buffer) => Event;
    return this.watchDecoded(kind, (bytes) => convert(decode(bytes)), signal);
  }

  /** The watch, each event read from its bytes by `decode` (undefined = skip). */
  private async *watchDecoded<T>(
    kind: string,
    decode: (bytes: Buffer) => T | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<T> {
    const request = create(WatchSchema, { kinds: [create(WatchKindSchema, { kind })] });
    const call = this.serverStream("watchEvents", request, decode);
    const cancel = () => call.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      for await (const event of call as AsyncIterable<T | undefined>) {
        if (event !== undefined) yield event;
      }
    } catch (error) {
      if (signal.aborted) return;
      throw this.failure("WatchEvents", error);
    } finally {
      signal.removeEventListener("abort", cancel);
      call.cancel();
    }
  }

  /** The request with this id, or undefined when Teleport no longer has it. */
  async getRequest(id: string): Promise<AccessRequest | undefined> {
    const requests = await this.listRequests({ id });
    return requests.find((request) => request.id === id);
  }

  async listRequests(filter: { id?: string; state?: RequestState } = {}): Promise<AccessRequest[]> {
    const protoFilter = create(AccessRequestFilterSchema, {
      id: filter.id ?? "",
      state: filter.state ? stateToProto(filter.state) : ProtoRequestState.NONE,
    });
    if (!this.listViaV2) {
      try {
        return await this.unary("getAccessRequests", protoFilter, undefined, undefined, decodeAccessRequests);
      } catch (error) {
        if (!isAppError(error, "TELEPORT_VERSION")) throw error;
        this.listViaV2 = true;
      }
    }
    return this.listRequestsV2(protoFilter);
  }

  /** Teleport 18+: GetAccessRequestsV2 streams the matching requests. */
  private listRequestsV2(filter: MessageShape<typeof AccessRequestFilterSchema>): Promise<AccessRequest[]> {
    const report = this.reporter("GetAccessRequestsV2");
    return new Promise((resolve, reject) => {
      const found: AccessRequest[] = [];
      let call: grpc.ClientReadableStream<AccessRequest>;
      try {
        call = this.serverStream("getAccessRequestsV2", filter, decodeAccessRequest, {
          deadline: Date.now() + this.callTimeoutMs * 3,
        });
      } catch (error) {
        report(error as grpc.ServiceError);
        reject(this.failure("GetAccessRequestsV2", error));
        return;
      }
      call.on("data", (request: AccessRequest) => {
        found.push(request);
        this.stallCheck.progress();
      });
      call.on("error", (error: grpc.ServiceError) => {
        report(error);
        reject(this.failure("GetAccessRequestsV2", error));
      });
      call.on("end", () => {
        report(null);
        resolve(found);
      });
    });
  }

  async setRequestState(
    id: string,
    state: "APPROVED" | "DENIED",
    options: { delegator?: string; reason?: string } = {},
  ): Promise<void> {
    await this.unary(
      "setAccessRequestState",
      create(RequestStateSetterSchema, {
        id,
        state: stateToProto(state),
        delegator: options.delegator ?? "",
        reason: options.reason ?? "",
      }),
    );
  }

  /** Submits a review authored by `author` (Teleport 6.2+). Returns the updated request. */
  async submitReview(
    id: string,
    review: { author: string; state: "APPROVED" | "DENIED"; reason?: string; onBehalfOfAuthor?: boolean },
  ): Promise<AccessRequest> {
    const response = await this.unary(
      "submitAccessReview",
      create(AccessReviewSubmissionSchema, {
        requestId: id,
        review: create(AccessReviewSchema, {
          author: review.author,
          proposedState: stateToProto(review.state),
          reason: review.reason ?? "",
          created: timestampNow(),
          submittedOnBehalfOfAuthor: review.onBehalfOfAuthor ?? false,
        }),
      }),
    );
    return accessRequestFromProto(response);
  }

  /** This plugin's data for a request, or undefined when it has none. */
  async getPluginData(id: string, plugin: string): Promise<PluginDataMap | undefined> {
    const items = await this.unary(
      "getPluginData",
      create(PluginDataFilterSchema, { kind: ACCESS_REQUEST_KIND, resource: id, plugin }),
      undefined,
      undefined,
      (bytes) => decodePluginDataSeq(bytes, plugin),
    );
    return items[0]?.data;
  }

  /** This plugin's data for every request that has some (an empty resource lists them all). */
  async listPluginData(plugin: string): Promise<Map<string, PluginDataMap>> {
    const items = await this.unary(
      "getPluginData",
      create(PluginDataFilterSchema, { kind: ACCESS_REQUEST_KIND, resource: "", plugin }),
      this.callTimeoutMs * 3,
      undefined,
      (bytes) => decodePluginDataSeq(bytes, plugin),
    );
    const found = new Map<string, PluginDataMap>();
    for (const { resource, data } of items) if (resource) found.set(resource, data);
    return found;
  }

  /**
   * Compare-and-swap write of plugin data: `expect` values must match what is stored ("" =
   * absent). A mismatch throws AppError CONFLICT; re-read and re-plan.
   */
  async updatePluginData(
    id: string,
    plugin: string,
    set: PluginDataMap,
    expect: PluginDataMap,
  ): Promise<void> {
    await this.unary(
      "updatePluginData",
      { kind: ACCESS_REQUEST_KIND, resource: id, plugin, set, expect },
      undefined,
      encodePluginDataUpdate,
    );
  }

  /**
   * The Teleport user `name`, or undefined when there is none. Needs `read` on `user` for any
   * user but the plugin's own.
   */
  async getUser(name: string): Promise<TeleportUser | undefined> {
    try {
      const user = await this.unary("getUser", create(GetUserRequestSchema, { name }));
      const traits: Record<string, string[]> = {};
      for (const [key, values] of Object.entries(user.spec?.traits?.values ?? {}))
        traits[key] = [...values.values];
      return { name: user.metadata?.name ?? name, roles: [...(user.spec?.roles ?? [])], traits };
    } catch (error) {
      if (isAppError(error, "NOT_FOUND")) return undefined;
      throw error;
    }
  }

  /** Used by tests and the demo's tctl-like helpers; the daemon never deletes requests. */
  async deleteRequest(id: string): Promise<void> {
    await this.unary("deleteAccessRequest", create(RequestIDSchema, { id }));
  }
}

/** Statuses of a probe Ping that are not an answer from Teleport. */
const PROBE_SILENCE = new Set([
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNAVAILABLE,
  grpc.status.CANCELLED,
]);

/** One Ping on `channel` with PROBE_TIMEOUT_MS; `answered` tells which failure statuses count as an answer. */
function probePing(channel: grpc.Client, answered: (code: grpc.status) => boolean): Promise<ProbeResult> {
  const ping = methods.ping as unknown as grpc.MethodDefinition<unknown, unknown>;
  return new Promise((resolve) => {
    channel.makeUnaryRequest(
      ping.path,
      ping.requestSerialize,
      (bytes: Buffer) => bytes,
      create(PingRequestSchema),
      new grpc.Metadata(),
      { deadline: Date.now() + PROBE_TIMEOUT_MS },
      (error) => resolve(!error || answered(error.code) ? "answered" : "no answer"),
    );
  });
}

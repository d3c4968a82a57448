/**
 * Shared by the Teleport stand-in tests: a real grpc-js client over mutual TLS on loopback, built
 * the way the daemon builds it, with identities shaped like `tctl auth sign --format=tls`, and
 * helpers for unary calls, status assertions and server streams.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { create, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import {
  type CallOptions,
  type ClientReadableStream,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceClientConstructor,
  type ServiceDefinition,
  type ServiceError,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import { TELEPORT_SERVER_NAME } from "../../../src/standins/pki.js";
import { TeleportStandin, type TeleportStandinOptions } from "../../../src/standins/teleport/index.js";
import { AuthService, type Event, Operation } from "../../../src/teleport/gen/teleport/authservice_pb.js";
import { RequestState } from "../../../src/teleport/gen/teleport/types_pb.js";
import { grpcDefinition } from "../../../src/teleport/grpc-service.js";

/** Generous: a test that starts a stand-in per version profile takes over 20 s on a loaded 2-core machine. */
export const TEST_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 5_000;
export const GO_ZERO_TIME_SECONDS = -62135596800n;
export const HOUR_MS = 3_600_000;
export const PLUGIN = "mattermost";
export const PLUGIN_USER = "access-plugin-mattermost";

type Methods = typeof AuthService extends GenService<infer M> ? M : never;
type MethodName = keyof Methods;
export type Input<K extends MethodName> = MessageInitShape<Methods[K]["input"]>;
type Output<K extends MethodName> = MessageShape<Methods[K]["output"]>;
type UnaryMethod = {
  [K in MethodName]: Methods[K]["methodKind"] extends "unary" ? K : never;
}[MethodName];
type StreamMethod = Exclude<MethodName, UnaryMethod>;
type ServiceClient = InstanceType<ServiceClientConstructor>;

interface Identity {
  crt: string;
  key: string;
  cas: string;
}

/** A test-scoped fake clock: `advance()` moves the stand-in's time. */
export function fakeClock(start = Date.parse("2026-03-01T09:00:00Z")) {
  let nowMs = start;
  return {
    now: () => new Date(nowMs),
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

export async function startStandin(
  t: TestContext,
  options: TeleportStandinOptions = {},
): Promise<TeleportStandin> {
  const standin = await TeleportStandin.start({ expiryIntervalMs: 0, ...options });
  t.after(() => standin.stop());
  return standin;
}

/** A client as the daemon builds it: SNI/authority `teleport.cluster.local`, CA bundle from `auth.cas`. */
export function connect(
  t: TestContext,
  addr: string,
  identity: Partial<Identity> & Pick<Identity, "cas">,
  serverName = TELEPORT_SERVER_NAME,
): ServiceClient {
  const Client = makeGenericClientConstructor(
    grpcDefinition(AuthService) as unknown as ServiceDefinition,
    "AuthService",
  );
  const channelCredentials = credentials.createSsl(
    Buffer.from(identity.cas),
    identity.key === undefined ? null : Buffer.from(identity.key),
    identity.crt === undefined ? null : Buffer.from(identity.crt),
  );
  const client = new Client(addr, channelCredentials, {
    "grpc.ssl_target_name_override": serverName,
    "grpc.default_authority": serverName,
  });
  t.after(() => client.close());
  return client;
}

function callOptions(): CallOptions {
  return { deadline: Date.now() + CALL_TIMEOUT_MS };
}

export function unary<K extends UnaryMethod>(
  client: ServiceClient,
  method: K,
  request: Input<K>,
): Promise<Output<K>> {
  const message = create(AuthService.method[method].input, request as never);
  const invoke = client[method] as (
    request: unknown,
    metadata: Metadata,
    options: CallOptions,
    callback: (error: ServiceError | null, response?: Output<K>) => void,
  ) => unknown;
  return new Promise((resolve, reject) => {
    invoke.call(client, message, new Metadata(), callOptions(), (error, response) => {
      if (error) reject(error);
      else resolve(response as Output<K>);
    });
  });
}

/** Asserts that a call fails with `code` and, if given, exactly `details`. */
export async function assertStatus(promise: Promise<unknown>, code: status, details?: string): Promise<void> {
  await assert.rejects(promise, (error: ServiceError) => {
    assert.equal(error.code, code, `expected ${status[code]}, got ${status[error.code]}: ${error.details}`);
    if (details !== undefined) assert.equal(error.details, details);
    return true;
  });
}

/** Collects a server stream's messages and its final status. */
class StreamRecorder<T> {
  readonly messages: T[] = [];
  readonly ended: Promise<StatusObject>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly call: ClientReadableStream<T>) {
    call.on("data", (message: T) => {
      this.messages.push(message);
      for (const wake of this.waiters) wake();
    });
    call.on("error", () => {}); // the status event below carries the outcome
    this.ended = new Promise((resolve) => call.on("status", resolve));
  }

  /** Waits until at least `count` messages arrived. */
  async received(count: number, timeoutMs = CALL_TIMEOUT_MS): Promise<T[]> {
    if (this.messages.length >= count) return this.messages;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`got ${this.messages.length} of ${count} stream messages in ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = () => {
        if (this.messages.length < count) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
    return this.messages;
  }
}

export function openStream<K extends StreamMethod>(
  t: TestContext,
  client: ServiceClient,
  method: K,
  request: Input<K>,
): StreamRecorder<Output<K>> {
  const message = create(AuthService.method[method].input, request as never);
  const invoke = client[method] as (
    request: unknown,
    options: CallOptions,
  ) => ClientReadableStream<Output<K>>;
  const recorder = new StreamRecorder(
    invoke.call(client, message, { deadline: Date.now() + TEST_TIMEOUT_MS }),
  );
  t.after(() => recorder.call.cancel());
  return recorder;
}

export function watchAccessRequests(
  t: TestContext,
  client: ServiceClient,
  filter: Record<string, string> = {},
) {
  return openStream(t, client, "watchEvents", { kinds: [{ kind: "access_request", filter }] });
}

/** An event reduced to what the tests compare: type, request ID, state. */
export function describeEvent(event: Event): string {
  const type = Operation[event.type];
  switch (event.resource.case) {
    case "accessRequest":
      return `${type} ${event.resource.value.metadata?.name} ${RequestState[event.resource.value.spec?.state ?? 0]}`;
    case "resourceHeader":
      return `${type} ${event.resource.value.metadata?.name}`;
    default:
      return type ?? String(event.type);
  }
}

/** Stand-in, plugin identity and connected plugin client in one go. */
export async function setup(t: TestContext, options: TeleportStandinOptions = {}) {
  const standin = await startStandin(t, options);
  const identity = await standin.issueIdentity(PLUGIN_USER, [PLUGIN_USER]);
  const client = connect(t, standin.addr, identity);
  return { standin, identity, client };
}

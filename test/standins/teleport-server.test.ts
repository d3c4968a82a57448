/**
 * The Teleport stand-in, driven the way the daemon will drive it: a real grpc-js client over
 * mutual TLS on loopback, with identities shaped like `tctl auth sign --format=tls`.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
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
import {
  createClusterPki,
  identityFiles,
  issueUserCert,
  selfSignedCert,
  TELEPORT_SERVER_NAME,
} from "../../src/standins/pki.js";
import { TeleportStandin, type TeleportStandinOptions } from "../../src/standins/teleport/index.js";
import { AuthService, type Event, Operation } from "../../src/teleport/gen/teleport/authservice_pb.js";
import { RequestState } from "../../src/teleport/gen/teleport/types_pb.js";
import { grpcDefinition } from "../../src/teleport/grpc-service.js";

const TEST_TIMEOUT_MS = 20_000;
const CALL_TIMEOUT_MS = 5_000;
const GO_ZERO_TIME_SECONDS = -62135596800n;
const HOUR_MS = 3_600_000;
const PLUGIN = "mattermost";
const PLUGIN_USER = "access-plugin-mattermost";

type Methods = typeof AuthService extends GenService<infer M> ? M : never;
type MethodName = keyof Methods;
type Input<K extends MethodName> = MessageInitShape<Methods[K]["input"]>;
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
function fakeClock(start = Date.parse("2026-03-01T09:00:00Z")) {
  let nowMs = start;
  return {
    now: () => new Date(nowMs),
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

async function startStandin(t: TestContext, options: TeleportStandinOptions = {}): Promise<TeleportStandin> {
  const standin = await TeleportStandin.start({ expiryIntervalMs: 0, ...options });
  t.after(() => standin.stop());
  return standin;
}

/** A client as the daemon builds it: SNI/authority `teleport.cluster.local`, CA bundle from `auth.cas`. */
function connect(
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

function unary<K extends UnaryMethod>(
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
async function assertStatus(promise: Promise<unknown>, code: status, details?: string): Promise<void> {
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

function openStream<K extends StreamMethod>(
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

function watchAccessRequests(t: TestContext, client: ServiceClient, filter: Record<string, string> = {}) {
  return openStream(t, client, "watchEvents", { kinds: [{ kind: "access_request", filter }] });
}

/** An event reduced to what the tests compare: type, request ID, state. */
function describeEvent(event: Event): string {
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
async function setup(t: TestContext, options: TeleportStandinOptions = {}) {
  const standin = await startStandin(t, options);
  const identity = await standin.issueIdentity(PLUGIN_USER, [PLUGIN_USER]);
  const client = connect(t, standin.addr, identity);
  return { standin, identity, client };
}

// ---------------------------------------------------------------------------------------------

test("Ping works without a client certificate; every other method is PERMISSION_DENIED", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const standin = await startStandin(t, {
    clusterName: "acme.example.com",
    advancedAccessWorkflows: true,
    proxyPublicAddr: "proxy.acme.example.com:443",
  });
  const anonymous = connect(t, standin.addr, { cas: standin.caPem });

  const ping = await unary(anonymous, "ping", {});
  assert.equal(ping.clusterName, "acme.example.com");
  assert.equal(ping.serverVersion, "6.2.1");
  assert.equal(ping.serverFeatures?.advancedAccessWorkflows, true);
  assert.equal(ping.proxyPublicAddr, "proxy.acme.example.com:443");

  await assertStatus(
    unary(anonymous, "getAccessRequests", {}),
    status.PERMISSION_DENIED,
    'access denied to perform action "list" on "access_request"',
  );
  await assertStatus(unary(anonymous, "getPluginData", { kind: "access_request" }), status.PERMISSION_DENIED);
  const watch = watchAccessRequests(t, anonymous);
  assert.equal((await watch.ended).code, status.PERMISSION_DENIED);
  assert.equal(watch.messages.length, 0);

  assert.deepEqual(
    standin.calls.map(({ method, caller, code }) => [method, caller, code]),
    [
      ["Ping", undefined, status.OK],
      ["GetAccessRequests", undefined, status.PERMISSION_DENIED],
      ["GetPluginData", undefined, status.PERMISSION_DENIED],
      ["WatchEvents", undefined, status.PERMISSION_DENIED],
    ],
  );
});

test("a client certificate the User CA did not sign is refused at the handshake", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const standin = await startStandin(t, { clusterName: "acme.example.com" });
  const rejections: string[] = [];
  standin.on("tlsRejected", ({ reason }) => rejections.push(reason));

  // Another cluster with the same name: same CA subject, different keys.
  const otherPki = await createClusterPki("acme.example.com");
  const foreign = await identityFiles(otherPki, PLUGIN_USER, [PLUGIN_USER]);
  await assertStatus(
    unary(connect(t, standin.addr, { ...foreign, cas: standin.caPem }), "ping", {}),
    status.UNAVAILABLE,
  );

  // Signed by this cluster's Host CA, which has the same subject as the User CA.
  const hostSigned = await issueUserCert(
    { ...standin.pki, userCa: standin.pki.hostCa },
    { user: PLUGIN_USER, roles: ["Admin"] },
  );
  await assertStatus(
    unary(
      connect(t, standin.addr, { crt: hostSigned.cert, key: hostSigned.key, cas: standin.caPem }),
      "ping",
      {},
    ),
    status.UNAVAILABLE,
  );

  assert.ok(rejections.length >= 2, `rejections: ${JSON.stringify(rejections)}`);
  assert.equal(standin.calls.length, 0);
});

test("the caller is the certificate's CN and its roles the O values", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  const requester = connect(t, standin.addr, await standin.issueIdentity("alice", ["requester"]));
  const admin = connect(t, standin.addr, await standin.issueIdentity("root", ["requester", "Admin"]));
  standin.createRequest({ id: "req-alice", user: "alice", roles: ["dba"] });
  standin.createRequest({ id: "req-bob", user: "bob", roles: ["dba"] });

  const all = await unary(client, "getAccessRequests", {});
  assert.deepEqual(
    all.accessRequests.map((r) => r.metadata?.name),
    ["req-alice", "req-bob"],
  );
  // Without list/read a user sees only their own requests.
  const own = await unary(requester, "getAccessRequests", {});
  assert.deepEqual(
    own.accessRequests.map((r) => r.metadata?.name),
    ["req-alice"],
  );
  await assertStatus(
    unary(requester, "deleteAccessRequest", { id: "req-bob" }),
    status.PERMISSION_DENIED,
    'access denied to perform action "delete" on "access_request"',
  );
  await unary(admin, "deleteAccessRequest", { id: "req-bob" });

  assert.deepEqual(
    standin.calls.map(({ method, caller }) => `${caller} ${method}`),
    [
      `${PLUGIN_USER} GetAccessRequests`,
      "alice GetAccessRequests",
      "alice DeleteAccessRequest",
      "root DeleteAccessRequest",
    ],
  );
  assert.equal(standin.audit.at(-1)?.event, "access_request.delete");
  assert.equal(standin.audit.at(-1)?.by, "root");
});

test("a watch gets INIT, then PUT on create/update/review and DELETE on delete and expiry, in order", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const clock = fakeClock();
  const { standin, client } = await setup(t, { now: clock.now });
  const watch = watchAccessRequests(t, client);
  await watch.received(1);

  const created = standin.createRequest({
    id: "r1",
    user: "alice",
    roles: ["dba", "dba", "admin"],
    reason: "deploy",
  });
  standin.review("r1", { author: "carol", state: "APPROVED", reason: "ok" });
  standin.createRequest({ id: "r2", user: "bob", roles: ["dba"] });
  standin.createRequest({ id: "r3", user: "bob", roles: ["dba"] });
  standin.deleteRequest("r2");
  clock.advance(HOUR_MS + 1);
  assert.deepEqual(standin.expireDue(), ["r3"]); // r1 was approved: it lives until its access expiry

  const events = await watch.received(7);
  assert.deepEqual(events.map(describeEvent), [
    "INIT",
    "PUT r1 PENDING",
    "PUT r1 APPROVED",
    "PUT r2 PENDING",
    "PUT r3 PENDING",
    "DELETE r2",
    "DELETE r3",
  ]);
  const init = events[0];
  assert.equal(init?.resource.case, undefined);

  // PUT carries the full request (field 14) with Teleport's timestamps.
  const put = events[1]?.resource;
  assert.equal(put?.case, "accessRequest");
  const request = put.value;
  assert.equal(request.kind, "access_request");
  assert.equal(request.version, "v3");
  assert.deepEqual(request.spec?.roles, ["admin", "dba"]);
  assert.equal(request.spec?.requestReason, "deploy");
  const createdMs = Number(request.spec?.created?.seconds) * 1000;
  assert.equal(createdMs, Date.parse("2026-03-01T09:00:00Z"));
  assert.equal(Number(request.metadata?.expires?.seconds) * 1000, createdMs + HOUR_MS);
  assert.equal(Number(request.spec?.expires?.seconds) * 1000, createdMs + 30 * HOUR_MS);
  assert.equal(request.spec?.thresholds[0]?.approve, 1);
  assert.deepEqual(created, request);

  const approved = events[2]?.resource;
  assert.equal(approved?.case, "accessRequest");
  assert.equal(approved.value.spec?.resolveReason, "ok");
  assert.equal(approved.value.metadata?.expires?.seconds, approved.value.spec?.expires?.seconds);

  // DELETE carries only a ResourceHeader (field 2).
  const deleted = events[5]?.resource;
  assert.equal(deleted?.case, "resourceHeader");
  assert.equal(deleted.value.kind, "access_request");
  assert.equal(deleted.value.version, "v3");
  assert.equal(deleted.value.metadata?.name, "r2");
});

test("watch filters: state/user apply to PUT only (the approval is not delivered), DELETE always", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  const pending = watchAccessRequests(t, client, { state: "PENDING" });
  const bobs = watchAccessRequests(t, client, { user: "bob" });
  await pending.received(1);
  await bobs.received(1);

  standin.createRequest({ id: "a1", user: "alice", roles: ["dba"] });
  standin.approve("a1", { reason: "fine" });
  standin.createRequest({ id: "b1", user: "bob", roles: ["dba"] });
  standin.deleteRequest("a1");

  assert.deepEqual((await pending.received(4)).map(describeEvent), [
    "INIT",
    "PUT a1 PENDING",
    "PUT b1 PENDING",
    "DELETE a1",
  ]);
  assert.deepEqual((await bobs.received(3)).map(describeEvent), ["INIT", "PUT b1 PENDING", "DELETE a1"]);
});

test("an unknown watch filter key ends the stream with INVALID_ARGUMENT before INIT", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { client } = await setup(t);
  const badKey = watchAccessRequests(t, client, { requester: "alice" });
  const ended = await badKey.ended;
  assert.equal(ended.code, status.INVALID_ARGUMENT);
  assert.equal(ended.details, "unknown filter key requester");
  assert.equal(badKey.messages.length, 0);

  const badState = watchAccessRequests(t, client, { state: "pending" });
  assert.equal((await badState.ended).details, 'unknown request state: "pending"');
});

test("GetAccessRequests filters by id, user and state; NONE means any state", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  standin.createRequest({ id: "a1", user: "alice", roles: ["dba"] });
  standin.createRequest({ id: "a2", user: "alice", roles: ["dba"] });
  standin.createRequest({ id: "b1", user: "bob", roles: ["dba"] });
  standin.deny("a2", { reason: "no" });

  const ids = async (filter: Input<"getAccessRequests">) =>
    (await unary(client, "getAccessRequests", filter)).accessRequests.map((r) => r.metadata?.name);
  assert.deepEqual(await ids({}), ["a1", "a2", "b1"]);
  assert.deepEqual(await ids({ state: RequestState.NONE }), ["a1", "a2", "b1"]);
  assert.deepEqual(await ids({ state: RequestState.PENDING }), ["a1", "b1"]);
  assert.deepEqual(await ids({ user: "alice", state: RequestState.DENIED }), ["a2"]);
  assert.deepEqual(await ids({ id: "b1" }), ["b1"]);
  assert.deepEqual(await ids({ id: "missing" }), []); // an unknown ID is an empty answer, not NOT_FOUND
  const [denied] = (await unary(client, "getAccessRequests", { id: "a2" })).accessRequests;
  assert.equal(denied?.spec?.resolveReason, "no");
});

test("UpdatePluginData compare-and-swap: absent entry, match, mismatch, deletes, NOT_FOUND", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const clock = fakeClock();
  const { standin, client } = await setup(t, { now: clock.now });
  standin.createRequest({ id: "r1", user: "alice", roles: ["dba"] });
  const update = (set: Record<string, string>, expect: Record<string, string> = {}, resource = "r1") =>
    unary(client, "updatePluginData", { kind: "access_request", resource, plugin: PLUGIN, set, expect });
  const read = async (plugin = PLUGIN) =>
    (await unary(client, "getPluginData", { kind: "access_request", resource: "r1", plugin })).pluginData;

  // No entry yet: only "must be absent" expectations hold.
  await assertStatus(
    update({ post: "p1" }, { post: "p0" }),
    status.FAILED_PRECONDITION,
    'expectations not met for field "post"',
  );
  await update({ post: "p1", claim: "me" }, { post: "", claim: "" });
  await assertStatus(update({ post: "p2" }, { post: "" }), status.FAILED_PRECONDITION);
  await assertStatus(update({ post: "p2" }, { post: "p1", claim: "other" }), status.FAILED_PRECONDITION);
  await update({ post: "p2", claim: "" }, { post: "p1", claim: "me" }); // "" in Set deletes the key
  assert.deepEqual(standin.pluginData("r1", PLUGIN), { post: "p2" });
  await update({ extra: "x" }); // no Expect: unconditional

  const [data] = await read();
  assert.equal(data?.kind, "plugin_data");
  assert.equal(data?.subKind, "access_request");
  assert.equal(data?.metadata?.name, "r1");
  assert.deepEqual(data?.spec?.entries[PLUGIN]?.data, { post: "p2", extra: "x" });

  // Another plugin's entry is separate; an emptied entry disappears.
  await unary(client, "updatePluginData", {
    kind: "access_request",
    resource: "r1",
    plugin: "slack",
    set: { ts: "1" },
  });
  await update({ post: "", extra: "" });
  assert.deepEqual(await read(), []);
  assert.deepEqual(Object.keys((await read(""))[0]?.spec?.entries ?? {}), ["slack"]);

  await assertStatus(update({ post: "p" }, {}, "nope"), status.NOT_FOUND, 'access request "nope" not found');
  await assertStatus(
    unary(client, "updatePluginData", { kind: "user", resource: "r1", plugin: PLUGIN, set: { a: "b" } }),
    status.INVALID_ARGUMENT,
  );

  // Plugin data outlives its request until the access expiry + 1 h.
  await update({ post: "p3" });
  standin.deleteRequest("r1");
  assert.deepEqual(standin.pluginData("r1", PLUGIN), { post: "p3" });
  await update({ post: "p4" }, { post: "p3" }); // existing data can still be written
  clock.advance(31 * HOUR_MS - 1);
  standin.expireDue();
  assert.deepEqual(standin.pluginData("r1", PLUGIN), { post: "p4" });
  clock.advance(1);
  standin.expireDue();
  assert.equal(standin.pluginData("r1", PLUGIN), undefined);
  assert.deepEqual(await read(""), []);
});

test("SetAccessRequestState: NOT_FOUND, delegator and reason, denial is final, update verb required", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  const requester = connect(t, standin.addr, await standin.issueIdentity("alice", ["requester"]));
  standin.createRequest({ id: "r1", user: "alice", roles: ["dba"] });

  await assertStatus(
    unary(client, "setAccessRequestState", { id: "nope", state: RequestState.APPROVED }),
    status.NOT_FOUND,
    'cannot set state of access request "nope" (not found)',
  );
  await assertStatus(
    unary(requester, "setAccessRequestState", { id: "r1", state: RequestState.APPROVED }),
    status.PERMISSION_DENIED,
    'access denied to perform action "update" on "access_request"',
  );
  await assertStatus(
    unary(client, "setAccessRequestState", { id: "r1" }),
    status.INVALID_ARGUMENT,
    "missing request state",
  );

  await unary(client, "setAccessRequestState", {
    id: "r1",
    state: RequestState.DENIED,
    delegator: "mattermost:carol",
    reason: "not today",
  });
  const denied = standin.getRequest("r1");
  assert.equal(denied?.spec?.state, RequestState.DENIED);
  assert.equal(denied?.spec?.resolveReason, "not today");
  const audit = standin.audit.at(-1);
  assert.equal(audit?.delegator, "mattermost:carol");
  assert.equal(audit?.by, PLUGIN_USER);

  await assertStatus(
    unary(client, "setAccessRequestState", { id: "r1", state: RequestState.APPROVED }),
    status.INVALID_ARGUMENT,
    'cannot set request-state "APPROVED" (already denied)',
  );
  await unary(client, "setAccessRequestState", { id: "r1", state: RequestState.DENIED }); // a repeat is a no-op
});

test("SubmitAccessReview (6.2.1): author rules, thresholds, unset Created sent as year 1", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  const carol = connect(t, standin.addr, await standin.issueIdentity("carol", ["reviewer"]));
  const alice = connect(t, standin.addr, await standin.issueIdentity("alice", ["requester", "reviewer"]));
  const admin = connect(t, standin.addr, await standin.issueIdentity("root", ["Admin"]));
  standin.addUser("dave", ["reviewer"]);
  standin.createRequest({ id: "r1", user: "alice", roles: ["dba"], thresholds: { approve: 2, deny: 1 } });
  const approve = (author: string) => ({
    requestId: "r1",
    review: { author, proposedState: RequestState.APPROVED },
  });

  await assertStatus(
    unary(client, "submitAccessReview", approve("carol")),
    status.PERMISSION_DENIED,
    `user "${PLUGIN_USER}" cannot submit reviews on behalf of "carol"`,
  );
  await assertStatus(
    unary(client, "submitAccessReview", approve(PLUGIN_USER)),
    status.PERMISSION_DENIED,
    `user "${PLUGIN_USER}" cannot submit reviews`,
  );
  await assertStatus(unary(alice, "submitAccessReview", approve("alice")), status.PERMISSION_DENIED);

  const afterCarol = await unary(carol, "submitAccessReview", approve("carol"));
  assert.equal(afterCarol.spec?.state, RequestState.PENDING); // 1 of 2 approvals
  assert.equal(afterCarol.spec?.reviews[0]?.author, "carol");
  assert.equal(afterCarol.spec?.reviews[0]?.created?.seconds, GO_ZERO_TIME_SECONDS);
  await assertStatus(
    unary(carol, "submitAccessReview", approve("carol")),
    status.PERMISSION_DENIED,
    'user "carol" has already reviewed this request',
  );

  const afterDave = await unary(admin, "submitAccessReview", approve("dave")); // builtin Admin may act for others
  assert.equal(afterDave.spec?.state, RequestState.APPROVED);
  assert.deepEqual(
    standin.getRequest("r1")?.spec?.reviews.map((r) => r.author),
    ["carol", "dave"],
  );
});

test("GetUser: roles and traits, NOT_FOUND for unknown users, `read` on `user` for anyone else", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  standin.addUser("bob", ["reviewer"], { mattermost_user_id: ["bobid"], logins: ["bob", "root"] });
  const bob = await unary(client, "getUser", { name: "bob" });
  assert.equal(bob.metadata?.name, "bob");
  assert.deepEqual(bob.spec?.roles, ["reviewer"]);
  assert.deepEqual(bob.spec?.traits?.values["mattermost_user_id"]?.values, ["bobid"]);
  await assertStatus(
    unary(client, "getUser", { name: "nobody" }),
    status.NOT_FOUND,
    'user "nobody" is not found',
  );
  const carol = connect(t, standin.addr, await standin.issueIdentity("carol", ["reviewer"]));
  assert.equal((await unary(carol, "getUser", { name: "carol" })).metadata?.name, "carol");
  await assertStatus(
    unary(carol, "getUser", { name: "bob" }),
    status.PERMISSION_DENIED,
    'access denied to perform action "read" on "user"',
  );
});

test("reviews on behalf of a user: 6.2.1 refuses, 18.0.0 accepts with submit_for_users and judges the author", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const onBehalf = (author: string) => ({
    requestId: "r1",
    review: { author, proposedState: RequestState.APPROVED, reason: "ok", submittedOnBehalfOfAuthor: true },
  });
  await t.test("6.2.1 skips field 12 and refuses another author", async (t) => {
    const standin = await startStandin(t);
    const client = connect(
      t,
      standin.addr,
      await standin.issueIdentity(PLUGIN_USER, ["access-plugin-with-review"]),
    );
    standin.addUser("bob", ["reviewer"]);
    standin.createRequest({ id: "r1", user: "alice", roles: ["dba"] });
    await assertStatus(
      unary(client, "submitAccessReview", onBehalf("bob")),
      status.PERMISSION_DENIED,
      `user "${PLUGIN_USER}" cannot submit reviews on behalf of "bob"`,
    );
  });
  await t.test("18.0.0 needs submit_for_users on the caller and review rights on the author", async (t) => {
    const standin = await startStandin(t, { version: "18.0.0" });
    const plain = connect(t, standin.addr, await standin.issueIdentity("plain-plugin", ["access-plugin"]));
    const client = connect(
      t,
      standin.addr,
      await standin.issueIdentity(PLUGIN_USER, ["access-plugin-with-review"]),
    );
    standin.addUser("bob", ["reviewer"]);
    standin.addUser("eve", ["requester"]);
    standin.addUser("alice", ["requester", "reviewer"]);
    standin.createRequest({ id: "r1", user: "alice", roles: ["dba"] });
    await assertStatus(
      unary(plain, "submitAccessReview", onBehalf("bob")),
      status.PERMISSION_DENIED,
      'user "plain-plugin" cannot submit reviews on behalf of "bob"',
    );
    await assertStatus(
      unary(client, "submitAccessReview", onBehalf("eve")),
      status.PERMISSION_DENIED,
      'user "eve" cannot submit reviews',
    );
    await assertStatus(unary(client, "submitAccessReview", onBehalf("alice")), status.PERMISSION_DENIED);
    const reviewed = await unary(client, "submitAccessReview", onBehalf("bob"));
    assert.equal(reviewed.spec?.state, RequestState.APPROVED);
    assert.equal(reviewed.spec?.reviews[0]?.author, "bob");
    assert.equal(reviewed.spec?.reviews[0]?.submittedBy, PLUGIN_USER);
    assert.equal(reviewed.spec?.reviews[0]?.submittedOnBehalfOfAuthor, true);
  });
});

test("UNIMPLEMENTED per version profile, and version-shaped messages", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const unimplemented = (method: string) => `unknown method ${method} for service proto.AuthService`;

  await t.test("4.2.8", async (t) => {
    const { standin, client } = await setup(t, { version: "4.2.8" });
    const ping = await unary(client, "ping", {});
    assert.equal(ping.serverVersion, "4.2.8");
    assert.equal(ping.serverFeatures, undefined);
    assert.equal(ping.proxyPublicAddr, "");
    await assertStatus(
      unary(client, "submitAccessReview", { requestId: "x" }),
      status.UNIMPLEMENTED,
      unimplemented("SubmitAccessReview"),
    );
    await assertStatus(
      unary(client, "listAccessRequests", {}),
      status.UNIMPLEMENTED,
      unimplemented("ListAccessRequests"),
    );
    standin.createRequest({ id: "r1", user: "alice", roles: ["dba"], reason: "why" });
    const [request] = (await unary(client, "getAccessRequests", {})).accessRequests;
    assert.equal(request?.spec?.requestReason, ""); // no such field before 4.4
    assert.deepEqual(request?.spec?.thresholds, []);
    assert.equal(request?.spec?.resolveAnnotations, undefined);
    assert.equal(request?.metadata?.id, 1n);
    // Reason (4.4+) and Delegator (4.3+) are unknown fields to this server.
    await unary(client, "setAccessRequestState", {
      id: "r1",
      state: RequestState.APPROVED,
      reason: "ok",
      delegator: "d",
    });
    assert.equal(standin.getRequest("r1")?.spec?.resolveReason, "");
    assert.equal(standin.audit.at(-1)?.delegator, undefined);
  });

  await t.test("6.2.1", async (t) => {
    const { client } = await setup(t);
    await assertStatus(
      unary(client, "createAccessRequestV2", {}),
      status.UNIMPLEMENTED,
      unimplemented("CreateAccessRequestV2"),
    );
    const stream = openStream(t, client, "getAccessRequestsV2", {});
    const ended = await stream.ended;
    assert.equal(ended.code, status.UNIMPLEMENTED);
    assert.equal(ended.details, unimplemented("GetAccessRequestsV2"));
  });

  await t.test("18.0.0", async (t) => {
    const { standin, client } = await setup(t, { version: "18.0.0" });
    await assertStatus(
      unary(client, "getAccessRequests", {}),
      status.UNIMPLEMENTED,
      unimplemented("GetAccessRequests"),
    );
    await assertStatus(
      unary(client, "createAccessRequest", {}),
      status.UNIMPLEMENTED,
      unimplemented("CreateAccessRequest"),
    );
    const alice = connect(t, standin.addr, await standin.issueIdentity("alice", ["requester"]));
    const created = await unary(alice, "createAccessRequestV2", {
      metadata: { name: "client-chosen" },
      spec: { user: "alice", roles: ["dba"], requestReason: "now" },
    });
    assert.notEqual(created.metadata?.name, "client-chosen"); // the server sets the ID
    assert.equal(created.spec?.state, RequestState.PENDING);
    assert.notEqual(created.metadata?.revision, "");
    for (const id of ["b", "c", "d", "e"]) standin.createRequest({ id, user: "bob", roles: ["dba"] });

    const pages: string[][] = [];
    let startKey = "";
    do {
      const page = await unary(client, "listAccessRequests", { limit: 2, startKey });
      pages.push(page.accessRequests.map((r) => r.metadata?.name ?? ""));
      startKey = page.nextKey;
    } while (startKey !== "");
    assert.deepEqual(pages.flat().sort(), [created.metadata?.name ?? "", "b", "c", "d", "e"].sort());
    assert.deepEqual(
      pages.map((page) => page.length),
      [2, 2, 1],
    );

    const streamed = openStream(t, client, "getAccessRequestsV2", { user: "bob" });
    assert.equal((await streamed.ended).code, status.OK);
    assert.deepEqual(
      streamed.messages.map((r) => r.metadata?.name),
      ["b", "c", "d", "e"],
    );

    // 18.0 stamps an unset review time and refuses reviews of resolved requests.
    standin.review("b", { author: "carol", state: "DENIED", created: null });
    assert.notEqual(standin.getRequest("b")?.spec?.reviews[0]?.created?.seconds, GO_ZERO_TIME_SECONDS);
    assert.throws(() => standin.review("b", { author: "dave", state: "APPROVED" }), {
      code: status.PERMISSION_DENIED,
      details: "the access request has been already denied",
    });
  });
});

test("restart keeps the store and the port; open watches end UNAVAILABLE", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, identity, client } = await setup(t);
  standin.createRequest({ id: "r1", user: "alice", roles: ["dba"] });
  await unary(client, "updatePluginData", {
    kind: "access_request",
    resource: "r1",
    plugin: PLUGIN,
    set: { post: "p1" },
  });
  const watch = watchAccessRequests(t, client);
  await watch.received(1);
  const port = standin.port;

  await standin.restart({ downtimeMs: 50 });
  assert.equal((await watch.ended).code, status.UNAVAILABLE);
  assert.equal(standin.port, port);

  // The daemon's existing channel reconnects by itself; a fresh one works too.
  assert.equal((await unary(client, "ping", {})).serverVersion, "6.2.1");
  const again = connect(t, standin.addr, identity);
  const [request] = (await unary(again, "getAccessRequests", { id: "r1" })).accessRequests;
  assert.equal(request?.spec?.user, "alice");
  const [data] = (await unary(again, "getPluginData", { kind: "access_request", resource: "r1" })).pluginData;
  assert.deepEqual(data?.spec?.entries[PLUGIN]?.data, { post: "p1" });
  const rewatch = watchAccessRequests(t, again);
  assert.deepEqual((await rewatch.received(1)).map(describeEvent), ["INIT"]);
});

test("dropWatchStreams ends open watches with UNAVAILABLE; a new watch starts with INIT", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  const first = watchAccessRequests(t, client);
  await first.received(1);
  assert.equal(standin.activeWatchCount, 1);

  assert.equal(standin.dropWatchStreams(), 1);
  const ended = await first.ended;
  assert.equal(ended.code, status.UNAVAILABLE);
  assert.equal(standin.activeWatchCount, 0);

  const second = watchAccessRequests(t, client); // same channel: the connection itself survived
  await second.received(1);
  standin.createRequest({ id: "r1", user: "alice", roles: ["dba"] });
  assert.deepEqual((await second.received(2)).map(describeEvent), ["INIT", "PUT r1 PENDING"]);
  assert.equal(first.messages.length, 1);
});

test("refuseConnections and delayMs", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { standin, identity } = await setup(t);
  await standin.refuseConnections(true);
  await assertStatus(unary(connect(t, standin.addr, identity), "ping", {}), status.UNAVAILABLE);
  await standin.refuseConnections(false);
  await unary(connect(t, standin.addr, identity), "ping", {});

  standin.delayMs = 150;
  const started = Date.now();
  await unary(connect(t, standin.addr, identity), "ping", {});
  assert.ok(Date.now() - started >= 140, "the answer was delayed");
});

test("SNI: <hex(cluster)>.teleport.cluster.local works, another prefix aborts the handshake on 6.2.1", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, identity } = await setup(t, { clusterName: "acme" });
  const hexName = `${Buffer.from("acme").toString("hex")}.teleport.cluster.local`;
  assert.equal((await unary(connect(t, standin.addr, identity, hexName), "ping", {})).clusterName, "acme");
  assert.equal(
    (await unary(connect(t, standin.addr, identity, "localhost"), "ping", {})).clusterName,
    "acme",
  );
  await assertStatus(
    unary(connect(t, standin.addr, identity, "acme.teleport.cluster.local"), "ping", {}),
    status.UNAVAILABLE,
  );
});

test("identity files look like tctl auth sign --format=tls output", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const standin = await startStandin(t, { clusterName: "acme.example.com" });
  const dir = await mkdtemp(join(tmpdir(), "standin-identity-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths = await standin.writeIdentity(dir, PLUGIN_USER, [PLUGIN_USER, "editor"]);
  assert.deepEqual(paths, {
    crtPath: join(dir, "auth.crt"),
    keyPath: join(dir, "auth.key"),
    casPath: join(dir, "auth.cas"),
  });
  assert.equal((await stat(paths.keyPath)).mode & 0o777, 0o600);

  const cert = new X509Certificate(await readFile(paths.crtPath));
  const hostCa = new X509Certificate(await readFile(paths.casPath));
  const userCa = new X509Certificate(standin.pki.userCa.cert);
  assert.match(cert.subject, /^CN=access-plugin-mattermost$/m);
  assert.match(cert.subject, /O=access-plugin-mattermost \+ O=editor/);
  assert.ok(cert.verify(userCa.publicKey));
  assert.ok(!cert.verify(hostCa.publicKey));
  assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  assert.equal(hostCa.subject, userCa.subject);
  assert.equal(hostCa.subject, "O=acme.example.com\nCN=acme.example.com");
  assert.match(await readFile(paths.keyPath, "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
});

test("the expiry sweep runs on its own; waitFor and change events report it", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const clock = fakeClock();
  const { standin, client } = await setup(t, { now: clock.now, expiryIntervalMs: 20 });
  const changes: string[] = [];
  standin.on("change", (change) =>
    changes.push(`${change.type} ${change.id}${change.type === "delete" ? ` ${change.reason}` : ""}`),
  );
  standin.createRequest({ id: "r1", user: "alice", roles: ["dba"], ttlMs: 10 * 60_000 });
  const watch = watchAccessRequests(t, client);
  await watch.received(1);

  const write = unary(client, "updatePluginData", {
    kind: "access_request",
    resource: "r1",
    plugin: PLUGIN,
    set: { post: "p1" },
  });
  assert.equal(
    await standin.waitFor(() => standin.pluginData("r1", PLUGIN)?.post, 2000, "plugin data"),
    "p1",
  );
  await write;

  clock.advance(10 * 60_000);
  await standin.waitFor(() => standin.getRequest("r1") === undefined, 2000, "expiry");
  assert.deepEqual((await watch.received(2)).map(describeEvent), ["INIT", "DELETE r1"]);
  assert.deepEqual(changes, ["put r1", "delete r1 expired"]);
  await assert.rejects(
    standin.waitFor(() => false, 50, "never"),
    /timed out after 50 ms waiting for never/,
  );
});

test("selfSignedCert gives a usable server certificate for non-Teleport servers", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const { cert, key } = await selfSignedCert({
    commonName: "callback.local",
    ipAddresses: ["127.0.0.1"],
    days: 2,
  });
  const parsed = new X509Certificate(cert);
  assert.equal(parsed.subject, "CN=callback.local");
  assert.ok(parsed.verify(parsed.publicKey));
  assert.equal(parsed.checkHost("callback.local"), "callback.local");
  assert.equal(parsed.checkIP("127.0.0.1"), "127.0.0.1");
  assert.ok(Date.parse(parsed.validTo) - Date.now() <= 2 * 24 * HOUR_MS + 60_000);
  assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/);
});

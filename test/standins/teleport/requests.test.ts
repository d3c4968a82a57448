/**
 * Access requests: GetAccessRequests filters, SetAccessRequestState rules, the expiry sweep with
 * `waitFor` and change events (src/standins/teleport/requests.ts, request-methods.ts, admin.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { RequestState } from "../../../src/teleport/gen/teleport/types_pb.js";
import {
  assertStatus,
  connect,
  describeEvent,
  fakeClock,
  type Input,
  PLUGIN,
  PLUGIN_USER,
  setup,
  TEST_TIMEOUT_MS,
  unary,
  watchAccessRequests,
} from "./support.js";

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

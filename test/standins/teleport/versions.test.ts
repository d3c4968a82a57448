/**
 * Version profiles: which methods answer UNIMPLEMENTED on 4.2.8, 6.2.1 and 18.0.0, and the
 * version-shaped messages and paging (src/standins/teleport/versions.ts, request-shape.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { RequestState } from "../../../src/teleport/gen/teleport/types_pb.js";
import {
  assertStatus,
  connect,
  GO_ZERO_TIME_SECONDS,
  openStream,
  setup,
  TEST_TIMEOUT_MS,
  unary,
} from "./support.js";

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

/**
 * SubmitAccessReview: author rules, thresholds, and reviews on behalf of a user per version
 * (src/standins/teleport/reviews.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { RequestState } from "../../../src/teleport/gen/teleport/types_pb.js";
import {
  assertStatus,
  connect,
  GO_ZERO_TIME_SECONDS,
  PLUGIN_USER,
  setup,
  startStandin,
  TEST_TIMEOUT_MS,
  unary,
} from "./support.js";

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

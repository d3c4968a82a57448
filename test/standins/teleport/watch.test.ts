/**
 * WatchEvents: INIT, then PUT and DELETE in order; filters on PUT only; bad filters end the
 * stream before INIT; dropped streams (src/standins/teleport/watch.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { describeEvent, fakeClock, HOUR_MS, setup, TEST_TIMEOUT_MS, watchAccessRequests } from "./support.js";

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

/**
 * Plugin data: UpdatePluginData compare-and-swap and GetPluginData, and how long the data
 * outlives its request (src/standins/teleport/plugin-data.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { assertStatus, fakeClock, HOUR_MS, PLUGIN, setup, TEST_TIMEOUT_MS, unary } from "./support.js";

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

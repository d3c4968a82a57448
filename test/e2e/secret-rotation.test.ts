/**
 * Rotating `[mattermost] secret`, as an operator does it: edit the file, send SIGHUP. Pending
 * posts are redrawn with buttons signed by the new secret, so requests can still be decided from
 * Mattermost; two instances with different secrets are noticed and said so. The daemon runs as
 * a child process against the stand-ins.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeRecord } from "../../src/core/plugin-data.js";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import { keyIdOf, verifyActionContext } from "../../src/core/sign.js";
import type { World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { TEST_SECRET } from "../support/daemon-process.js";
import { decide } from "../support/decide.js";
import { openStage } from "../support/stage.js";

const NEW_SECRET = "rotated-secret-9876543210fedcba9876543210";

function rootPost(world: World, requestId: string): StandinPost | undefined {
  return world.mattermost
    .channelPosts(world.channel.id)
    .find((post) => post.props[REQUEST_ID_PROP] === requestId && !post.root_id);
}

/** The secret the post's buttons verify with, if one of `secrets`. */
function signedWith(post: StandinPost | undefined, secrets: string[]): string | undefined {
  const actions = (
    post?.props as { attachments?: Array<{ actions?: Array<{ integration?: { context?: unknown } }> }> }
  )?.attachments?.[0]?.actions;
  const context = actions?.[0]?.integration?.context;
  if (context === undefined) return undefined;
  return secrets.find((secret) => verifyActionContext(secret, context).ok);
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("after SIGHUP with a new secret, the pending post is redrawn with buttons signed by it, and a click decides", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const [oldKeyId, newKeyId] = [await keyIdOf(TEST_SECRET), await keyIdOf(NEW_SECRET)];
  const { daemon, port } = await stage.startDaemon();
  const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "rotate" }).metadata!.name;
  await until(() => signedWith(rootPost(world, id), [TEST_SECRET]) === TEST_SECRET, "the post");
  await until(
    () => decodeRecord(world.teleport.pluginData(id, "mattermost")).keyId === oldKeyId,
    "the record to name the key that signed the buttons",
  );

  await stage.writeConfig({
    listenPort: port,
    replace: { secret: `secret = "${NEW_SECRET}"` },
  });
  daemon.kill("SIGHUP");
  await daemon.waitForLog("Reloaded");
  await until(
    () => signedWith(rootPost(world, id), [TEST_SECRET, NEW_SECRET]) === NEW_SECRET,
    "the post to be redrawn with buttons signed by the new secret",
  );
  await until(
    () => decodeRecord(world.teleport.pluginData(id, "mattermost")).keyId === newKeyId,
    "the record to name the new key",
  );
  assert.ok(!JSON.stringify(world.teleport.pluginData(id, "mattermost")).includes(NEW_SECRET));

  const reply = await decide(world, world.approver, rootPost(world, id)!.id, "approve", "after rotation");
  assert.equal(reply.status, 200, reply.text);
  await until(() => world.teleport.getRequest(id)?.spec?.state === 2, "the request to be approved");
});

test("two instances with different secrets: noticed and warned about, and they stop redrawing each other's posts", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const { daemon: one } = await stage.startDaemon();
  // Two approvals needed, so reviews redraw the pending post.
  const id = world.teleport.createRequest({
    user: "alice",
    roles: ["dba"],
    reason: "two",
    thresholds: { approve: 3, deny: 1 },
  }).metadata!.name;
  await until(() => signedWith(rootPost(world, id), [TEST_SECRET]) === TEST_SECRET, "the first post");

  // Started after the first post: its catch-up redraws it with its own key.
  const { daemon: two } = await stage.startDaemon({
    dir: await stage.tempDir(),
    waitFor: "Catch-up finished",
    replace: { secret: `secret = "${NEW_SECRET}"` },
  });
  // Each reads the record after a review and finds the other's key on a post it drew itself.
  world.teleport.review(id, { author: "bob", state: "APPROVED", reason: "one" });
  await until(() => signedWith(rootPost(world, id), [NEW_SECRET]) === NEW_SECRET, "the second to redraw");
  world.teleport.review(id, { author: "carol", state: "APPROVED", reason: "two" });
  const warning = "Another teleport-mattermost instance signs buttons with a different [mattermost] secret";
  const warned = await Promise.race([
    one.waitForLog((line) => line.msg.startsWith(warning), 20_000),
    two.waitForLog((line) => line.msg.startsWith(warning), 20_000),
  ]);
  assert.ok(warned["other_key_id"]);

  // Warned, they leave each other's buttons alone: the post stops changing.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const settled = rootPost(world, id)!.update_at;
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  assert.equal(rootPost(world, id)!.update_at, settled, "the post is still being redrawn");
});

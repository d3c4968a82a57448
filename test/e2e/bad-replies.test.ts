/**
 * Replies from Mattermost that are not what the API promises (issue 12, item 2), produced the
 * way a proxy or firewall in front of Mattermost produces them, against the daemon as a child
 * process: every one is retried as a transient error, no post is doubled, and nothing malformed
 * reaches plugin data.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { World } from "../../src/demo/world.js";
import type { FaultSpec, StandinPost } from "../../src/standins/mattermost/index.js";
import type { DaemonProcess } from "../support/daemon-process.js";
import { postStatus, waitUntil } from "../support/fault-suite.js";
import { suiteStage } from "../support/stage.js";

const STATUS_OK = { status: 201, contentType: "application/json", body: '{"status":"OK"}' };
const LOGIN_PAGE = {
  status: 200,
  contentType: "text/html; charset=utf-8",
  body: "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Single sign-on</body></html>",
};
const RECORD = /^[a-z0-9]{26}\/[a-z0-9]{26}$/;

let world: World;
let daemon: DaemonProcess;

const creates = (req: { method: string; path: string }) =>
  req.method === "POST" && req.path === "/api/v4/posts";

function postsFor(id: string): StandinPost[] {
  return world.mattermost
    .channelPosts(world.channel.id)
    .filter((post) => !post.root_id && post.props[REQUEST_ID_PROP] === id);
}

/** Every value ever written for `id` is checked: no `undefined`, every post pair well formed. */
function assertRecordSound(id: string): void {
  const data = world.teleport.pluginData(id, "mattermost") ?? {};
  assert.doesNotMatch(JSON.stringify(data), /undefined/);
  assert.match(data["messages"] ?? "", RECORD);
  const [post] = postsFor(id);
  assert.equal(data["messages"], `${world.channel.id}/${post?.id}`, "the record names the real post");
}

/** Creates a request while `fault` (if any) is active and waits until it is posted and recorded. */
async function postedThrough(fault: FaultSpec | null, reason: string, timeoutMs = 30_000): Promise<string> {
  world.mattermost.faults = fault;
  const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason }).metadata!.name;
  assert.ok(
    await waitUntil(
      () =>
        postsFor(id).length === 1 &&
        world.teleport.pluginData(id, "mattermost")?.["messages"] !== undefined &&
        world.teleport.pluginData(id, "mattermost")?.["claim"] === undefined,
      timeoutMs,
    ),
    `request "${reason}" posted and recorded`,
  );
  world.mattermost.faults = null;
  return id;
}

suiteStage({}, async (stage) => {
  world = stage.world;
  ({ daemon } = await stage.startDaemon({ timeoutMs: 30_000 }));
});

test('201 {"status":"OK"} to POST /api/v4/posts: one real post, recorded, and it updates', async () => {
  const id = await postedThrough(
    { proxyAnswer: STATUS_OK, forwarded: true, times: 3, match: creates },
    "status ok",
  );
  assertRecordSound(id);
  const retry = daemon.lines.find(
    (line) =>
      line.msg === "Mattermost call failed, retrying" && String(line["reason"]).startsWith("malformed"),
  );
  assert.ok(retry, "the retry is logged");
  assert.equal(retry["level"], "warn");
  assert.equal(retry["method"], "POST");
  assert.equal(retry["path"], "posts");
  assert.match(String(retry["reason"]), /id: /);
  world.teleport.approve(id, { reason: "tctl" });
  assert.ok(
    await waitUntil(() => postStatus(postsFor(id)[0]) === "APPROVED", 15_000),
    "the post shows APPROVED",
  );
  assert.equal(postsFor(id).length, 1);
});

test("truncated JSON is transient: posted after a short backoff, once", async () => {
  const id = await postedThrough({ truncated: true, times: 3, match: creates }, "truncated", 20_000);
  assertRecordSound(id);
});

test("an HTML page from a proxy in place of a post update: retried until the post really shows it", async () => {
  const id = await postedThrough(null, "html");
  world.mattermost.faults = {
    proxyAnswer: LOGIN_PAGE,
    times: 3,
    match: (req) => req.method === "PUT" && req.path.endsWith("/patch"),
  };
  world.teleport.approve(id, { reason: "tctl" });
  assert.ok(
    await waitUntil(
      () =>
        postStatus(postsFor(id)[0]) === "APPROVED" &&
        world.teleport.pluginData(id, "mattermost")?.["rendered"] === "APPROVED",
      20_000,
    ),
    "the post and the record show APPROVED",
  );
  world.mattermost.faults = null;
  assertRecordSound(id);
});

test("a create answered malformed for longer than pending_post_id lasts: the post is found, not doubled", async () => {
  const id = await postedThrough(
    { proxyAnswer: STATUS_OK, forwarded: true, forMs: 28_000, match: creates },
    "long outage",
    60_000,
  );
  assertRecordSound(id);
  assert.ok(
    daemon.lines.some(
      (line) =>
        line.msg === "Found the post an earlier attempt made; recording it" && line["request_id"] === id,
    ),
  );
});

/**
 * Real people's names: single sign-on makes Teleport users like `Alice` or
 * `Carol.Jones@Example.org`, while Mattermost stores names and emails in lower case and answers
 * 400 to a username look-up in another case. The daemon runs as a child process against the
 * stand-ins.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { reviewToml } from "../support/daemon-process.js";
import { decide } from "../support/decide.js";
import { openStage } from "../support/stage.js";

function rootPosts(world: World, channelId: string, requestId: string): StandinPost[] {
  return world.mattermost
    .channelPosts(channelId)
    .filter((post) => post.props[REQUEST_ID_PROP] === requestId && !post.root_id);
}

function field(post: StandinPost | undefined, title: string): string | undefined {
  const attachments = (
    post?.props as { attachments?: Array<{ fields?: Array<{ title: string; value: string }> }> }
  )?.attachments;
  return attachments?.[0]?.fields?.find((f) => f.title === title)?.value;
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("requester Alice and suggested reviewer Bob reach Mattermost's alice and bob; reviewers are resolved before the cap; names in posts are exact", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const carol = world.mattermost.createUser({ username: "carol.jones", email: "Carol.Jones@Example.org" });
  const { daemon } = await stage.startDaemon({ replace: { severity: 'severity = "info"' } });
  const bobDm = world.mattermost.directChannel(world.bot.user.id, world.approver.user.id).id;
  const aliceDm = world.mattermost.directChannel(world.bot.user.id, world.requester.user.id).id;
  const carolDm = world.mattermost.directChannel(world.bot.user.id, carol.id).id;

  const id = world.teleport.createRequest({
    user: "Alice",
    roles: ["dba"],
    reason: "sso",
    suggestedReviewers: ["Bob"],
  }).metadata!.name;
  await until(() => rootPosts(world, bobDm, id).length === 1, "a DM to bob");
  world.teleport.approve(id, { reason: "tctl" });
  await until(
    () => world.mattermost.channelPosts(aliceDm).some((post) => post.message.includes("was **✅ APPROVED**")),
    "the outcome DM to alice",
  );
  assert.ok(!daemon.lines.some((line) => line.msg.includes("is not a Mattermost user")));

  // Ten names without an account come first; the eleventh, an email in another case, still gets its DM.
  const ghosts = Array.from({ length: 10 }, (_, i) => `ghost${i}`);
  const second = world.teleport.createRequest({
    user: "Carol.Jones@Example.org",
    roles: ["dba"],
    reason: "many",
    suggestedReviewers: [...ghosts, "CAROL.JONES@EXAMPLE.ORG"],
  }).metadata!.name;
  await until(() => rootPosts(world, carolDm, second).length === 1, "a DM to carol");
  // A name shown in a code span is the name, copy-paste exact (no invisible characters added).
  assert.equal(field(rootPosts(world, world.channel.id, second)[0], "User"), "`Carol.Jones@Example.org`");

  // Each name without an account is said once, at info, with the reason.
  const third = world.teleport.createRequest({
    user: "alice",
    roles: ["dba"],
    suggestedReviewers: ["ghost0"],
  }).metadata!.name;
  await until(() => rootPosts(world, world.channel.id, third).length === 1, "the third post");
  const ghostLines = daemon.lines.filter((line) => line["reviewer"] === "ghost0");
  assert.equal(ghostLines.length, 1, JSON.stringify(ghostLines));
  assert.equal(ghostLines[0]?.level, "info");
  assert.match(String(ghostLines[0]?.["reason"]), /no user named ghost0/);
});

test("[review] names match Mattermost's in any case: Bob mapped and listed as approver decides as bob", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  await stage.startDaemon({
    review: reviewToml(["Bob"], ["BOB"]).replace('"Bob" = "Bob"', '"Bob" = "bob"'),
  });
  const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "case" }).metadata!.name;
  await until(() => rootPosts(world, world.channel.id, id).length === 1, "the post");
  const reply = await decide(
    world,
    world.approver,
    rootPosts(world, world.channel.id, id)[0]!.id,
    "approve",
    "ok",
  );
  assert.equal(reply.status, 200, reply.text);
  await until(() => world.teleport.getRequest(id)?.spec?.state === 2, "the request to be approved");
});

/**
 * Where posts go and what follows them, as an operator configures it: recipients and role
 * routing, suggested reviewers' DMs, every post kept in step, reviews and outcome in threads,
 * the requester's DM, and reminders — the CLI as a child process against the stand-ins.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { TEST_SECRET } from "../support/daemon-process.js";
import { decide } from "../support/decide.js";
import { openStage } from "../support/stage.js";

function status(post: StandinPost | undefined): string | undefined {
  const attachments = (
    post?.props as { attachments?: Array<{ fields?: Array<{ title: string; value: string }> }> }
  )?.attachments;
  return attachments?.[0]?.fields?.find((f) => f.title === "Status")?.value;
}

function hasButtons(post: StandinPost | undefined): boolean {
  const attachments = (post?.props as { attachments?: Array<{ actions?: unknown[] }> })?.attachments;
  return (attachments?.[0]?.actions?.length ?? 0) > 0;
}

/** Every root post the bot made for a request, in any channel. */
function rootPosts(world: World, requestId: string, channels: string[]): StandinPost[] {
  return channels.flatMap((channel) =>
    world.mattermost
      .channelPosts(channel)
      .filter((post) => post.props[REQUEST_ID_PROP] === requestId && !post.root_id),
  );
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test("recipients, role routing and suggested reviewers each get a post, all kept in step, with threads and a DM to the requester", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const mm = world.mattermost;
  const security = mm.createChannel(world.team.id, "security");
  const dbaTeam = mm.createChannel(world.team.id, "dba-team");
  for (const channel of [security, dbaTeam]) mm.addChannelMember(channel.id, world.bot.user.id);
  const carol = mm.createUser({ username: "carol", email: "carol@example.com" });
  const dave = mm.createUser({ username: "dave", email: "dave@example.com" });
  const { daemon } = await stage.startDaemon({
    replace: {
      secret: `secret = "${TEST_SECRET}"\nrecipients = ["carol@example.com", "acme/security", "acme/nope"]`,
    },
    extra: '[role_to_recipients]\n"dba" = "acme/dba-team"\n"*" = "acme/security"',
  });

  const request = world.teleport.createRequest({
    user: "alice",
    roles: ["dba"],
    reason: "routing",
    suggestedReviewers: ["dave", "ghost"],
    // Two approvals needed, so the review below leaves it pending.
    thresholds: { approve: 2, deny: 1 },
  });
  const id = request.metadata!.name;
  const carolDm = mm.directChannel(world.bot.user.id, carol.id).id;
  const daveDm = mm.directChannel(world.bot.user.id, dave.id).id;
  const channels = [world.channel.id, security.id, dbaTeam.id, carolDm, daveDm];
  await until(() => rootPosts(world, id, channels).length === 5, "five posts");
  for (const channel of channels) {
    assert.equal(rootPosts(world, id, [channel]).length, 1, `one post in ${channel}`);
  }
  assert.ok(rootPosts(world, id, channels).every(hasButtons));
  await daemon.waitForLog(
    (line) => line.msg.includes("other posts go ahead") && line["recipient"] === "acme/nope",
  );

  // A review in Teleport becomes a reply in every thread.
  world.teleport.review(id, { author: "bob", state: "APPROVED", reason: "fine by me" });
  await until(
    () =>
      channels.every((channel) =>
        mm.channelPosts(channel).some((post) => post.root_id && post.message.includes("fine by me")),
      ),
    "review replies in every thread",
  );

  // Approving through the DM's button updates every post and drops the buttons everywhere.
  const inDm = rootPosts(world, id, [carolDm])[0]!;
  mm.addChannelMember(carolDm, world.approver.user.id);
  const reply = await decide(world, world.approver, inDm.id, "approve", "from the DM");
  assert.equal(reply.status, 200, reply.text);
  await until(
    () => rootPosts(world, id, channels).every((post) => status(post) === "✅ APPROVED" && !hasButtons(post)),
    "every post approved without buttons",
  );
  await until(
    () =>
      channels.every((channel) =>
        mm.channelPosts(channel).some((post) => post.root_id && post.message.includes("APPROVED")),
      ),
    "outcome replies",
  );
  const aliceDm = mm.directChannel(world.bot.user.id, world.requester.user.id).id;
  await until(
    () => mm.channelPosts(aliceDm).some((post) => post.message.includes("APPROVED")),
    "the requester's DM",
  );
  assert.equal(mm.channelPosts(aliceDm).length, 1);
  assert.equal(
    daemon.lines.filter((line) => line["recipient"] === "acme/nope").length,
    1,
    "the missing channel is logged once",
  );
});

test("a request still pending gets reminders in its thread, which stop once it is decided", async (t) => {
  // The stand-in's clock runs 30 min minus 2 s behind: requests look that old at creation.
  const shift = 30 * 60_000 - 2_000;
  const stage = await openStage(t, { teleport: { now: () => new Date(Date.now() - shift) } });
  const { world } = stage;
  const { daemon } = await stage.startDaemon({ extra: '[reminders]\nafter = "30m"\nevery = "1h"' });
  const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "remind me" });
  const id = request.metadata!.name;
  const reminders = () =>
    world.mattermost
      .channelPosts(world.channel.id)
      .filter((post) => post.root_id && post.message.startsWith("⏰"));
  await until(() => reminders().length === 1, "a reminder", 15_000);
  assert.match(reminders()[0]!.message, /pending for 30 min/);
  await until(
    () => world.teleport.pluginData(id, "mattermost")?.["reminders"] === "1",
    "the reminder recorded",
  );
  world.teleport.approve(id);
  await daemon.waitForLog("Successfully marked request as APPROVED in all messages");
  assert.equal(reminders().length, 1);
});

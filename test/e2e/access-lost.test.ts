/**
 * The bot loses a channel and gets it back, as an operator would see it: the daemon as a child
 * process against the stand-ins. The plugin record says only what the posts show, one failing
 * recipient never blocks the others, and every post catches up within 30 s of access returning.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeRecord } from "../../src/core/plugin-data.js";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { openStage } from "../support/stage.js";

/** What the issue promises: every post catches up this soon after the bot is back. */
const CATCH_UP_MS = 30_000;

function field(post: StandinPost | undefined, title: string): string | undefined {
  const attachments = (
    post?.props as { attachments?: Array<{ fields?: Array<{ title: string; value: string }> }> }
  )?.attachments;
  return attachments?.[0]?.fields?.find((f) => f.title === title)?.value;
}

function buttons(post: StandinPost | undefined): number {
  const attachments = (post?.props as { attachments?: Array<{ actions?: unknown[] }> })?.attachments;
  return attachments?.[0]?.actions?.length ?? 0;
}

function rootPost(world: World, channelId: string, requestId: string): StandinPost | undefined {
  return world.mattermost
    .channelPosts(channelId)
    .find((post) => post.props[REQUEST_ID_PROP] === requestId && !post.root_id);
}

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

test("bot removed from the channel, a posted request approved, the bot added back: the post shows APPROVED without buttons, and a request created meanwhile is posted, within 30 s", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const { daemon } = await stage.startDaemon({ replace: { severity: 'severity = "info"' } });

  const first = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "before" }).metadata!
    .name;
  await until(() => buttons(rootPost(world, world.channel.id, first)) === 2, "the first post", 10_000);

  world.mattermost.removeChannelMember(world.channel.id, world.bot.user.id);
  world.teleport.approve(first, { reason: "tctl" });
  // The record says which post could not be redrawn instead of claiming it shows APPROVED.
  await until(
    () => decodeRecord(world.teleport.pluginData(first, "mattermost")).lagging.includes(world.channel.id),
    "the record to name the post it could not redraw",
    10_000,
  );
  assert.equal(field(rootPost(world, world.channel.id, first), "Status"), "⏳ PENDING");
  const second = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "meanwhile" })
    .metadata!.name;
  // Said once for the channel (the failed redraw came first), with the fix.
  const refused = await daemon.waitForLog((line) =>
    line.msg.startsWith("Cannot update a post in acme/access-requests"),
  );
  assert.match(String(refused["fix"]), /\/invite @teleport/);
  await until(
    () => decodeRecord(world.teleport.pluginData(second, "mattermost")).unposted.length === 1,
    "the second request's record to say it is not posted",
    10_000,
  );
  assert.equal(rootPost(world, world.channel.id, second), undefined);

  world.mattermost.addChannelMember(world.channel.id, world.bot.user.id);
  const caughtUp = await until(
    () => {
      const approved = rootPost(world, world.channel.id, first);
      const created = rootPost(world, world.channel.id, second);
      return field(approved, "Status") === "✅ APPROVED" && buttons(approved) === 0 && buttons(created) === 2;
    },
    "both posts to catch up",
    CATCH_UP_MS,
  );
  t.diagnostic(`caught up ${caughtUp} ms after the bot was added back`);
  // The record catches up right after the post it describes.
  await until(
    () => decodeRecord(world.teleport.pluginData(first, "mattermost")).lagging.length === 0,
    "the record to say every post shows APPROVED",
    10_000,
  );
  assert.equal(decodeRecord(world.teleport.pluginData(first, "mattermost")).rendered, "APPROVED");
  // Said once per recipient, not once per request or retry.
  const warnings = daemon.lines.filter((line) => line.msg.startsWith("Cannot ")).length;
  assert.ok(warnings <= 2, `${warnings} warnings about the lost channel`);
});

test("one recipient refusing does not block the others: channel lost, recipients = [acme/security] still gets the post", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const security = world.mattermost.createChannel(world.team.id, "security");
  world.mattermost.addChannelMember(security.id, world.bot.user.id);
  const { daemon } = await stage.startDaemon({
    replace: {
      severity: 'severity = "info"',
      secret: 'secret = "test-secret-0123456789abcdef0123456789"\nrecipients = ["acme/security"]',
    },
  });

  world.mattermost.removeChannelMember(world.channel.id, world.bot.user.id);
  const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "split" }).metadata!.name;
  await until(() => buttons(rootPost(world, security.id, id)) === 2, "the post in ~security", 10_000);
  await until(
    () => decodeRecord(world.teleport.pluginData(id, "mattermost")).unposted.length > 0,
    "the record to name the recipient not posted to",
    10_000,
  );
  const record = decodeRecord(world.teleport.pluginData(id, "mattermost"));
  assert.deepEqual(record.unposted, ["acme/access-requests"]);
  const refused = await daemon.waitForLog((line) =>
    line.msg.startsWith("Cannot post to acme/access-requests"),
  );
  assert.match(String(refused["fix"]), /\/invite @teleport/);

  world.mattermost.addChannelMember(world.channel.id, world.bot.user.id);
  await until(
    () => buttons(rootPost(world, world.channel.id, id)) === 2,
    "the post in ~access-requests",
    CATCH_UP_MS,
  );
  await until(
    () => decodeRecord(world.teleport.pluginData(id, "mattermost")).unposted.length === 0,
    "the record to say every recipient is posted",
    10_000,
  );
  assert.equal(world.mattermost.channelPosts(security.id).filter((post) => !post.root_id).length, 1);
});

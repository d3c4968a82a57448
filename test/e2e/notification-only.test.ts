/**
 * The setup Teleport's own Mattermost plugin runs by default: no team and channel, no [review]
 * (nobody can decide from Mattermost). Requests reach their suggested reviewers by DM, posts show
 * how to decide in Teleport instead of buttons that would refuse every click, a request with
 * nowhere to go is left alone, and a config with nowhere to post at all says so at start. The CLI
 * runs as a child process against the stand-ins.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import { createWorld, type World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { DaemonProcess, writeDaemonConfig } from "../support/daemon-process.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

interface Attachment {
  fields?: Array<{ title: string; value: string }>;
  actions?: unknown[];
}

function attachment(post: StandinPost | undefined): Attachment | undefined {
  return (post?.props as { attachments?: Attachment[] } | undefined)?.attachments?.[0];
}

function field(post: StandinPost | undefined, title: string): string | undefined {
  return attachment(post)?.fields?.find((f) => f.title === title)?.value;
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** No team, channel, recipients or [review]: what `configure` of Teleport's own plugin leaves. */
const PEER_DEFAULT = { replace: { team: "", channel: "" }, review: "" };

describe("notification only, as Teleport's own plugin runs", () => {
  let world: World;
  let dir: TempDir;
  let daemon: DaemonProcess;

  before(async () => {
    world = await createWorld();
    dir = await makeTempDir();
    const { configPath } = await writeDaemonConfig(dir, world, PEER_DEFAULT);
    daemon = new DaemonProcess(["start", "-c", configPath]);
    await daemon.waitForLog("Watcher connected");
  });

  after(async () => {
    await daemon?.stop();
    await world?.stop();
    await dir?.remove();
  });

  test("starts, and says once that posts show Teleport's link and commands instead of buttons", () => {
    const warnings = daemon.lines.filter((line) => line.level === "warn").map((line) => line.msg);
    assert.deepEqual(
      warnings.filter((msg) => !msg.startsWith("No TLS key pair given")),
      [
        "No way to map Mattermost users to Teleport users is configured ([review.users], mattermost_user_trait or allow_email_username_match), so no decision can be made from Mattermost: posts show the link to Teleport and the tsh request review commands instead of Approve and Deny buttons",
      ],
    );
  });

  test("a request is DMed to its suggested reviewers, with the web UI link and both tsh commands, no buttons", async () => {
    const request = world.teleport.createRequest({
      user: "alice",
      roles: ["dba"],
      reason: "notify only",
      suggestedReviewers: ["bob", "ghost"],
    });
    const id = request.metadata!.name;
    const dm = world.mattermost.directChannel(world.bot.user.id, world.approver.user.id).id;
    const rootPost = () =>
      world.mattermost.channelPosts(dm).find((post) => post.props[REQUEST_ID_PROP] === id && !post.root_id);
    await until(() => rootPost() !== undefined, "the DM to bob");
    const post = rootPost();
    assert.equal(attachment(post)?.actions, undefined, "no buttons");
    assert.equal(
      field(post, "Decide in Teleport"),
      `[Open the request in Teleport](https://teleport.example.com:3080/web/requests/${id})\n` +
        `\`tsh request review --approve ${id}\`\n\`tsh request review --deny ${id}\``,
    );
    assert.equal(world.mattermost.channelPosts(world.channel.id).length, 0, "no channel is configured");

    world.teleport.approve(id, { reason: "done in tctl" });
    await until(() => field(rootPost(), "Status") === "✅ APPROVED", "the DM post approved");
  });

  test("a request with nowhere to go is logged once and left alone: no error, no claim", async () => {
    const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "nobody" });
    const id = request.metadata!.name;
    const logged = await daemon.waitForLog(
      (line) => line["request_id"] === id && /^Request not posted/.test(line.msg),
    );
    assert.equal(
      logged.msg,
      "Request not posted: no channel, recipient or [role_to_recipients] entry applies to it and none of its suggested reviewers is a Mattermost user",
    );
    assert.equal(logged.level, "info");
    // Another event for it (a reconnect's catch-up) does not repeat the line.
    world.teleport.dropWatchStreams();
    await daemon.waitForLogCount("Catch-up finished", 2);
    const about = daemon.lines.filter((line) => line["request_id"] === id && line.level !== "debug");
    assert.deepEqual(
      about.map((line) => line.msg),
      [logged.msg],
    );
    assert.equal(world.teleport.pluginData(id, "mattermost"), undefined, "no claim left behind");
    assert.deepEqual(
      daemon.lines.filter((line) => line.level === "error"),
      [],
    );
  });
});

test("nowhere to post at all: start says so, naming the line and the fix", async (t) => {
  const world = await createWorld();
  const dir = await makeTempDir();
  t.after(async () => {
    await world.stop();
    await dir.remove();
  });
  const { configPath } = await writeDaemonConfig(dir, world, {
    ...PEER_DEFAULT,
    replace: { team: "", channel: "dm_suggested_reviewers = false" },
  });
  const daemon = new DaemonProcess(["start", "-c", configPath]);
  t.after(() => daemon.stop());
  const warning = await daemon.waitForLog(/no request will ever be posted/);
  assert.equal(warning.level, "warn");
  assert.match(
    warning.msg,
    /^config \S+teleport-mattermost\.toml line 10: no request will ever be posted: \[mattermost\] names no team and channel and no recipients, there is no \[role_to_recipients\], and dm_suggested_reviewers = false\. Set team and channel, recipients/,
  );
  await daemon.waitForLog("Watcher connected");
});

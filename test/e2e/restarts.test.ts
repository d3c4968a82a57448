/**
 * Restarts and more than one instance, with the CLI as a child process: a restarted daemon does
 * not post twice, two daemons on one cluster post each request once (claims by compare-and-swap),
 * and at start a daemon catches up on what changed while it was stopped (ARCHITECTURE.md §3).
 */
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { World } from "../../src/demo/world.js";
import type { DaemonProcess } from "../support/daemon-process.js";
import { openStage } from "../support/stage.js";

describe("restarts", () => {
  /** A world of its own and a way to start daemons on it, all stopped after the test. */
  async function restartableWorld(t: TestContext): Promise<{ world: World; start(): DaemonProcess }> {
    const stage = await openStage(t);
    const { configPath } = await stage.writeConfig();
    return { world: stage.world, start: () => stage.spawn(["start", "-c", configPath]) };
  }

  test("a restarted daemon does not post a request twice and still updates its post", async (t) => {
    const { world, start } = await restartableWorld(t);
    const first = start();
    await first.waitForLog("Watcher connected");
    const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "once" });
    const id = request.metadata!.name;
    await world.teleport.waitFor(
      () => world.teleport.pluginData(id, "mattermost")?.["messages"],
      10_000,
      "posted",
    );
    assert.equal(await first.stop(), 0);
    assert.ok(first.messages().includes("Successfully shut down"));

    const second = start();
    await second.waitForLog("Watcher connected");
    world.teleport.approve(id);
    await world.mattermost.waitFor(
      (event) => event.type === "post_updated" && JSON.stringify(event.post.props).includes("APPROVED"),
      10_000,
    );
    const posts = world.mattermost
      .channelPosts(world.channel.id)
      .filter((post) => JSON.stringify(post.props).includes(id));
    assert.equal(posts.length, 1);
    assert.equal(await second.stop(), 0);
  });

  test("two daemons on one cluster post each new request once", async (t) => {
    const stage = await openStage(t);
    const { world } = stage;
    // Each on a config (and callback port) of its own.
    const { daemon: second } = await stage.startDaemon({ dir: await stage.tempDir(), waitFor: null });
    const { daemon: first } = await stage.startDaemon({ waitFor: null });
    await Promise.all([first.waitForLog("Catch-up finished"), second.waitForLog("Catch-up finished")]);
    // Both see every event; each claims by compare-and-swap, so one posts and the other backs off.
    const ids = Array.from(
      { length: 20 },
      (_, i) =>
        world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: `twice? ${i}` }).metadata!.name,
    );
    for (const id of ids) {
      await world.teleport.waitFor(
        () => world.teleport.pluginData(id, "mattermost")?.["messages"],
        10_000,
        id,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const posts = world.mattermost.channelPosts(world.channel.id);
    assert.equal(posts.length, ids.length);
    for (const id of ids) {
      assert.equal(posts.filter((post) => JSON.stringify(post.props).includes(id)).length, 1, id);
    }
  });

  test("at start it catches up on what changed while it was stopped, and leaves up-to-date posts alone", async (t) => {
    const { world, start } = await restartableWorld(t);
    const first = start();
    await first.waitForLog("Catch-up finished");
    const ids = ["up to date", "approved meanwhile"].map(
      (reason) => world.teleport.createRequest({ user: "alice", roles: ["dba"], reason }).metadata!.name,
    );
    for (const id of ids) {
      await world.teleport.waitFor(
        () => world.teleport.pluginData(id, "mattermost")?.["messages"],
        10_000,
        id,
      );
    }
    assert.equal(await first.stop(), 0);

    const [upToDate, approved] = ids as [string, string];
    world.teleport.approve(approved);
    const created = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "while stopped" });
    const createdId = created.metadata!.name;
    const second = start();
    const finished = await second.waitForLog("Catch-up finished");
    assert.equal(finished["requests"], 3);
    // One listing of all plugin data decides; only the two requests that changed are synced.
    assert.equal(finished["queued"], 2);
    assert.equal(world.teleport.pluginData(approved, "mattermost")?.["rendered"], "APPROVED");
    assert.equal(world.teleport.pluginData(createdId, "mattermost")?.["rendered"], "PENDING");
    assert.equal(world.teleport.pluginData(upToDate, "mattermost")?.["rendered"], "PENDING");
    const posts = world.mattermost.channelPosts(world.channel.id).filter((post) => !post.root_id);
    assert.equal(posts.length, 3, "one post per request, none twice");
    assert.equal(await second.stop(), 0);
  });
});

/**
 * How a new request reaches Mattermost, with the CLI as a child process: posted first and
 * recorded after while it is young (one Teleport write, never a claim), claimed first with
 * `[mattermost] ha_cluster = true`, and a post an earlier attempt made but never recorded is
 * found or folded (pending_post_id), never doubled.
 */
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { waitUntil } from "../support/fault-suite.js";
import { postRaw } from "../support/http.js";
import { openStage, type Stage } from "../support/stage.js";

/** Older than Mattermost's 30 s pending_post_id window (MATTERMOST-API.md §10). */
const OLD_MS = 45_000;

function rootPostsFor(world: World, id: string): StandinPost[] {
  return world.mattermost
    .channelPosts(world.channel.id)
    .filter((post) => !post.root_id && post.props[REQUEST_ID_PROP] === id);
}

/** Every plugin-data write for `id`, in order. */
function writesFor(world: World, id: string): Array<Record<string, string> | undefined> {
  const writes: Array<Record<string, string> | undefined> = [];
  world.teleport.on("pluginData", (event: { id: string; data: Record<string, string> | undefined }) => {
    if (event.id === id) writes.push(event.data);
  });
  return writes;
}

/** A post by the bot for request `id`, made through the API as an earlier attempt would have. */
async function botPost(world: World, id: string, pendingPostId?: string): Promise<string> {
  const reply = await postRaw(
    `${world.mattermost.url}/api/v4/posts`,
    JSON.stringify({
      channel_id: world.channel.id,
      message: "",
      props: { [REQUEST_ID_PROP]: id },
      ...(pendingPostId ? { pending_post_id: pendingPostId } : {}),
    }),
    "application/json",
    { Authorization: `Bearer ${world.bot.token}` },
  );
  assert.equal(reply.status, 201, reply.text);
  return (JSON.parse(reply.text) as { id: string }).id;
}

/** Searches of a channel for an earlier post: `GET /channels/{id}/posts?since=…`. */
function channelSearches(world: World) {
  return world.mattermost.requests.filter(
    (entry) => entry.method === "GET" && entry.path.endsWith("/posts") && entry.query["since"] !== undefined,
  );
}

async function recorded(world: World, id: string): Promise<string> {
  assert.ok(
    await waitUntil(() => {
      const data = world.teleport.pluginData(id, "mattermost");
      return data?.["messages"] !== undefined && data["claim"] === undefined;
    }, 20_000),
    `request ${id} posted and recorded`,
  );
  return world.teleport.pluginData(id, "mattermost")!["messages"]!;
}

describe("posting path", () => {
  test("a new request is posted first and recorded after: one Teleport write, no claim", async (t) => {
    const stage = await openStage(t);
    const { world } = stage;
    await stage.startDaemon({ waitFor: "Catch-up finished" });
    const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "fast" }).metadata!.name;
    const writes = writesFor(world, id);
    const messages = await recorded(world, id);
    const [post] = rootPostsFor(world, id);
    assert.equal(messages, `${world.channel.id}/${post!.id}`);
    assert.equal(writes.length, 1, "the record is written once, after the post");
    assert.equal(writes[0]?.["claim"], undefined, "no claim");
  });

  test("deleted in Teleport while its post was being recorded: the post still ends EXPIRED", async (t) => {
    const stage = await openStage(t);
    const { world } = stage;
    await stage.startDaemon({ waitFor: "Catch-up finished" });
    // The record write lands after the deletion: Teleport then has no data for the request.
    world.teleport.delayMs = 300;
    const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "gone" }).metadata!.name;
    assert.ok(await waitUntil(() => rootPostsFor(world, id).length === 1, 10_000, 5), "posted");
    world.teleport.deleteRequest(id);
    world.teleport.delayMs = 0;
    const [post] = rootPostsFor(world, id);
    assert.ok(
      await waitUntil(
        () => JSON.stringify(world.mattermost.post(post!.id)?.props).includes("EXPIRED"),
        15_000,
      ),
      "the post shows EXPIRED",
    );
    assert.equal(rootPostsFor(world, id).length, 1);
  });

  test("with ha_cluster = true a new request is claimed in Teleport before it is posted", async (t) => {
    const stage = await openStage(t);
    const { world } = stage;
    // "$&" is the matched line itself: the key goes in under [mattermost], after it.
    await stage.startDaemon({ waitFor: "Catch-up finished", replace: { secret: "$&\nha_cluster = true" } });
    const order: string[] = [];
    world.mattermost.events.on("post_created", () => order.push("post"));
    world.teleport.on("pluginData", ({ data }: { data: Record<string, string> | undefined }) =>
      order.push(data?.["claim"] ? "claim" : "record"),
    );
    const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "ha" }).metadata!.name;
    await recorded(world, id);
    assert.deepEqual(order, ["claim", "post", "record"]);
  });

  /** A stage whose Teleport creates requests `ageMs` in the past while `shift.ms` says so. */
  async function shiftedStage(t: TestContext): Promise<{ stage: Stage; shift: { ms: number } }> {
    const shift = { ms: 0 };
    const stage = await openStage(t, { teleport: { now: () => new Date(Date.now() - shift.ms) } });
    return { stage, shift };
  }

  test("an unrecorded request older than Mattermost's window: the bot's earlier post is found and recorded, not doubled", async (t) => {
    const { stage, shift } = await shiftedStage(t);
    const { world } = stage;
    // Created 45 s ago and posted then by an attempt that stopped before recording it.
    shift.ms = OLD_MS;
    const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "old" }).metadata!.name;
    shift.ms = 0;
    const earlier = await botPost(world, id);
    const { daemon } = await stage.startDaemon({ waitFor: null });
    const messages = await recorded(world, id);
    assert.equal(messages, `${world.channel.id}/${earlier}`, "the record names the earlier post");
    assert.equal(rootPostsFor(world, id).length, 1, "not posted twice");
    assert.ok(
      daemon.lines.some(
        (line) =>
          line.msg === "Found the post an earlier attempt made; recording it" && line["request_id"] === id,
      ),
    );
  });

  test("seen created while watching but posted late (a backlog): no search for an earlier post", async (t) => {
    const { stage, shift } = await shiftedStage(t);
    const { world } = stage;
    await stage.startDaemon({ waitFor: "Catch-up finished" });
    // Its creation arrives as an event, but it is already older than Mattermost's window when
    // its turn comes, as behind a long backlog.
    shift.ms = OLD_MS;
    const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "late" }).metadata!.name;
    shift.ms = 0;
    await recorded(world, id);
    assert.equal(rootPostsFor(world, id).length, 1);
    const searches = channelSearches(world);
    assert.deepEqual(searches, [], "one call for its post, none to search");
  });

  test("created after the watch connected, while the first listing was on its way: seen created, no search", async (t) => {
    const { stage, shift } = await shiftedStage(t);
    const { world } = stage;
    // Every Teleport call slowed: the catch-up's listing comes back after these are created.
    world.teleport.delayMs = 300;
    await stage.startDaemon({ waitFor: "Watcher connected" });
    shift.ms = OLD_MS;
    const ids = ["a", "b", "c"].map(
      (reason) => world.teleport.createRequest({ user: "alice", roles: ["dba"], reason }).metadata!.name,
    );
    shift.ms = 0;
    for (const id of ids) await recorded(world, id);
    world.teleport.delayMs = 0;
    const searches = channelSearches(world);
    assert.deepEqual(searches, [], "their creation came as events: nothing to search for");
  });

  test("a young unrecorded request: the create is folded into the earlier one by pending_post_id", async (t) => {
    const { stage } = await shiftedStage(t);
    const { world } = stage;
    const id = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "young" }).metadata!
      .name;
    // What a post made without a claim sends; its record never written.
    const earlier = await botPost(world, id, `${id}:${world.channel.id}`);
    await stage.startDaemon({ waitFor: null });
    const messages = await recorded(world, id);
    assert.equal(messages, `${world.channel.id}/${earlier}`, "the record names the earlier post");
    assert.equal(rootPostsFor(world, id).length, 1, "not posted twice");
  });
});

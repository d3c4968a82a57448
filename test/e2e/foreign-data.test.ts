/**
 * Plugin data this daemon did not write (issue 12, item 1): records of the original plugin
 * (0.1.0 `post_id`/`channel_id`, 6.x+ `messages`) and values damaged by hand. The daemon runs as
 * a child process; the old plugin's posts and data are made over the real APIs beforehand.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import type { DaemonProcess } from "../support/daemon-process.js";
import { decide } from "../support/decide.js";
import { postStatus, waitUntil } from "../support/fault-suite.js";
import { LegacyPlugin, MISSING_POST_ID } from "../support/legacy-plugin.js";
import { suiteStage } from "../support/stage.js";

const UNREADABLE = "Plugin data of this request holds values this version cannot read; replacing them";

let world: World;
let daemon: DaemonProcess;
let legacy: LegacyPlugin;
const ids: Record<string, string> = {};
const legacyPosts: Record<string, string> = {};

/** The bot's root posts about a request, in our format or an earlier one. */
function postsFor(id: string): StandinPost[] {
  return world.mattermost
    .channelPosts(world.channel.id)
    .filter(
      (post) =>
        !post.root_id &&
        post.user_id === world.bot.user.id &&
        (post.props[REQUEST_ID_PROP] === id || JSON.stringify([post.message, post.props]).includes(id)),
    );
}

function patchesOf(postId: string): number {
  return world.mattermost.requests.filter(
    (entry) => entry.method === "PUT" && entry.path === `/api/v4/posts/${postId}/patch`,
  ).length;
}

/** Every request has one post of ours showing `status`, and its record names that post. */
function settled(status: string): boolean {
  return Object.values(ids).every((id) => {
    const posts = postsFor(id);
    const data = world.teleport.pluginData(id, "mattermost");
    return (
      posts.length === 1 &&
      posts[0]!.props[REQUEST_ID_PROP] === id &&
      postStatus(posts[0]!) === status &&
      data?.["messages"] === `${world.channel.id}/${posts[0]!.id}` &&
      data["rendered"] === status &&
      data["claim"] === undefined
    );
  });
}

suiteStage({}, async (stage) => {
  world = stage.world;
  legacy = new LegacyPlugin(world);
  for (const name of ["seed", "six", "garbage", "json", "gone", "damaged"]) {
    ids[name] = world.teleport.createRequest({ user: "alice", roles: ["editor"], reason: name })
      .metadata!.name;
  }
  // The original plugin posted and recorded these while it ran; then it was replaced by us.
  legacyPosts["seed"] = await legacy.post("0.1.0", ids["seed"]!);
  await legacy.record("0.1.0", ids["seed"]!, legacyPosts["seed"]);
  legacyPosts["six"] = await legacy.post("6.x", ids["six"]!);
  await legacy.record("6.x", ids["six"]!, legacyPosts["six"]);
  await legacy.record("0.1.0", ids["gone"]!, MISSING_POST_ID);
  // And these were damaged by hand.
  await legacy.write(ids["garbage"]!, { user: "alice", messages: "garbage{]" });
  await legacy.write(ids["json"]!, { user: "alice", messages: '{"x":"a/b"}' });
  await legacy.write(ids["damaged"]!, {
    user: "alice",
    rendered: "MAYBE",
    claim: "nobody",
    reviews_relayed: "x",
  });
  ({ daemon } = await stage.startDaemon({ timeoutMs: 30_000 }));
});

after(() => legacy?.close());

test("every request ends with exactly one post set showing its real state, recorded in our format", async () => {
  assert.ok(await waitUntil(() => settled("PENDING"), 30_000), "one PENDING post per request, recorded");
  for (const id of Object.values(ids)) {
    const data = world.teleport.pluginData(id, "mattermost")!;
    assert.equal(data["post_id"], undefined, `${id}: the seed plugin's keys are translated away`);
    assert.equal(data["channel_id"], undefined);
    assert.match(data["messages"]!, /^[a-z0-9]{26}\/[a-z0-9]{26}$/);
  }
});

test("an earlier version's post that exists is adopted: redrawn once in our format, not re-created", async () => {
  assert.ok(await waitUntil(() => settled("PENDING"), 30_000), "settled");
  for (const name of ["seed", "six"]) {
    const [post] = postsFor(ids[name]!);
    assert.equal(post!.id, legacyPosts[name], `${name}: the same post`);
    assert.equal(patchesOf(post!.id), 1, `${name}: redrawn once, not in a loop`);
  }
  assert.ok(daemon.lines.some((line) => line.msg.startsWith("Adopting the post(s) of an earlier version")));
});

test("a recorded post that no longer exists is not recorded as posted: the request is posted anew", async () => {
  assert.ok(await waitUntil(() => settled("PENDING"), 30_000), "settled");
  assert.notEqual(postsFor(ids["gone"]!)[0]!.id, MISSING_POST_ID);
  assert.ok(
    daemon.lines.some(
      (line) => line.msg.startsWith("A recorded post is gone") && line["request_id"] === ids["gone"],
    ),
  );
});

test("unreadable values are replaced and logged once at warn with the request id", async () => {
  assert.ok(await waitUntil(() => settled("PENDING"), 30_000), "settled");
  for (const name of ["garbage", "json", "damaged"]) {
    const warnings = daemon.lines.filter(
      (line) => line.msg === UNREADABLE && line["request_id"] === ids[name],
    );
    assert.equal(warnings.length, 1, `${name}: ${JSON.stringify(warnings)}`);
    assert.equal(warnings[0]!.level, "warn");
  }
  const garbage = daemon.lines.find(
    (line) => line.msg === UNREADABLE && line["request_id"] === ids["garbage"],
  );
  assert.deepEqual(garbage!["unreadable"], { messages: "garbage{]" });
});

test("the adopted posts decide and update like our own: buttons signed by this daemon", async () => {
  assert.ok(await waitUntil(() => settled("PENDING"), 30_000), "settled");
  const reply = await decide(world, world.approver, legacyPosts["seed"]!, "approve", "upgrade done");
  assert.equal(reply.status, 200, reply.text);
  for (const name of ["six", "garbage", "json", "gone", "damaged"]) {
    world.teleport.approve(ids[name]!, { reason: "tctl" });
  }
  assert.ok(await waitUntil(() => settled("APPROVED"), 30_000), "every post APPROVED");
  const seed = world.mattermost.post(legacyPosts["seed"]!)!;
  assert.equal(JSON.stringify(seed.props).includes("mattermost_action"), false, "the old buttons are gone");
});

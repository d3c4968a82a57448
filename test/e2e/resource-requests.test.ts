/**
 * Resource access requests (`tsh request create --resource`, Teleport 10+), the kind most users
 * create today: the CLI as a child process against the Teleport 18 stand-in shows the requested
 * resources in the post (kind and name, escaped, capped), routes by the roles Teleport filled in,
 * decides from Mattermost, and keeps the resources on the post once Teleport deleted the request.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeCode } from "../../src/core/escape.js";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { RequestState } from "../../src/teleport/gen/teleport/types_pb.js";
import { decide } from "../support/decide.js";
import { openStage, type Stage } from "../support/stage.js";

function field(post: StandinPost | undefined, title: string): string | undefined {
  const attachments = (
    post?.props as { attachments?: Array<{ fields?: Array<{ title: string; value: string }> }> }
  )?.attachments;
  return attachments?.[0]?.fields?.find((f) => f.title === title)?.value;
}

function rootPost(stage: Stage, channelId: string, requestId: string): StandinPost | undefined {
  return stage.world.mattermost
    .channelPosts(channelId)
    .find((post) => post.props[REQUEST_ID_PROP] === requestId && !post.root_id);
}

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test("a resource request is posted with its resources, routed by its roles, decided, and keeps them after deletion", async (t) => {
  const stage = await openStage(t, { teleportVersion: "18.0.0" });
  const { world } = stage;
  const dbaTeam = world.mattermost.createChannel(world.team.id, "dba-team");
  for (const member of [world.bot.user.id, world.approver.user.id])
    world.mattermost.addChannelMember(dbaTeam.id, member);
  await stage.startDaemon({ extra: '[role_to_recipients]\n"db-access" = "acme/dba-team"' });

  const resources = [
    { kind: "node", name: "web-1" },
    { kind: "namespace", name: "prod", subResource: "payments" },
    { kind: "db", name: "orders`@here`" },
    ...Array.from({ length: 10 }, (_, i) => ({ kind: "app", name: `grafana-${i}` })),
  ];
  const request = world.teleport.createRequest({
    user: "alice",
    roles: ["db-access"],
    reason: "incident 42",
    resources,
  });
  const id = request.metadata!.name;
  const post = await until(() => rootPost(stage, dbaTeam.id, id), "the post in the db-access role's channel");
  const listed = (field(post, "Resources") ?? "").split("\n");
  assert.deepEqual(listed.slice(0, 2), ["node `web-1`", "namespace `prod/payments`"]);
  assert.equal(listed[2], `db ${escapeCode("orders`@here`")}`, "names escaped as code, like roles");
  assert.equal(listed.length, 11, "ten resources and the count of the rest");
  assert.equal(listed.at(-1), "and 3 more");
  assert.equal(field(post, "Roles"), "`db-access`");

  const reply = await decide(world, world.approver, post.id, "approve", "incident bridge");
  assert.equal(reply.status, 200, reply.text);
  assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.APPROVED);
  assert.equal(world.teleport.getRequest(id)?.spec?.requestedResourceIds.length, 13);

  const short = world.teleport.createRequest({
    user: "alice",
    roles: ["db-access"],
    resources: [{ kind: "db", name: "reports" }],
  });
  const shortId = short.metadata!.name;
  const pending = await until(() => rootPost(stage, dbaTeam.id, shortId), "the second post");
  world.teleport.deleteRequest(shortId);
  const gone = await until(() => {
    const current = world.mattermost.post(pending.id);
    return field(current, "Status")?.includes("EXPIRED") ? current : undefined;
  }, "the post marked EXPIRED");
  assert.equal(field(gone, "Resources"), "db `reports`", "kept from plugin data after deletion");
});

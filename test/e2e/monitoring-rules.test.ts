/**
 * Routing by access monitoring rules (Teleport 16+), as an operator runs it: the CLI as a child
 * process against the stand-ins. A matching rule's recipients replace the config's; no match
 * falls back to the config; a condition on `requested_resources` sees a resource request's
 * resources; rules created, changed or deleted while the daemon runs apply to the next request, and posts already made stay where they are; a server or role without rules gives
 * one info line and routing by the config.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { World, WorldOptions } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { runCli } from "../support/daemon-process.js";
import { openStage, type Stage } from "../support/stage.js";

const NO_SERVER =
  "This Teleport server has no access monitoring rules (they came in 16); posts are routed by the config only";
const NO_ROLE =
  "The plugin's Teleport role may not read access monitoring rules; posts are routed by the config only";

/** Teleport 18 with the plugin's role lacking `access_monitoring_rule: [list, read]`. */
const WITHOUT_RULES_ROLE = {
  teleportVersion: "18.0.0",
  teleport: {
    roles: {
      "access-plugin": { accessRequest: ["list", "read", "update"], pluginData: ["update"], user: ["read"] },
    },
  },
} satisfies WorldOptions;

function rule(name: string, condition: string, recipients: string[]) {
  return {
    metadata: { name },
    spec: { subjects: ["access_request"], condition, notification: { name: "mattermost", recipients } },
  };
}

/** Channels (by id) holding a root post of the bot for the request. */
function postedIn(world: World, channelIds: string[], requestId: string): string[] {
  return channelIds.filter((channelId) =>
    world.mattermost
      .channelPosts(channelId)
      .some((post: StandinPost) => post.props[REQUEST_ID_PROP] === requestId && !post.root_id),
  );
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Creates a request and waits until `count` posts are recorded for it and posting is over (the
 * claim released); returns the channels that got one.
 */
async function posted(
  world: World,
  roles: string[],
  channels: string[],
  count: number,
  resources: { kind: string; name: string }[] = [],
): Promise<{ id: string; in: string[] }> {
  const id = world.teleport.createRequest({ user: "alice", roles, resources }).metadata!.name;
  const done = () => {
    const data = world.teleport.pluginData(id, "mattermost");
    return (data?.["messages"] ?? "").split(",").filter(Boolean).length === count && !data?.["claim"];
  };
  await until(done, `${count} posts recorded for request ${id}`);
  return { id, in: postedIn(world, channels, id) };
}

test("rules route matching requests to their recipients, the config the others; changes apply to the next request", async (t) => {
  const stage = await openStage(t, { teleportVersion: "18.0.0" });
  const { world } = stage;
  const mm = world.mattermost;
  const dba = mm.createChannel(world.team.id, "dba-team");
  mm.addChannelMember(dba.id, world.bot.user.id);
  const sre = mm.createChannel(world.team.id, "sre");
  mm.addChannelMember(sre.id, world.bot.user.id);
  const owners = mm.createChannel(world.team.id, "resource-owners");
  mm.addChannelMember(owners.id, world.bot.user.id);
  const carol = mm.createUser({ username: "carol", email: "carol@example.com" });
  mm.addTeamMember(world.team.id, carol.id);
  world.teleport.addUser("alice", ["access"], { team: ["storage"] });
  world.teleport.createMonitoringRule(
    rule(
      "dba",
      'access_request.spec.roles.contains("dba") && contains_any(user.traits["team"], set("storage"))',
      ["acme/dba-team", "carol@example.com"],
    ),
  );
  world.teleport.createMonitoringRule(
    rule("resources", "!(access_request.spec.requested_resources.length == 0)", ["acme/resource-owners"]),
  );
  world.teleport.createMonitoringRule(rule("slack-only", "true", ["#nope"]));
  world.teleport.createMonitoringRule(
    rule("broken", 'access_request.spec.resource_labels_union["env"].contains("prod")', ["acme/sre"]),
  );
  world.teleport.updateMonitoringRule({
    ...rule("slack-only", "true", ["#nope"]),
    spec: {
      ...rule("slack-only", "true", ["#nope"]).spec,
      notification: { name: "slack", recipients: ["#nope"] },
    },
  });
  const { daemon } = await stage.startDaemon();
  await daemon.waitForLog(/^Routing by access monitoring rules: 2 for "mattermost"$/);
  await daemon.waitForLog((line) => line["rule"] === "broken" && /is skipped/.test(line.msg));
  const carolDm = mm.directChannel(world.bot.user.id, carol.id).id;
  const channels = [world.channel.id, dba.id, sre.id, owners.id, carolDm];

  // A matching rule: its recipients only, not the configured channel.
  const matched = await posted(world, ["dba"], channels, 2);
  assert.deepEqual(matched.in, [dba.id, carolDm]);
  // No rule matches: the config routes.
  const fallback = await posted(world, ["editor"], channels, 1);
  assert.deepEqual(fallback.in, [world.channel.id]);
  // A resource request (tsh request create --resource): conditions see its resources.
  const resources = await posted(world, ["editor"], channels, 1, [{ kind: "node", name: "web-1" }]);
  assert.deepEqual(resources.in, [owners.id]);

  // A rule created while running applies to the next request; earlier posts stay where they are.
  world.teleport.createMonitoringRule(
    rule("editors", 'access_request.spec.roles.contains("editor")', ["acme/sre"]),
  );
  await daemon.waitForLog(
    (line) => line["rule"] === "editors" && line.msg === "Access monitoring rule updated",
  );
  const next = await posted(world, ["editor"], channels, 1);
  assert.deepEqual(next.in, [sre.id]);
  assert.deepEqual(postedIn(world, channels, fallback.id), [world.channel.id]);

  // Deleted again: the config routes the next one.
  world.teleport.deleteMonitoringRule("editors");
  await daemon.waitForLog(
    (line) => line["rule"] === "editors" && line.msg === "Access monitoring rule deleted",
  );
  assert.deepEqual((await posted(world, ["editor"], channels, 1)).in, [world.channel.id]);
  assert.equal(
    daemon.lines.filter((line) => line["rule"] === "broken").length,
    1,
    "the unusable rule is said once",
  );
});

test("a server without access monitoring rules (6.2.1): one info line, routing by the config", async (t) => {
  const stage = await openStage(t, { teleportVersion: "6.2.1" });
  const { world } = stage;
  const { daemon } = await stage.startDaemon();
  await daemon.waitForLog(NO_SERVER);
  assert.deepEqual((await posted(world, ["dba"], [world.channel.id], 1)).in, [world.channel.id]);
  assert.equal(daemon.lines.filter((line) => line.msg === NO_SERVER).length, 1);
  assert.equal(daemon.lines.filter((line) => line.level === "warn" && /monitoring/.test(line.msg)).length, 0);
});

test("a role that may not read the rules: one info line naming the rule to add, routing by the config", async (t) => {
  const stage = await openStage(t, WITHOUT_RULES_ROLE);
  const { world } = stage;
  world.teleport.createMonitoringRule(rule("all", "true", ["acme/elsewhere"]));
  const { daemon } = await stage.startDaemon();
  const line = await daemon.waitForLog(NO_ROLE);
  assert.match(String(line["fix"]), /access_monitoring_rule: \[list, read\]/);
  assert.deepEqual((await posted(world, ["dba"], [world.channel.id], 1)).in, [world.channel.id]);
  assert.equal(daemon.lines.filter((other) => other.msg === NO_ROLE).length, 1);
});

const RULES_CHECK = "Teleport access monitoring rules:";

/** Runs `check` on the stage's config; its line about rules (`✓ Teleport access monitoring rules: …`), if any. */
async function rulesCheckLine(stage: Stage): Promise<{ code: number | null; line?: string }> {
  const { configPath } = await stage.writeConfig();
  const result = await runCli(["check", "-c", configPath], { timeoutMs: 30_000 });
  const line = result.stdout.split("\n").find((text) => text.slice(2).startsWith(RULES_CHECK));
  return { code: result.code, ...(line ? { line } : {}) };
}

test("check names the rules that route this plugin's requests, and fails on one it cannot evaluate", async (t) => {
  const stage = await openStage(t, { teleportVersion: "18.0.0" });
  const { world } = stage;
  world.teleport.createMonitoringRule(
    rule("dbas", 'access_request.spec.roles.contains("dba")', ["acme/dba"]),
  );
  const other = rule("slack-only", "true", ["#ops"]);
  other.spec.notification.name = "slack";
  world.teleport.createMonitoringRule(other);
  const good = await rulesCheckLine(stage);
  assert.equal(good.code, 0, good.line);
  assert.match(
    good.line ?? "",
    /^✓ .*: 1 for "mattermost" \("dbas"\); requests no rule matches are routed by the config$/,
  );

  world.teleport.createMonitoringRule(
    rule("labels", 'access_request.spec.resource_labels_union["env"].contains("prod")', ["acme/prod"]),
  );
  const bad = await rulesCheckLine(stage);
  assert.equal(bad.code, 1);
  assert.match(
    bad.line ?? "",
    /^✗ .*: skipped, their condition cannot be evaluated: "labels" \(.*unknown identifier.*\)\. Rewrite/,
  );
});

test("check: a role that may not read the rules is said with the rule to add; a server before 16 has no such line", async (t) => {
  const stage = await openStage(t, WITHOUT_RULES_ROLE);
  const denied = await rulesCheckLine(stage);
  assert.equal(denied.code, 0, denied.line);
  assert.match(
    denied.line ?? "",
    /^– .*: user \S+ may not read them.*`access_monitoring_rule: \[list, read\]`$/,
  );

  const old = await openStage(t, { teleportVersion: "6.2.1" });
  assert.equal((await rulesCheckLine(old)).line, undefined);
});
